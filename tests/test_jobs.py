"""The server's timed jobs: planning with the configured schedule, and the daily deletion of old rows."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from sqlalchemy import select, update

from clipbot import jobs
from clipbot.clock import FixedClock
from clipbot.config import Settings
from clipbot.domain.people import FieldOfPractice, Person, Registration
from clipbot.domain.roles import Placement
from clipbot.domain.roster import Roster
from clipbot.domain.shifts import DEFAULT_SHIFT_TYPES, Duty, Shift, make_shift
from clipbot.domain.ward import LearningEnvironment
from clipbot.jobs import RETENTION_INTERVAL, RETENTION_JOB_ID, start_jobs, stop_jobs
from clipbot.server import create_web_app
from clipbot.service import WardService
from clipbot.storage.database import Database
from clipbot.storage.file_offers import FileRecipient, NewFileOffer, save_file_offer
from clipbot.storage.models import file_offers, outbox, processed_events
from clipbot.storage.outbox import (
    NewMessage,
    OutboxState,
    RecipientKind,
    claim_due,
    enqueue,
    mark_sent,
)
from clipbot.storage.platforms import SLACK, record_event
from clipbot.storage.repository import ensure_organisation

LONDON = ZoneInfo("Europe/London")
ORGANISATION = "north-trust"
SHIFT_DAY = date(2026, 3, 3)
NOW = datetime(2026, 3, 2, 20, 0, tzinfo=LONDON)
SECRET_TEXT = "Amira's coach today is Grace"


def one_shift_ward() -> tuple[Roster, Shift]:
    ward = LearningEnvironment("6-west", "6 West")
    early = make_shift(ward.key, SHIFT_DAY, DEFAULT_SHIFT_TYPES[0])
    people = [
        Person("S1", "Amira Khan", Registration.STUDENT, FieldOfPractice.ADULT, programme_part=2),
        Person("RN1", "Grace Obi", Registration.REGISTERED_NURSE, FieldOfPractice.ADULT),
    ]
    roster = Roster(ward=ward, people={person.key: person for person in people})
    roster.shifts[early.key] = early
    roster.duties += [Duty(early.key, "S1"), Duty(early.key, "RN1")]
    roster.placements = [Placement("S1", ward.key, SHIFT_DAY, SHIFT_DAY + timedelta(days=27))]
    return roster, early


async def coach_post_due(database: Database, shift: Shift) -> datetime:
    key = f"{ORGANISATION}:coach-post:6-west:{shift.key}"
    async with database.session() as session:
        return (await session.execute(select(outbox.c.due_at).where(outbox.c.idempotency_key == key))).scalar_one()


async def test_configured_coach_post_lead_moves_post(database: Database) -> None:
    roster, shift = one_shift_ward()
    clock = FixedClock(NOW)
    await WardService(database, clock, ORGANISATION).import_roster(roster)
    settings = Settings.from_environment({
        "DATABASE_URL": "sqlite+aiosqlite:///unused.sqlite3", "CLIPBOT_COACH_POST_LEAD_MINUTES": "45",
    })
    application = create_web_app(settings, database, clock=clock, jobs=True)
    runner = web.AppRunner(application)
    before = set(jobs._running)
    await runner.setup()
    try:
        # The job registry is the only handle on the jobs that the application started.
        (name,) = set(jobs._running) - before
        await jobs.plan_messages(name)
    finally:
        await runner.cleanup()

    assert await coach_post_due(database, shift) == shift.starts_at - timedelta(minutes=45)


async def test_default_coach_post_lead_is_half_an_hour(database: Database) -> None:
    roster, shift = one_shift_ward()
    clock = FixedClock(NOW)
    await WardService(database, clock, ORGANISATION).import_roster(roster)
    scheduler = start_jobs(database, clock, {})
    # Paused at once, so that only the calls below run the jobs, whatever the time of day.
    scheduler.pause()
    try:
        await jobs.plan_messages(scheduler.get_job(RETENTION_JOB_ID).args[0])
    finally:
        await stop_jobs(scheduler)

    assert await coach_post_due(database, shift) == shift.starts_at - timedelta(minutes=30)


async def finished_message(database: Database, key: str, *, expired: datetime | None, sent: datetime) -> None:
    """Store a sent message that expired at `expired`, or that has no expiry when it is None."""
    due = sent - timedelta(minutes=5)
    message = NewMessage(
        idempotency_key=key, kind="pt-reminder", recipient_kind=RecipientKind.PERSON, recipient="S1",
        payload={"text": SECRET_TEXT}, due_at=due, not_after=expired,
    )
    async with database.transaction() as session:
        await ensure_organisation(session, ORGANISATION)
        await enqueue(session, ORGANISATION, message)
    async with database.transaction() as session:
        (claimed,) = await claim_due(session, owner="test", now=due, limit=1, lease=timedelta(minutes=2))
        await mark_sent(session, claimed.id, "test", platform_message_id="ts", now=sent)


async def pending_message(database: Database, key: str, *, expired: datetime) -> None:
    message = NewMessage(
        idempotency_key=key, kind="pt-offer", recipient_kind=RecipientKind.PERSON, recipient="S1",
        payload={"text": SECRET_TEXT}, due_at=expired - timedelta(hours=1), not_after=expired,
    )
    async with database.transaction() as session:
        await ensure_organisation(session, ORGANISATION)
        await enqueue(session, ORGANISATION, message)


async def event_received(database: Database, event_id: str, at: datetime) -> None:
    async with database.transaction() as session:
        await record_event(session, SLACK, event_id)
        await session.execute(
            update(processed_events).where(processed_events.c.event_id == event_id).values(received_at=at)
        )


@pytest.fixture
async def old_and_new_rows(database: Database) -> Database:
    now = NOW.astimezone(UTC)
    sent = now - timedelta(days=12)
    await finished_message(database, "sent-11-days-ago", expired=now - timedelta(days=11), sent=sent)
    await finished_message(database, "sent-9-days-ago", expired=now - timedelta(days=9), sent=sent)
    await finished_message(database, "sent-no-expiry-old", expired=None, sent=now - timedelta(days=11))
    await pending_message(database, "pending-expired-long-ago", expired=now - timedelta(days=40))
    await event_received(database, "Ev-2-days-old", now - timedelta(days=2))
    await event_received(database, "Ev-hour-old", now - timedelta(hours=1))
    await file_offered(database, "offer-expired", expires=now - timedelta(minutes=1))
    await file_offered(database, "offer-live", expires=now + timedelta(days=1))
    return database


async def file_offered(database: Database, token: str, *, expires: datetime) -> None:
    """Store a Teams file offer made a week before it `expires`."""
    recipient = FileRecipient("teams", "tenant-1", f"29:{token}")
    offer = NewFileOffer(token, recipient, "protected-time.ics", SECRET_TEXT.encode(), expires)
    async with database.transaction() as session:
        await ensure_organisation(session, ORGANISATION)
        await save_file_offer(session, ORGANISATION, offer, now=expires - timedelta(days=7))


async def stored_keys(database: Database) -> tuple[set[str], set[str]]:
    async with database.session() as session:
        messages = set((await session.scalars(select(outbox.c.idempotency_key))).all())
        events = set((await session.scalars(select(processed_events.c.event_id))).all())
    return messages, events


async def offer_tokens(database: Database) -> set[str]:
    async with database.session() as session:
        return set((await session.scalars(select(file_offers.c.token))).all())


async def test_retention_job_deletes_old_rows(old_and_new_rows: Database, caplog) -> None:
    database = old_and_new_rows
    scheduler = start_jobs(database, FixedClock(NOW), {}, outbox_retention=timedelta(days=10))
    # Paused at once, so that only the calls below run the jobs, whatever the time of day.
    scheduler.pause()
    try:
        job = scheduler.get_job(RETENTION_JOB_ID)
        assert job.trigger.interval == RETENTION_INTERVAL
        # The first run comes soon after start, so that a server restarted daily still runs it.
        assert job.next_run_time == NOW + jobs.RETENTION_FIRST_RUN_DELAY
        with caplog.at_level(logging.INFO, logger="clipbot.jobs"):
            await job.func(*job.args)
    finally:
        await stop_jobs(scheduler)

    messages, events = await stored_keys(database)
    assert messages == {"sent-9-days-ago", "pending-expired-long-ago"}
    assert events == {"Ev-hour-old"}
    logged = [record.getMessage() for record in caplog.records if record.name == "clipbot.jobs"]
    assert "Deleted 2 old finished outbox messages." in logged
    assert "Deleted 1 old event ids." in logged
    assert await offer_tokens(database) == {"offer-live"}
    assert "Deleted 1 old file offers." in logged
    assert not any(SECRET_TEXT in line for line in logged)


async def test_retention_job_twice_at_once(old_and_new_rows: Database, caplog) -> None:
    database = old_and_new_rows
    scheduler = start_jobs(database, FixedClock(NOW), {}, outbox_retention=timedelta(days=10))
    # Paused at once, so that only the calls below run the jobs, whatever the time of day.
    scheduler.pause()
    try:
        job = scheduler.get_job(RETENTION_JOB_ID)
        with caplog.at_level(logging.INFO, logger="clipbot.jobs"):
            await asyncio.gather(job.func(*job.args), job.func(*job.args))
    finally:
        await stop_jobs(scheduler)

    messages, events = await stored_keys(database)
    assert messages == {"sent-9-days-ago", "pending-expired-long-ago"}
    assert events == {"Ev-hour-old"}
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


async def test_retention_job_keeps_sending_rows(database: Database) -> None:
    now = NOW.astimezone(UTC)
    await pending_message(database, "claimed-long-ago", expired=now - timedelta(days=40))
    async with database.transaction() as session:
        await claim_due(session, owner="stuck", now=now, limit=1, lease=timedelta(minutes=2))
    scheduler = start_jobs(database, FixedClock(NOW), {}, outbox_retention=timedelta(days=7))
    # Paused at once, so that only the calls below run the jobs, whatever the time of day.
    scheduler.pause()
    try:
        job = scheduler.get_job(RETENTION_JOB_ID)
        await job.func(*job.args)
    finally:
        await stop_jobs(scheduler)

    async with database.session() as session:
        states = (await session.scalars(select(outbox.c.state))).all()
    assert states == [OutboxState.SENDING.value]

