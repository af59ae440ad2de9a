"""The Teams outbox end to end: Dispatcher, RoutingSender, TeamsOutboxSender and TeamsMessenger against the fake connector.

Nothing sleeps: the messenger's Sender waits on the harness's fake time, and the dispatcher waits
through a fake sleep that moves its clock on at once.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from clipbot.bot.adapters.teams.outbox import TeamsOutboxSender
from clipbot.bot.events import Reply
from clipbot.clock import FixedClock
from clipbot.outbox import DEFAULT_SENDER, Dispatcher
from clipbot.outbox.routing import RoutingSender
from clipbot.storage import platforms
from clipbot.storage.database import Database
from clipbot.storage.outbox import OutboxState
from clipbot.workflows.planner import INVITE, INVITE_CONTENT_TYPE, INVITE_FILENAME, INVITE_KEY
from fakes.teams_connector import FILE_CONSENT_CONTENT_TYPE, ConnectorRequest
from fakes.outbox_driver import FakeSleep, OutboxDriver
from fakes.ward_files import NOW
from teams_harness import EDUCATOR, ORGANISATION, STUDENT, TEAM_CHANNEL, TENANT, USERS, TeamsHarness

SECOND_STUDENT = USERS["S2"]


@dataclass
class TeamsOutbox(OutboxDriver):
    """A dispatcher that sends through RoutingSender and TeamsOutboxSender to the fake connector."""

    teams: TeamsHarness
    clock: FixedClock
    sleep: FakeSleep
    dispatcher: Dispatcher
    # The number of connector requests made before the first outbox message.
    start: int
    keys: list[str] = field(default_factory=list)
    organisation = ORGANISATION


    @property
    def database(self) -> Database:
        return self.teams.service.database

    def requests_to(self, conversation: str, *, accepted: bool = True) -> list[ConnectorRequest]:
        """Return the outbox's sends and replies to a conversation; only the accepted ones unless `accepted` is False."""
        return [
            request for request in self.teams.connector.requests[self.start:]
            if request.kind in ("send", "reply") and request.conversation_id == conversation
            and (request.status < 300 or not accepted)
        ]

    def activity_id(self, accepted: ConnectorRequest) -> str:
        """Return the id the fake gave an accepted send or reply: "1:fake<n>" for the n-th one it accepted."""
        answered = [
            request for request in self.teams.connector.requests
            if request.kind in ("send", "reply") and request.status < 300
        ]
        return f"1:fake{answered.index(accepted) + 1}"


@pytest.fixture
async def teams_outbox(teams: TeamsHarness) -> AsyncIterator[TeamsOutbox]:
    """Both students have installed the app, and the educator has set the ward's Teams channel."""
    await teams.install(STUDENT)
    await teams.install(SECOND_STUDENT)
    await teams.mention(EDUCATOR, "channel 6-west")
    assert await teams.service.ward_channel("6-west", "teams") == (TENANT, TEAM_CHANNEL)

    clock = FixedClock(NOW)
    sleep = FakeSleep(clock)
    database = teams.service.database
    senders = {DEFAULT_SENDER: RoutingSender(database, {"teams": TeamsOutboxSender(teams.bot.messenger)}, clock)}
    dispatcher = Dispatcher(database, senders, clock, owner="teams-outbox-test", sleep=sleep, rng=random.Random(7))
    yield TeamsOutbox(teams, clock, sleep, dispatcher, len(teams.connector.requests))


async def enqueue_three(teams_outbox: TeamsOutbox) -> dict[str, str]:
    """Enqueue a message to each student and a ward post; return the conversation each should reach, by key."""
    return {
        await teams_outbox.enqueue("S1", "S1", Reply("Protected learning time this week")): STUDENT.personal_chat,
        await teams_outbox.enqueue("S2", "S2", Reply("Protected learning time this week")):
            SECOND_STUDENT.personal_chat,
        await teams_outbox.enqueue("6-west", "6-west", Reply("Coach groups for the Early shift"), kind="coach-post",
                                   ward=True): TEAM_CHANNEL,
    }


async def test_rate_limit_storm_delivers_each_once(teams_outbox):
    connector = teams_outbox.teams.connector
    expected = await enqueue_three(teams_outbox)
    # Six 429s per conversation: the Sender tries 4 times a send, so each message needs 2 sends.
    for conversation in expected.values():
        connector.fail(conversation, 429, retry_after="2", times=6)

    await teams_outbox.deliver()

    rows = await teams_outbox.rows()
    for key, conversation in expected.items():
        accepted = teams_outbox.requests_to(conversation)
        assert len(accepted) == 1, conversation
        assert len(teams_outbox.requests_to(conversation, accepted=False)) == 7, conversation
        assert rows[key].state == OutboxState.SENT, key
        # A ward post's id also names the platform and channel, for later updates.
        assert rows[key].platform_message_id.split("|")[-1] == teams_outbox.activity_id(accepted[0]), key
    # The dispatcher waited out Teams' Retry-After itself, after the Sender's own retries.
    assert 2.0 in teams_outbox.sleep.waits


async def test_long_rate_limit_puts_messages_back(teams_outbox):
    connector = teams_outbox.teams.connector
    expected = await enqueue_three(teams_outbox)
    # Longer than the Sender's 60 s limit, so it gives up at once and the dispatcher holds back.
    connector.fail(STUDENT.personal_chat, 429, retry_after="120")

    await teams_outbox.dispatcher.run_once()

    held = await teams_outbox.rows()
    assert {row.state for row in held.values()} == {OutboxState.PENDING}
    assert {row.last_error for row in held.values()} == {"rate limited"}
    for conversation in expected.values():
        assert teams_outbox.requests_to(conversation) == [], conversation

    await teams_outbox.deliver()

    for conversation in expected.values():
        assert len(teams_outbox.requests_to(conversation)) == 1, conversation
    rows = await teams_outbox.rows()
    assert {row.state for row in rows.values()} == {OutboxState.SENT}
    assert teams_outbox.clock.now() >= NOW + timedelta(seconds=120)


async def test_forbidden_person_unreachable(teams_outbox):
    teams_outbox.teams.connector.fail(STUDENT.personal_chat, 403)
    first = await teams_outbox.enqueue("S1-first", "S1", Reply("Protected learning time this week"))

    await teams_outbox.deliver()

    row = (await teams_outbox.rows())[first]
    assert row.state == OutboxState.FAILED
    assert row.last_error == "recipient unreachable: Teams answered HTTP 403"
    assert len(teams_outbox.requests_to(STUDENT.personal_chat, accepted=False)) == 1
    async with teams_outbox.database.session() as session:
        identity = await platforms.identity_of_person(session, ORGANISATION, "teams", TENANT, "S1")
    assert identity is not None
    assert identity.reachable is False

    # The next message is not tried in Teams at all, because the user is marked unreachable.
    second = await teams_outbox.enqueue("S1-second", "S1", Reply("Protected learning time reminder"))
    await teams_outbox.deliver()
    assert (await teams_outbox.rows())[second].state == OutboxState.FAILED
    assert len(teams_outbox.requests_to(STUDENT.personal_chat, accepted=False)) == 1


async def test_server_error_failed_then_retried(teams_outbox):
    teams_outbox.teams.connector.fail(STUDENT.personal_chat, 500)
    key = await teams_outbox.enqueue("S1-retry", "S1", Reply("Protected learning time this week"))

    await teams_outbox.dispatcher.run_once()

    row = (await teams_outbox.rows())[key]
    assert row.state == OutboxState.PENDING
    assert row.attempts == 1
    assert row.last_error == "Teams answered HTTP 500"

    await teams_outbox.deliver()

    assert (await teams_outbox.rows())[key].state == OutboxState.SENT
    assert len(teams_outbox.requests_to(STUDENT.personal_chat)) == 1


async def test_invite_sent_as_consent_card(teams_outbox):
    ics = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    invite = {INVITE_KEY: {
        "filename": INVITE_FILENAME, "content_type": INVITE_CONTENT_TYPE,
        "base64": base64.b64encode(ics).decode("ascii"),
    }}
    key = await teams_outbox.enqueue(
        "1:S1", "S1", Reply("Calendar invitation for your protected learning time"), kind=INVITE, extra=invite,
    )

    await teams_outbox.deliver()

    row = (await teams_outbox.rows())[key]
    assert row.state == OutboxState.SENT
    [accepted] = teams_outbox.requests_to(STUDENT.personal_chat)
    assert row.platform_message_id == teams_outbox.activity_id(accepted)
    # The invitation itself waits for the user's consent: the card gives its name and size only.
    [consent] = accepted.attachments(FILE_CONSENT_CONTENT_TYPE)
    assert consent["name"] == INVITE_FILENAME
    assert consent["content"]["sizeInBytes"] == len(ics)
    assert teams_outbox.teams.connector.uploads == []


async def test_coach_change_edits_card(teams_outbox):
    post_key = await teams_outbox.enqueue("6-west", "6-west", Reply("Coach groups: Grace Obi with Amira Khan"),
                                          kind="coach-post", ward=True)
    await teams_outbox.deliver()
    [posted] = teams_outbox.requests_to(TEAM_CHANNEL)

    await teams_outbox.enqueue_coach_update(post_key, "Coach groups: Ivy Ross with Amira Khan")
    await teams_outbox.deliver()

    assert teams_outbox.requests_to(TEAM_CHANNEL) == [posted], "the change must not post a second card"
    [update] = teams_outbox.teams.connector.updates()
    assert (update.conversation_id, update.activity_id) == (TEAM_CHANNEL, teams_outbox.activity_id(posted))
    assert "Ivy Ross" in json.dumps(update.body)
    rows = await teams_outbox.rows()
    assert {row.state for row in rows.values()} == {OutboxState.SENT}


async def test_deleted_coach_card_reposted(teams_outbox):
    post_key = await teams_outbox.enqueue("6-west", "6-west", Reply("Coach groups: Grace Obi with Amira Khan"),
                                          kind="coach-post", ward=True)
    await teams_outbox.deliver()
    teams_outbox.teams.connector.fail(TEAM_CHANNEL, 404)  # Someone deleted the post in Teams.

    await teams_outbox.enqueue_coach_update(post_key, "Coach groups: Ivy Ross with Amira Khan")
    await teams_outbox.deliver()

    sent = teams_outbox.requests_to(TEAM_CHANNEL)
    assert len(sent) == 2
    assert "Changed since the earlier post" in json.dumps(sent[1].body)
    rows = await teams_outbox.rows()
    assert {row.state for row in rows.values()} == {OutboxState.SENT}
