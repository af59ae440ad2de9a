"""The bot's own messages: routing each to its recipient's platform, and the planner job."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from clipbot.bot.events import Reply
from clipbot.bot.serialise import reply_to_json
from clipbot.clock import FixedClock
from clipbot.jobs import PLAN_JOB_ID, plan_messages, start_jobs, stop_jobs
from clipbot.outbox.dispatcher import Sent, Unreachable
from clipbot.outbox.routing import RoutingSender
from clipbot.outbox.scheduler import JOB_ID
from clipbot.storage import repository
from clipbot.storage.outbox import ClaimedMessage, RecipientKind
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
    assert result == Sent("m2")
    assert slack.wards == ["6-west"]
    assert teams.wards == []


async def test_planner_job_enqueues_coach_posts(service):
    clock = FixedClock(datetime.combine(MONDAY, datetime.min.time(), tzinfo=LONDON))
    scheduler = start_jobs(service.database, clock, {})
    try:
        assert {job.id for job in scheduler.get_jobs()} == {JOB_ID, PLAN_JOB_ID}
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
