"""The gate: quiet hours, sleep after nights, pauses and leave, stale posts and late sends, and a dispatcher run."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from clipbot.clock import FixedClock
from clipbot.domain.shifts import Leave
from clipbot.outbox.dispatcher import SEND, Defer, Dispatcher, Drop, Sent
from clipbot.service import WardService
from clipbot.storage.database import Database
from clipbot.storage.models import outbox
from clipbot.storage.outbox import ClaimedMessage, NewMessage, RecipientKind
from clipbot.workflows import protected as pt
from clipbot.workflows.gate import WorkflowGate
from clipbot.workflows.planner import plan
from clipbot.workflows.service import WorkflowService
from workflow_chat import Chat, button, outbox_reply
from workflow_ward import MARCH_MONDAY, OCTOBER_MONDAY, ORGANISATION, local, ward_roster

TUESDAY = date(2026, 3, 24)
WEDNESDAY = date(2026, 3, 25)


def _planned(key: str, monday: date = MARCH_MONDAY, **roster_options: object) -> NewMessage:
    roster = ward_roster(monday, **roster_options)  # type: ignore[arg-type]
    for message in plan(roster, roster.assignments, local(monday, 0, 0), timedelta(days=8)):
        if message.idempotency_key == key:
            return message
    raise AssertionError(f"the plan has no message {key!r}")


def _claimed(message: NewMessage) -> ClaimedMessage:
    """The message as the dispatcher hands it to the gate after claiming it."""
    return ClaimedMessage(
        id=1, organisation=ORGANISATION, idempotency_key=f"{ORGANISATION}:{message.idempotency_key}",
        kind=message.kind, platform=message.platform, recipient_kind=message.recipient_kind,
        recipient=message.recipient, payload=dict(message.payload), due_at=message.due_at,
        not_after=message.not_after, attempts=1, next_attempt_at=message.due_at,
        lease_until=message.due_at + timedelta(minutes=2),
    )


async def _store(database: Database, clock: FixedClock, **roster_options: object) -> WardService:
    service = WardService(database, clock, ORGANISATION)
    await service.import_roster(ward_roster(**roster_options))  # type: ignore[arg-type]
    return service


async def test_personal_message_waits_for_quiet_hours_end(ward_service: WardService, database: Database) -> None:
    gate = WorkflowGate(database)

    decision = await gate.check(_claimed(_planned("pt-offer:S1:2026-W13")), local(MARCH_MONDAY, 22, 0))

    assert decision == Defer(local(TUESDAY, 8, 0))


async def test_personal_message_sent_outside_quiet_hours(ward_service: WardService, database: Database) -> None:
    gate = WorkflowGate(database)

    decision = await gate.check(_claimed(_planned("pt-offer:S1:2026-W13")), local(MARCH_MONDAY, 9, 0))

    assert decision == SEND


async def test_night_coach_post_ignores_quiet_hours(database: Database, clock: FixedClock) -> None:
    saturday = date(2026, 10, 24)
    await _store(database, clock, monday=OCTOBER_MONDAY, student_nights=[saturday])
    post = _planned("coach-post:4-north:2026-10-24 Night", OCTOBER_MONDAY, student_nights=[saturday])

    decision = await WorkflowGate(database).check(_claimed(post), local(saturday, 22, 0))

    assert decision == SEND


async def test_coach_post_dropped_after_shift(ward_service: WardService, database: Database) -> None:
    gate = WorkflowGate(database)
    post = _planned("coach-post:4-north:2026-03-23 Early")

    decision = await gate.check(_claimed(post), local(MARCH_MONDAY, 14, 31))

    assert isinstance(decision, Drop)
    assert gate.dropped["coach-post"] == 1


async def test_rating_after_night_waits_for_sleep(database: Database, clock: FixedClock) -> None:
    saturday = date(2026, 10, 24)
    await _store(database, clock, monday=OCTOBER_MONDAY, student_nights=[saturday])
    rating = _planned("rate-shift:S1:2026-10-24 Night", OCTOBER_MONDAY, student_nights=[saturday])

    decision = await WorkflowGate(database).check(_claimed(rating), rating.due_at)

    # The night ends at 06:30 GMT on the day the clocks go back; eight hours' sleep runs to 14:30.
    assert decision == Defer(datetime(2026, 10, 25, 14, 30, tzinfo=UTC))


async def test_paused_person_waits_until_pause_ends(ward_service: WardService, database: Database) -> None:
    await Chat(ward_service, "S1").send("pause until 2026-03-25")

    decision = await WorkflowGate(database).check(_claimed(_planned("pt-offer:S1:2026-W13")), local(MARCH_MONDAY, 10, 0))

    assert decision == Defer(local(date(2026, 3, 26), 8, 0))


async def test_person_on_leave_waits_until_back(database: Database, clock: FixedClock) -> None:
    await _store(database, clock, monday=MARCH_MONDAY, leave=[Leave("S2", MARCH_MONDAY, TUESDAY)])

    decision = await WorkflowGate(database).check(_claimed(_planned("pt-offer:S2:2026-W13")), local(MARCH_MONDAY, 10, 0))

    assert decision == Defer(local(WEDNESDAY, 8, 0))


async def test_leave_past_not_after_drops(database: Database, clock: FixedClock) -> None:
    await _store(database, clock, monday=MARCH_MONDAY, leave=[Leave("S2", WEDNESDAY, date(2026, 3, 31))])
    gate = WorkflowGate(database)

    decision = await gate.check(_claimed(_planned("pt-nudge:S2:2026-W13")), local(WEDNESDAY, 12, 0))

    assert isinstance(decision, Drop)
    assert gate.dropped["pt-nudge"] == 1


async def test_nudge_dropped_once_booked(ward_service: WardService, database: Database) -> None:
    await WorkflowService.of(ward_service).enqueue_plan()
    offer = await outbox_reply(database, "pt-offer:S1:2026-W13")
    await Chat(ward_service, "S1").press(button(offer, pt.BOOK))

    decision = await WorkflowGate(database).check(_claimed(_planned("pt-nudge:S1:2026-W13")), local(WEDNESDAY, 12, 0))

    assert decision == Drop("the week is already booked or declined")


async def test_nudge_sent_when_nothing_booked(ward_service: WardService, database: Database) -> None:
    decision = await WorkflowGate(database).check(_claimed(_planned("pt-nudge:S1:2026-W13")), local(WEDNESDAY, 12, 0))

    assert decision == SEND


async def test_late_message_sent_and_logged(
    ward_service: WardService, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    gate = WorkflowGate(database)
    caplog.set_level(logging.INFO, logger="clipbot.workflows.gate")

    decision = await gate.check(_claimed(_planned("pt-offer:S1:2026-W13")), local(TUESDAY, 10, 0))

    assert decision == SEND
    assert gate.late["pt-offer"] == 1
    assert "1500 minutes after it could first have been sent" in caplog.text


async def test_sleep_wait_is_not_lateness(database: Database, clock: FixedClock) -> None:
    saturday = date(2026, 10, 24)
    await _store(database, clock, monday=OCTOBER_MONDAY, student_nights=[saturday])
    rating = _planned("rate-shift:S1:2026-10-24 Night", OCTOBER_MONDAY, student_nights=[saturday])
    gate = WorkflowGate(database)

    decision = await gate.check(_claimed(rating), datetime(2026, 10, 25, 14, 35, tzinfo=UTC))

    assert decision == SEND
    assert gate.late["rate-shift"] == 0


async def test_reminder_dropped_after_session_start(ward_service: WardService, database: Database) -> None:
    await WorkflowService.of(ward_service).enqueue_plan()
    offer = await outbox_reply(database, "pt-offer:S1:2026-W13")
    await Chat(ward_service, "S1").press(button(offer, pt.BOOK))
    async with database.session() as session:
        row = (await session.execute(select(outbox).where(outbox.c.kind == "pt-reminder"))).first()
    assert row is not None
    reminder = ClaimedMessage(
        id=row.id, organisation=ORGANISATION, idempotency_key=row.idempotency_key, kind=row.kind,
        platform=row.platform, recipient_kind=RecipientKind(row.recipient_kind), recipient=row.recipient,
        payload=row.payload, due_at=row.due_at, not_after=row.not_after, attempts=1,
        next_attempt_at=row.due_at, lease_until=row.due_at,
    )

    decision = await WorkflowGate(database).check(reminder, local(MARCH_MONDAY, 9, 31))

    assert isinstance(decision, Drop)


async def test_other_kinds_pass_through(database: Database) -> None:
    foreign = replace(_claimed(_planned("pt-offer:S1:2026-W13")), kind="welcome")

    assert await WorkflowGate(database).check(foreign, local(MARCH_MONDAY, 23, 0)) == SEND


class RecordingSender:
    """A stand-in for a platform sender: accepts every message and keeps its idempotency key."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def send(self, message: ClaimedMessage) -> Sent:
        self.keys.append(message.idempotency_key.removeprefix(f"{ORGANISATION}:"))
        return Sent(f"ts-{message.id}")


async def test_dispatcher_after_downtime(ward_service: WardService, database: Database, clock: FixedClock) -> None:
    await WorkflowService.of(ward_service).enqueue_plan()
    sender = RecordingSender()
    gate = WorkflowGate(database)
    clock.moment = local(MARCH_MONDAY, 15, 0)
    dispatcher = Dispatcher(database, {"default": sender}, clock, owner="test", gate=gate)

    summary = await dispatcher.run_once()

    assert sorted(sender.keys) == [
        "pt-offer:S1:2026-W13", "pt-offer:S2:2026-W13",
        "rate-shift:S1:2026-03-23 Early", "rate-shift:S2:2026-03-23 Early",
    ]
    # The dispatcher drops the coach post itself, because its not_after (the shift end) has passed.
    assert summary.dropped == 1
    async with database.session() as session:
        state = await session.scalar(
            select(outbox.c.state).where(outbox.c.idempotency_key == f"{ORGANISATION}:coach-post:4-north:2026-03-23 Early")
        )
    assert state == "dropped"


async def _booked_messages(ward_service: WardService, database: Database) -> dict[str, ClaimedMessage]:
    """Book S1's first offered slot and return the stored booking, invitation and reminder to the mentor."""
    await WorkflowService.of(ward_service).enqueue_plan()
    offer = await outbox_reply(database, "pt-offer:S1:2026-W13")
    await Chat(ward_service, "S1").press(button(offer, pt.BOOK))
    async with database.session() as session:
        rows = (await session.execute(select(outbox).where(outbox.c.recipient == "PA1"))).all()
    found: dict[str, ClaimedMessage] = {}
    for row in rows:
        kind = row.idempotency_key.split(":")[1]
        message = NewMessage(
            idempotency_key=row.idempotency_key.removeprefix(f"{ORGANISATION}:"), kind=row.kind,
            recipient_kind=RecipientKind(row.recipient_kind), recipient=row.recipient, payload=row.payload,
            due_at=row.due_at, not_after=row.not_after,
        )
        found[kind] = _claimed(message)
    return found


async def test_booking_still_sent_during_session(ward_service: WardService, database: Database) -> None:
    booked = await _booked_messages(ward_service, database)
    start = datetime.fromisoformat(booked["pt-booked"].payload["workflow"]["session_start"])
    during = start + timedelta(minutes=10)
    gate = WorkflowGate(database)

    # A booking and its invitation held past the session's start, by quiet hours for example, still
    # tell the mentor about the session in progress. The reminder is stale by then.
    assert await gate.check(booked["pt-booked"], during) == SEND
    assert await gate.check(booked["pt-invite"], during) == SEND
    assert isinstance(await gate.check(booked["pt-reminder"], during), Drop)
