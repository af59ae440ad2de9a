"""A coach plan that changes after its post was planned: the pending post is rewritten, a sent one is edited."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import timedelta

import pytest

from clipbot.bot.events import Reply
from clipbot.clock import FixedClock
from clipbot.domain.shifts import Leave
from clipbot.outbox import DEFAULT_SENDER, Dispatcher
from clipbot.outbox.dispatcher import Failed, SendResult, Sent, Unreachable
from clipbot.outbox.routing import RoutingSender
from clipbot.service import WardService
from clipbot.storage.database import Database
from clipbot.storage.outbox import OutboxState
from clipbot.workflows import planner
from clipbot.workflows.gate import WorkflowGate
from clipbot.workflows.service import WorkflowService
from workflow_chat import outbox_rows
from workflow_ward import MARCH_MONDAY, WARD, local, ward_roster

# Outbox keys without the organisation prefix, as `outbox_rows` returns them.
POST_KEY = f"coach-post:{WARD}:{MARCH_MONDAY.isoformat()} Early"
CHANNEL = "C-4NORTH"


class ChannelPlatform:
    """A platform that keeps the ward channel's posts by id, so that a test can read a post's text after edits."""

    def __init__(self) -> None:
        self.posts: dict[str, str] = {}
        self.order: list[str] = []
        self.edits: list[str] = []
        self.lost = False
        self.pending_failure: SendResult | None = None

    async def send_to_person(
        self, organisation: str, workspace: str, person: str, reply: Reply, payload: Mapping[str, object]
    ) -> SendResult:
        return Sent(f"dm-{person}")

    async def post_to_ward(self, organisation: str, ward: str, reply: Reply) -> SendResult:
        message_id = f"post-{len(self.order) + 1}"
        self.posts[message_id] = text_of(reply)
        self.order.append(message_id)
        return Sent(message_id)

    async def update_ward_post(self, organisation: str, ward: str, message_id: str, reply: Reply) -> SendResult:
        if self.pending_failure is not None:
            failure, self.pending_failure = self.pending_failure, None
            return failure
        if self.lost or message_id not in self.posts:
            return Unreachable("message_not_found")
        self.edits.append(message_id)
        self.posts[message_id] = text_of(reply)
        return Sent(message_id)


def text_of(reply: Reply) -> str:
    return "\n".join([reply.text, *(f"{fact.label}: {fact.value}" for section in reply.sections for fact in section.facts)])


class Ward:
    def __init__(self, service: WardService, clock: FixedClock, database: Database) -> None:
        self.service = service
        self.clock = clock
        self.database = database
        self.platform = ChannelPlatform()
        self.dispatcher = Dispatcher(
            database, {DEFAULT_SENDER: RoutingSender(database, {"slack": self.platform}, clock)}, clock,
            owner="coach-update-test", gate=WorkflowGate(database), rng=random.Random(3),
        )

    async def plan(self) -> int:
        return await WorkflowService.of(self.service).enqueue_plan()

    async def send_due(self) -> None:
        await self.dispatcher.run_until_idle()

    async def change_roster(self, *, leave: tuple[Leave, ...]) -> None:
        await self.service.import_roster(ward_roster(MARCH_MONDAY, leave=leave))

    async def coach_rows(self) -> dict[str, object]:
        rows = await outbox_rows(self.database, "coach-post:")
        return {key: row for key, row in rows.items() if key.startswith(POST_KEY)}


@pytest.fixture
async def ward(ward_service: WardService, clock: FixedClock, database: Database) -> Ward:
    # Monday 23 March at 06:00; the Early shift starts at 07:30, so its post is due at 07:00.
    clock.moment = local(MARCH_MONDAY, 6, 0)
    await ward_service.set_ward_channel(WARD, "slack", "T1", CHANNEL)
    return Ward(ward_service, clock, database)


# In the 4 North fixture PA1 (Grace Obi) coaches Ben (S2) on Monday's Early shift, so her leave changes the groups.
GRACE_AWAY = (Leave("PA1", MARCH_MONDAY, MARCH_MONDAY),)


async def test_pending_post_rewritten(ward: Ward) -> None:
    await ward.plan()
    await ward.change_roster(leave=GRACE_AWAY)
    await ward.plan()

    ward.clock.moment = local(MARCH_MONDAY, 7, 0)
    await ward.send_due()

    rows = await ward.coach_rows()
    assert list(rows) == [POST_KEY]
    assert [ward.platform.posts[key] for key in ward.platform.order if "Early" in ward.platform.posts[key]] == [
        ward.platform.posts["post-1"]
    ]
    assert "Grace Obi" not in ward.platform.posts["post-1"]
    assert ward.platform.edits == []


async def test_sent_post_edited_in_place(ward: Ward) -> None:
    await ward.plan()
    ward.clock.moment = local(MARCH_MONDAY, 7, 0)
    await ward.send_due()
    first_post = next(key for key in ward.platform.order if "Early" in ward.platform.posts[key])
    assert "Grace Obi" in ward.platform.posts[first_post]
    posts_before = len(ward.platform.order)

    ward.clock.moment = local(MARCH_MONDAY, 7, 10)
    await ward.change_roster(leave=GRACE_AWAY)
    assert await ward.plan() == 1
    await ward.send_due()

    assert len(ward.platform.order) == posts_before, "an edit must not post a second message"
    assert ward.platform.edits == [first_post]
    assert "Grace Obi" not in ward.platform.posts[first_post]
    rows = await ward.coach_rows()
    assert rows[f"{POST_KEY}:update:2"].state == OutboxState.SENT
    assert rows[f"{POST_KEY}:update:2"].platform_message_id == rows[POST_KEY].platform_message_id

    # Planning again with the same roster enqueues nothing, and a change back edits the same post again.
    assert await ward.plan() == 0
    await ward.change_roster(leave=())
    assert await ward.plan() == 1
    await ward.send_due()
    assert ward.platform.edits == [first_post, first_post]
    assert "Grace Obi" in ward.platform.posts[first_post]
    assert len(ward.platform.order) == posts_before


async def test_deleted_post_posted_again(ward: Ward) -> None:
    await ward.plan()
    ward.clock.moment = local(MARCH_MONDAY, 7, 0)
    await ward.send_due()
    posts_before = len(ward.platform.order)

    ward.platform.lost = True
    await ward.change_roster(leave=GRACE_AWAY)
    await ward.plan()
    await ward.send_due()

    assert len(ward.platform.order) == posts_before + 1
    newest = ward.platform.posts[ward.platform.order[-1]]
    assert newest.startswith("Changed since the earlier post")
    assert "Grace Obi" not in newest

    # The next change edits the new post, which is now the one the ward reads.
    ward.platform.lost = False
    await ward.change_roster(leave=())
    await ward.plan()
    await ward.send_due()
    assert ward.platform.edits == [ward.platform.order[-1]]


async def test_update_waits_for_earlier_version(ward: Ward) -> None:
    await ward.plan()
    ward.clock.moment = local(MARCH_MONDAY, 7, 0)
    await ward.send_due()
    await ward.change_roster(leave=GRACE_AWAY)
    await ward.plan()
    ward.platform.pending_failure = Failed("Slack answered HTTP 500")
    await ward.send_due()
    rows = await ward.coach_rows()
    assert rows[f"{POST_KEY}:update:2"].state == OutboxState.PENDING

    # A further change while update 2 waits rewrites update 2 instead of adding update 3.
    await ward.change_roster(leave=(*GRACE_AWAY, Leave("PA2", MARCH_MONDAY, MARCH_MONDAY)))
    assert await ward.plan() == 0
    rows = await ward.coach_rows()
    assert set(rows) == {POST_KEY, f"{POST_KEY}:update:2"}
    assert "Ivy Ross" not in str(rows[f"{POST_KEY}:update:2"].payload)

    ward.clock.moment = rows[f"{POST_KEY}:update:2"].next_attempt_at
    await ward.send_due()
    first_post = ward.platform.order[0]
    assert "Ivy Ross" not in ward.platform.posts[first_post]
    assert "Grace Obi" not in ward.platform.posts[first_post]


async def test_no_update_after_shift(ward: Ward) -> None:
    await ward.plan()
    ward.clock.moment = local(MARCH_MONDAY, 7, 0)
    await ward.send_due()
    ward.clock.moment = local(MARCH_MONDAY, 15, 30)
    await ward.change_roster(leave=GRACE_AWAY)
    await ward.plan()
    await ward.send_due()
    assert ward.platform.edits == []
    assert set(await ward.coach_rows()) == {POST_KEY}


async def test_rating_request_follows_coach(ward: Ward) -> None:
    await ward.plan()
    key = f"{planner.RATE_SHIFT}:S2:{MARCH_MONDAY.isoformat()} Early"
    before = (await outbox_rows(ward.database, key))[key].payload
    await ward.change_roster(leave=GRACE_AWAY)
    await ward.plan()
    after = (await outbox_rows(ward.database, key))[key].payload
    assert "Grace Obi" in str(before)
    assert "Grace Obi" not in str(after)


def test_update_message_shape() -> None:
    post = planner.NewMessage(
        idempotency_key="org:coach-post:4-north:2026-03-23:Early", kind=planner.COACH_POST,
        recipient_kind=planner.RecipientKind.WARD, recipient="4-north",
        payload={"text": "Coach groups", planner.WORKFLOW_KEY: {"ward": "4-north"}},
        due_at=local(MARCH_MONDAY, 7, 0), not_after=local(MARCH_MONDAY, 15, 0),
    )
    now = local(MARCH_MONDAY, 7, 5)
    update = planner.coach_post_update(post, 2, now)
    assert update.idempotency_key == "org:coach-post:4-north:2026-03-23:Early:update:2"
    assert update.payload[planner.UPDATES_KEY] == post.idempotency_key
    assert planner.version_of(update.payload) == 2
    assert planner.version_of(post.payload) == 1
    assert update.due_at == now
    assert update.not_after == post.not_after
    assert planner.same_content(post.payload, update.payload)
    with pytest.raises(ValueError, match="version of 2 or more"):
        planner.coach_post_update(post, 1, now)
    assert timedelta(0) < update.not_after - update.due_at


# Both students of Monday's Early shift on leave: the shift has no students and so no coach groups.
STUDENTS_AWAY = (Leave("S1", MARCH_MONDAY, MARCH_MONDAY), Leave("S2", MARCH_MONDAY, MARCH_MONDAY))
RATING_KEYS = [f"{planner.RATE_SHIFT}:{student}:{MARCH_MONDAY.isoformat()} Early" for student in ("S1", "S2")]


async def rating_rows(ward: Ward) -> dict[str, object]:
    rows = await outbox_rows(ward.database, f"{planner.RATE_SHIFT}:")
    return {key: rows[key] for key in RATING_KEYS if key in rows}


async def test_unsent_post_dropped_without_students(ward: Ward) -> None:
    await ward.plan()
    await ward.change_roster(leave=STUDENTS_AWAY)
    await ward.plan()

    ward.clock.moment = local(MARCH_MONDAY, 7, 0)
    await ward.send_due()

    rows = await ward.coach_rows()
    assert list(rows) == [POST_KEY]
    assert rows[POST_KEY].state == OutboxState.DROPPED
    assert not any("Early" in text for text in ward.platform.posts.values())
    ratings = await rating_rows(ward)
    assert {row.state for row in ratings.values()} == {OutboxState.DROPPED}
    assert len(ratings) == 2


async def test_sent_post_withdrawn_without_students(ward: Ward) -> None:
    await ward.plan()
    ward.clock.moment = local(MARCH_MONDAY, 7, 0)
    await ward.send_due()
    first_post = next(key for key in ward.platform.order if "Early" in ward.platform.posts[key])

    ward.clock.moment = local(MARCH_MONDAY, 7, 10)
    await ward.change_roster(leave=STUDENTS_AWAY)
    assert await ward.plan() == 1
    await ward.send_due()

    assert ward.platform.edits == [first_post]
    edited = ward.platform.posts[first_post]
    assert edited.startswith("Coach groups for the Early")
    assert "No students are on this shift any more" in reply_of(await ward.coach_rows(), f"{POST_KEY}:update:2")
    assert "Grace Obi" not in edited
    assert await ward.plan() == 0

    # The students are back after all: the post shows the groups again.
    await ward.change_roster(leave=())
    assert await ward.plan() == 1
    await ward.send_due()
    assert ward.platform.edits == [first_post, first_post]
    assert "Grace Obi" in ward.platform.posts[first_post]


def reply_of(rows: dict[str, object], key: str) -> str:
    return " ".join(section["text"] for section in rows[key].payload["sections"])


async def test_rating_dropped_for_uncoached_student(ward: Ward) -> None:
    await ward.plan()
    await ward.change_roster(leave=(Leave("S2", MARCH_MONDAY, MARCH_MONDAY),))
    await ward.plan()

    ratings = await rating_rows(ward)
    assert ratings[RATING_KEYS[0]].state == OutboxState.PENDING
    assert ratings[RATING_KEYS[1]].state == OutboxState.DROPPED


async def test_later_posts_left_alone_by_shorter_plan(ward: Ward) -> None:
    workflows = WorkflowService.of(ward.service)
    await workflows.enqueue_plan(timedelta(days=3))
    rows_before = await outbox_rows(ward.database, "coach-post:")

    await workflows.enqueue_plan(timedelta(hours=1))

    rows_after = await outbox_rows(ward.database, "coach-post:")
    assert {key: row.state for key, row in rows_after.items()} == {key: row.state for key, row in rows_before.items()}
    assert {row.state for row in rows_after.values()} == {OutboxState.PENDING}
