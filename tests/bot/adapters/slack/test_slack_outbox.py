"""The Slack outbox end to end: Dispatcher, RoutingSender, SlackOutboxSender and SlackBot against the fake Slack.

Nothing sleeps: slack_sdk's retries and the dispatcher wait through one fake sleep that moves the
shared clock on at once.
"""

from __future__ import annotations

import base64
import random
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web

from clipbot.bot.adapters.slack.app import SlackBot
from clipbot.bot.adapters.slack.outbox import SlackOutboxSender
from clipbot.bot.events import Reply
from clipbot.clock import FixedClock
from clipbot.domain.invites import session_invite
from clipbot.domain.people import FieldOfPractice, Person, Registration
from clipbot.domain.protected_time import Slot
from clipbot.outbox import DEFAULT_SENDER, Dispatcher
from clipbot.outbox.routing import RoutingSender
from clipbot.service import WardService
from clipbot.storage import platforms
from clipbot.storage.database import Database
from clipbot.storage.outbox import OutboxState
from clipbot.workflows.planner import BOOKED, INVITE, INVITE_CONTENT_TYPE, INVITE_FILENAME, INVITE_KEY
from fakes.slack_api import TEAM_ID, FakeSlackApi
from fakes.outbox_driver import FakeSleep, OutboxDriver
from fakes.ward_files import NOW
from slack_harness import ORGANISATION, USERS, direct_channel, seed, slack_settings

WARD_CHANNEL = "C0600"
# Roster person -> Slack user, from the harness's users.
SLACK_USER = {person: user for user, (person, _) in USERS.items() if person}


@dataclass
class SlackOutbox(OutboxDriver):
    """A dispatcher that sends through RoutingSender and SlackOutboxSender to the fake Slack."""

    fake: FakeSlackApi
    database: Database
    clock: FixedClock
    sleep: FakeSleep
    dispatcher: Dispatcher
    keys: list[str] = field(default_factory=list)
    organisation = ORGANISATION


def build_dispatcher(database: Database, bot: SlackBot, clock: FixedClock, sleep: FakeSleep) -> Dispatcher:
    senders = {DEFAULT_SENDER: RoutingSender(database, {"slack": SlackOutboxSender(bot)}, clock)}
    return Dispatcher(database, senders, clock, owner="slack-outbox-test", sleep=sleep, rng=random.Random(7))


async def prepare(database: Database) -> FixedClock:
    """Seed ward 6-west, link each roster person to their Slack user and give the ward a Slack channel."""
    clock = FixedClock(NOW)
    service = WardService(database, clock, ORGANISATION)
    await seed(service)
    async with database.transaction() as session:
        for user, (person, email) in USERS.items():
            if person:
                await platforms.link_identity(session, ORGANISATION, "slack", TEAM_ID, user, person, email=email)
    await service.set_ward_channel("6-west", "slack", TEAM_ID, WARD_CHANNEL)
    return clock


@pytest.fixture
async def slack_outbox(database: Database, fake_slack: FakeSlackApi) -> AsyncIterator[SlackOutbox]:
    clock = await prepare(database)
    sleep = FakeSleep(clock)
    bot = SlackBot(slack_settings(fake_slack), database, clock, sleep=sleep)
    await bot.start()
    try:
        yield SlackOutbox(fake_slack, database, clock, sleep, build_dispatcher(database, bot, clock, sleep))
    finally:
        await bot.close()


def issued_ts(fake: FakeSlackApi) -> dict[str, str]:
    """Return the ts of each accepted chat.postMessage by channel.

    The fake numbers its ts values 1, 2, 3 in the order it responds, and only chat.postMessage
    takes numbers in the tests that use this, so the n-th accepted post has ts number n.
    """
    return {
        str(call.arguments["channel"]): f"1772442400.{number:06d}"
        for number, call in enumerate(fake.calls_to("chat.postMessage"), start=1)
    }


def booked_invite() -> bytes:
    student = Person("S1", "Amira Khan", Registration.STUDENT, FieldOfPractice.ADULT, email="amira.khan@example.org")
    mentor = Person("RN1", "Grace Obi", Registration.REGISTERED_NURSE, FieldOfPractice.ADULT,
                    email="grace.obi@example.org")
    start = NOW.replace(hour=10, minute=30)
    slot = Slot(start, start + timedelta(minutes=30), "RN1", "6-west:2026-03-02:Early")
    return session_invite(slot, student=student, mentor=mentor, ward_name="6 West", uid="clipbot-protected-time-1",
                          now=NOW)


def invite_entry(content: bytes) -> dict[str, Any]:
    return {INVITE_KEY: {
        "filename": INVITE_FILENAME, "content_type": INVITE_CONTENT_TYPE,
        "base64": base64.b64encode(content).decode("ascii"),
    }}


async def test_rate_limit_storm_delivers_each_once(slack_outbox):
    fake = slack_outbox.fake
    for person in ("S1", "S2", "RN1"):
        await slack_outbox.enqueue(person, person, Reply("Protected learning time this week"))
    await slack_outbox.enqueue("6-west", "6-west", Reply("Coach groups for the Early shift"), kind="coach-post",
                               ward=True)
    # Eight 429 responses: slack_sdk makes 3 requests a send, so the first message needs 3 sends.
    fake.rate_limit("chat.postMessage", *[2] * 8)

    await slack_outbox.deliver()

    channels = [direct_channel(SLACK_USER[person]) for person in ("S1", "S2", "RN1")] + [WARD_CHANNEL]
    for channel in channels:
        assert len(fake.messages_to(channel)) == 1, channel
    assert len(fake.calls_to("chat.postMessage", succeeded=False)) == 8 + len(channels)
    rows = await slack_outbox.rows()
    assert {row.state for row in rows.values()} == {OutboxState.SENT}
    ts_of = issued_ts(fake)
    assert rows[f"{ORGANISATION}:pt-offer:S1"].platform_message_id == ts_of[direct_channel("U0002")]
    assert rows[f"{ORGANISATION}:coach-post:6-west"].platform_message_id == f"slack|{WARD_CHANNEL}|{ts_of[WARD_CHANNEL]}"
    # The dispatcher waited out Slack's Retry-After itself, after slack_sdk's own retries.
    assert 2.0 in slack_outbox.sleep.waits


async def test_long_rate_limit_puts_messages_back(slack_outbox):
    fake = slack_outbox.fake
    for person in ("S1", "S2"):
        await slack_outbox.enqueue(person, person, Reply("Protected learning time this week"))
    fake.rate_limit("chat.postMessage", 30, 30, 30)

    await slack_outbox.dispatcher.run_once()

    held = await slack_outbox.rows()
    assert {row.state for row in held.values()} == {OutboxState.PENDING}
    assert {row.last_error for row in held.values()} == {"rate limited"}
    assert {row.attempts for row in held.values()} == {0}
    assert fake.calls_to("chat.postMessage") == []

    await slack_outbox.deliver()

    for person in ("S1", "S2"):
        assert len(fake.messages_to(direct_channel(SLACK_USER[person]))) == 1, person
    rows = await slack_outbox.rows()
    assert {row.state for row in rows.values()} == {OutboxState.SENT}


async def test_deactivated_user_unreachable(slack_outbox):
    fake = slack_outbox.fake
    fake.deactivate(SLACK_USER["S2"])
    first = await slack_outbox.enqueue("S2-first", "S2", Reply("Protected learning time this week"))

    await slack_outbox.deliver()

    row = (await slack_outbox.rows())[first]
    assert row.state == OutboxState.FAILED
    assert row.last_error == "recipient unreachable: Slack error user_disabled"
    assert fake.messages_to(direct_channel(SLACK_USER["S2"])) == []
    async with slack_outbox.database.session() as session:
        identity = await platforms.identity_of_person(session, ORGANISATION, "slack", TEAM_ID, "S2")
    assert identity is not None
    assert identity.reachable is False

    # The next message is not tried in Slack at all, because the user is marked unreachable.
    opened_before = len(fake.calls_to("conversations.open", succeeded=False))
    second = await slack_outbox.enqueue("S2-second", "S2", Reply("Protected learning time reminder"))
    await slack_outbox.deliver()
    assert (await slack_outbox.rows())[second].state == OutboxState.FAILED
    assert len(fake.calls_to("conversations.open", succeeded=False)) == opened_before


async def test_invite_shared_with_comment(slack_outbox):
    fake = slack_outbox.fake
    ics = booked_invite()
    text = "Calendar invitation for your protected learning time, Monday 2 March, 10:30 to 11:00."
    key = await slack_outbox.enqueue("1:S1", "S1", Reply(text), kind=INVITE, extra=invite_entry(ics))

    await slack_outbox.deliver()

    channel = direct_channel(SLACK_USER["S1"])
    [upload] = fake.uploads_to(channel)
    assert upload.content == ics
    assert upload.length == len(ics)
    assert upload.filename == "protected-time.ics"
    assert upload.title == "Protected learning time"
    assert upload.initial_comment == text
    # The text comes with the file, so nothing is posted apart from it.
    assert fake.messages_to(channel) == []
    row = (await slack_outbox.rows())[key]
    assert row.state == OutboxState.SENT
    assert row.platform_message_id == upload.file_id


async def test_failed_upload_retried_whole(slack_outbox):
    fake = slack_outbox.fake
    fake.fail("files.completeUploadExternal", "*", "internal_error")
    key = await slack_outbox.enqueue(
        "2:S1", "S1", Reply("Calendar invitation"), kind=INVITE, extra=invite_entry(booked_invite()),
    )

    await slack_outbox.dispatcher.run_once()
    assert (await slack_outbox.rows())[key].state == OutboxState.PENDING
    assert fake.uploads_to(direct_channel(SLACK_USER["S1"])) == []

    fake.failures.clear()
    await slack_outbox.deliver()

    assert (await slack_outbox.rows())[key].state == OutboxState.SENT
    assert len(fake.uploads_to(direct_channel(SLACK_USER["S1"]))) == 1
    assert fake.messages_to(direct_channel(SLACK_USER["S1"])) == []


async def test_invalid_invite_left_out(slack_outbox):
    fake = slack_outbox.fake
    key = await slack_outbox.enqueue(
        "3:S1", "S1", Reply("Protected learning time booked"), kind=BOOKED,
        extra={INVITE_KEY: {"filename": INVITE_FILENAME, "base64": "not base64!"}},
    )

    await slack_outbox.deliver()

    assert (await slack_outbox.rows())[key].state == OutboxState.SENT
    assert fake.calls_to("files.getUploadURLExternal", succeeded=False) == []


async def answer_503(request: web.Request) -> web.Response:
    return web.Response(status=503, text="<html>Service Unavailable</html>", content_type="text/html")


@pytest.fixture
async def unavailable_slack_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """Return the Web API URL of a Slack that returns HTTP 503, or of a port on 127.0.0.1 where nothing listens."""
    if request.param == "closed port":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        yield f"http://127.0.0.1:{port}/api/"
        return

    application = web.Application()
    application.router.add_route("*", "/api/{method}", answer_503)
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/api/"
    await runner.cleanup()


@pytest.mark.parametrize(
    ("unavailable_slack_url", "error"),
    [("HTTP 503", "Slack returned HTTP 503"), ("closed port", "could not reach Slack (ClientConnectorError)")],
    indirect=["unavailable_slack_url"],
)
async def test_unavailable_slack_failed_and_retried(database, fake_slack, unavailable_slack_url, error):
    clock = await prepare(database)
    sleep = FakeSleep(clock)
    bot = SlackBot(slack_settings(fake_slack, slack_api_url=unavailable_slack_url), database, clock, sleep=sleep)
    dispatcher = build_dispatcher(database, bot, clock, sleep)
    harness = SlackOutbox(fake_slack, database, clock, sleep, dispatcher)
    key = await harness.enqueue("S1-unavailable", "S1", Reply("Protected learning time this week"))
    started = clock.now()

    await dispatcher.run_once()
    await bot.close()

    row = (await harness.rows())[key]
    assert row.state == OutboxState.PENDING
    assert row.attempts == 1
    assert row.last_error == error
    assert row.next_attempt_at > started


async def test_coach_change_edits_message(slack_outbox):
    fake = slack_outbox.fake
    post_key = await slack_outbox.enqueue("6-west", "6-west", Reply("Coach groups: Grace Obi with Amira Khan"),
                                          kind="coach-post", ward=True)
    await slack_outbox.deliver()
    [posted] = fake.messages_to(WARD_CHANNEL)

    await slack_outbox.enqueue_coach_update(post_key, "Coach groups: Ivy Ross with Amira Khan")
    await slack_outbox.deliver()

    assert fake.messages_to(WARD_CHANNEL) == [posted], "the change must not post a second message"
    [edit] = fake.calls_to("chat.update")
    ts = issued_ts(fake)[WARD_CHANNEL]
    assert (edit.arguments["channel"], edit.arguments["ts"]) == (WARD_CHANNEL, ts)
    assert fake.posts[(WARD_CHANNEL, ts)] == "Coach groups: Ivy Ross with Amira Khan"
    rows = await slack_outbox.rows()
    assert {row.state for row in rows.values()} == {OutboxState.SENT}


async def test_deleted_coach_post_reposted(slack_outbox):
    fake = slack_outbox.fake
    post_key = await slack_outbox.enqueue("6-west", "6-west", Reply("Coach groups: Grace Obi with Amira Khan"),
                                          kind="coach-post", ward=True)
    await slack_outbox.deliver()
    fake.posts.clear()  # Someone deleted the post in Slack.

    await slack_outbox.enqueue_coach_update(post_key, "Coach groups: Ivy Ross with Amira Khan")
    await slack_outbox.deliver()

    assert len(fake.calls_to("chat.update")) == 1
    second = fake.messages_to(WARD_CHANNEL)[-1]
    assert len(fake.messages_to(WARD_CHANNEL)) == 2
    assert str(second.arguments["text"]).startswith("Changed since the earlier post")
    rows = await slack_outbox.rows()
    assert {row.state for row in rows.values()} == {OutboxState.SENT}
