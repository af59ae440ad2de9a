"""The bot's own messages: routing each to its recipient's platform, and the planner job."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select

from clipbot.bot.events import Reply
from clipbot.bot.serialise import reply_to_json
from clipbot.clock import FixedClock
from clipbot.jobs import PLAN_JOB_ID, RETENTION_JOB_ID, plan_messages, start_jobs, stop_jobs
from clipbot.outbox import DEFAULT_SENDER, Dispatcher
from clipbot.outbox.dispatcher import RetryAfter, Sent, Unreachable
from clipbot.outbox.routing import RoutingSender
from clipbot.outbox.scheduler import JOB_ID
from clipbot.storage import repository
from clipbot.storage.models import outbox
from clipbot.storage.outbox import ClaimedMessage, NewMessage, RecipientKind
from clipbot.workflows.planner import DELIVERY_PROBLEM, WORKFLOW_KEY
from six_west import LONDON, MONDAY, ORGANISATION


class RecordingPlatform:
    def __init__(self) -> None:
        self.people: list[tuple[str, str, str]] = []
        self.wards: list[str] = []

    async def send_to_person(self, organisation: str, workspace: str, person: str, reply: Reply,
                             payload: Mapping[str, object]):
        self.people.append((workspace, person, reply.text))
        return Sent("m1")

    async def post_to_ward(self, organisation: str, ward: str, reply: Reply):
        self.wards.append(ward)
        return Sent("m2")


def claimed(recipient_kind: RecipientKind, recipient: str) -> ClaimedMessage:
    now = datetime(2026, 3, 2, 9, tzinfo=LONDON)
    return ClaimedMessage(
        id=1, organisation=ORGANISATION, idempotency_key="k", kind="test", platform=None,
        recipient_kind=recipient_kind, recipient=recipient, payload=reply_to_json(Reply("Hello")),
        due_at=now, not_after=None, attempts=1, next_attempt_at=now, lease_until=now + timedelta(minutes=2),
    )


async def test_person_routed_to_linked_platform(service):
    await service.link_account(educator="CE1", platform="teams", workspace="tenant-1", user="29:amira", person_key="S1")
    slack, teams = RecordingPlatform(), RecordingPlatform()
    result = await RoutingSender(service.database, {"slack": slack, "teams": teams}).send(claimed(RecipientKind.PERSON, "S1"))
    assert result == Sent("m1")
    assert teams.people == [("tenant-1", "S1", "Hello")]
    assert slack.people == []


async def test_unlinked_person_unreachable(service):
    result = await RoutingSender(service.database, {"slack": RecordingPlatform()}).send(claimed(RecipientKind.PERSON, "S2"))
    assert isinstance(result, Unreachable)


async def test_ward_routed_to_platform_with_channel(service):
    await service.set_ward_channel("6-west", "slack", "T1", "C42")
    slack, teams = RecordingPlatform(), RecordingPlatform()
    result = await RoutingSender(service.database, {"teams": teams, "slack": slack}).send(claimed(RecipientKind.WARD, "6-west"))
    # The id names the platform and channel, so that a later update finds the post.
    assert result == Sent("slack|C42|m2")
    assert slack.wards == ["6-west"]
    assert teams.wards == []


async def test_planner_job_enqueues_coach_posts(service):
    clock = FixedClock(datetime.combine(MONDAY, datetime.min.time(), tzinfo=LONDON))
    scheduler = start_jobs(service.database, clock, {})
    try:
        assert {job.id for job in scheduler.get_jobs()} == {JOB_ID, PLAN_JOB_ID, RETENTION_JOB_ID}
        owner = scheduler.get_job(JOB_ID).args[0]
        await plan_messages(owner)
        async with service.database.session() as session:
            counts = await repository.counts(session)
    finally:
        await stop_jobs(scheduler)
    assert counts.get("pending", 0) > 0


async def test_ward_without_channel_goes_to_educator(service):
    await service.link_account(educator="CE1", platform="slack", workspace="T1", user="U-CE1", person_key="CE1")
    slack = RecordingPlatform()
    result = await RoutingSender(service.database, {"slack": slack}).send(claimed(RecipientKind.WARD, "6-west"))
    assert result == Sent("m1")
    assert slack.wards == []
    assert [(workspace, person) for workspace, person, _ in slack.people] == [("T1", "CE1")]
    assert slack.people[0][2].startswith("This was for the 6-west channel, but the ward has none yet")


class UnreachablePlatform(RecordingPlatform):
    """A platform where the ward channel and the person "S2" cannot be reached."""

    async def send_to_person(self, organisation: str, workspace: str, person: str, reply: Reply,
                             payload: Mapping[str, object]):
        if person == "S2":
            return Unreachable("Slack error account_inactive")
        return await super().send_to_person(organisation, workspace, person, reply, payload)

    async def post_to_ward(self, organisation: str, ward: str, reply: Reply):
        self.wards.append(ward)
        return Unreachable("Slack error not_in_channel")


async def test_unusable_channel_goes_to_educator(service):
    await service.link_account(educator="CE1", platform="slack", workspace="T1", user="U-CE1", person_key="CE1")
    await service.set_ward_channel("6-west", "slack", "T1", "C42")
    slack = UnreachablePlatform()

    result = await RoutingSender(service.database, {"slack": slack}).send(claimed(RecipientKind.WARD, "6-west"))

    assert result == Sent("m1")
    assert slack.wards == ["6-west"]
    [(workspace, person, text)] = slack.people
    assert (workspace, person) == ("T1", "CE1")
    assert text.startswith("I couldn't post this in the 6-west channel (Slack error not_in_channel).")
    assert text.endswith("Hello")


def nudge_for(person: str, *, kind: str = "pt-nudge", message_id: int = 1) -> ClaimedMessage:
    message = claimed(RecipientKind.PERSON, person)
    payload = {**message.payload, WORKFLOW_KEY: {"ward": "6-west", "student": person}}
    return replace(message, id=message_id, kind=kind, payload=payload)


async def notices(service) -> dict[str, str]:
    async with service.database.session() as session:
        rows = (await session.execute(select(outbox).where(outbox.c.kind == DELIVERY_PROBLEM))).all()
    return {row.idempotency_key: row.payload["text"] for row in rows}


async def test_unreachable_person_reported_once_a_day(service):
    for person, user in (("CE1", "U-CE1"), ("S2", "U-S2")):
        await service.link_account(educator="CE1", platform="slack", workspace="T1", user=user, person_key=person)
    clock = FixedClock(datetime(2026, 3, 2, 9, tzinfo=LONDON))
    router = RoutingSender(service.database, {"slack": UnreachablePlatform()}, clock)

    first = await router.send(nudge_for("S2"))
    second = await router.send(nudge_for("S2", kind="rate-shift", message_id=2))

    assert isinstance(first, Unreachable)
    assert isinstance(second, Unreachable)
    found = await notices(service)
    assert list(found) == [f"{ORGANISATION}:{DELIVERY_PROBLEM}:CE1:S2:2026-03-02"]
    text = found[f"{ORGANISATION}:{DELIVERY_PROBLEM}:CE1:S2:2026-03-02"]
    assert text.startswith("I couldn't send a reminder to book protected learning time to ")
    assert "(S2): Slack error account_inactive." in text

    clock.moment += timedelta(days=1)
    await router.send(nudge_for("S2"))
    assert len(await notices(service)) == 2


async def test_undeliverable_notice_not_reported(service):
    clock = FixedClock(datetime(2026, 3, 2, 9, tzinfo=LONDON))
    router = RoutingSender(service.database, {"slack": UnreachablePlatform()}, clock)

    result = await router.send(nudge_for("S2", kind=DELIVERY_PROBLEM))

    assert isinstance(result, Unreachable)
    assert await notices(service) == {}


async def test_reached_person_not_reported(service):
    await service.link_account(educator="CE1", platform="slack", workspace="T1", user="U-S1", person_key="S1")
    router = RoutingSender(service.database, {"slack": UnreachablePlatform()}, FixedClock(datetime(2026, 3, 2, 9, tzinfo=LONDON)))

    assert await router.send(nudge_for("S1")) == Sent("m1")
    assert await notices(service) == {}


class LimitedPlatform(RecordingPlatform):
    """A platform that responds to its first `limits` sends with a 30-second rate limit."""

    def __init__(self, limits: int) -> None:
        super().__init__()
        self.limits = limits
        self.calls = 0

    async def send_to_person(self, organisation: str, workspace: str, person: str, reply: Reply,
                             payload: Mapping[str, object]):
        self.calls += 1
        if self.limits:
            self.limits -= 1
            return RetryAfter(30)
        return await super().send_to_person(organisation, workspace, person, reply, payload)


async def test_rate_limit_holds_back_one_platform(service):
    platforms = {"S1": "slack", "S2": "teams", "RN1": "slack"}
    for person, platform in platforms.items():
        await service.link_account(educator="CE1", platform=platform, workspace="W1", user=f"U-{person}", person_key=person)
    clock = FixedClock(datetime(2026, 3, 2, 9, tzinfo=LONDON))
    async with service.database.transaction() as session:
        for number, person in enumerate(platforms):
            await repository.enqueue(session, ORGANISATION, NewMessage(
                idempotency_key=f"{ORGANISATION}:test:{person}", kind="test", recipient_kind=RecipientKind.PERSON,
                recipient=person, payload=reply_to_json(Reply(f"Message {number}")),
                due_at=clock.now() + timedelta(seconds=number),
            ))
    clock.moment += timedelta(seconds=5)
    slack, teams = LimitedPlatform(limits=1), LimitedPlatform(limits=0)
    router = RoutingSender(service.database, {"slack": slack, "teams": teams}, clock)
    dispatcher = Dispatcher(service.database, {DEFAULT_SENDER: router}, clock, owner="rate-limit-test")

    first = await dispatcher.run_once()

    # Teams was not held back by Slack's limit, and Slack got no second request while limited.
    assert [person for _, person, _ in teams.people] == ["S2"]
    assert slack.people == []
    assert slack.calls == 1
    assert (first.sent, first.retried) == (1, 2)

    clock.moment += timedelta(seconds=31)
    second = await dispatcher.run_once()
    assert sorted(person for _, person, _ in slack.people) == ["RN1", "S1"]
    assert second.sent == 2
