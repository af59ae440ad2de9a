"""The bot's timed work inside `clipbot serve`: planning due messages, sending them, deleting old rows.

Three APScheduler jobs run on the server's event loop. Planning enqueues, for every organisation,
the messages due within the next day (idempotent, so running it often is harmless); the outbox
dispatcher then claims and sends what is due. Once a day, finished outbox messages past their
retention period, old Slack and Teams event ids and expired Teams file offers are deleted, because
outbox payloads and file offers contain names and message text. All three run in every replica: the outbox's unique keys and row locks make sure
each message goes out once, and two replicas deleting at once delete different rows.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession

from clipbot.clock import Clock
from clipbot.config import DEFAULT_OUTBOX_RETENTION_DAYS, describe_duration, describe_nudge
from clipbot.outbox.dispatcher import Dispatcher, default_owner
from clipbot.outbox.routing import PlatformSender, RoutingSender
from clipbot.outbox.scheduler import JOB_ID as DISPATCH_JOB_ID
from clipbot.outbox.scheduler import start_scheduler
from clipbot.outbox.scheduler import stop as stop_scheduler
from clipbot.storage import repository
from clipbot.storage.database import Database
from clipbot.storage.outbox import delete_finished
from clipbot.storage.file_offers import forget_file_offers_before
from clipbot.storage.platforms import forget_events_before
from clipbot.workflows.gate import WorkflowGate
from clipbot.workflows.planner import PlannerSettings
from clipbot.workflows.service import WorkflowService

logger = logging.getLogger(__name__)

PLAN_JOB_ID = "clipbot-plan-messages"
PLAN_INTERVAL = timedelta(minutes=15)
PLAN_HORIZON = timedelta(hours=24)

RETENTION_JOB_ID = "clipbot-delete-old-rows"
RETENTION_INTERVAL = timedelta(days=1)
# The first run waits a little, to keep out of the way of start-up and the first planning run.
RETENTION_FIRST_RUN_DELAY = timedelta(minutes=5)
# Slack redelivers an event at most three times, the last about 5 minutes after the first attempt
# (its Events API retry policy, as summarised in classmethod's DevelopersIO article on Slack retries).
# So a day keeps each event id far longer than a redelivery needs it. Teams activity ids get a day too.
EVENT_ID_RETENTION = timedelta(days=1)
# Rows deleted per transaction, so that a large backlog never holds its row locks for long.
DELETE_BATCH_SIZE = 500


@dataclass(frozen=True, slots=True)
class _Jobs:
    """The database, clock and settings that the job functions use for one running server."""

    database: Database
    clock: Clock
    planner_settings: PlannerSettings
    outbox_retention: timedelta


# The running servers' job settings by dispatcher owner name, for the module-level job functions.
_running: dict[str, _Jobs] = {}


async def plan_messages(name: str) -> None:
    """Enqueue the messages due soon for every organisation in the planner's database."""
    jobs = _running[name]
    async with jobs.database.session() as session:
        organisations = await repository.list_organisations(session)
    for organisation in organisations:
        service = WorkflowService(jobs.database, jobs.clock, organisation, settings=jobs.planner_settings)
        try:
            await service.enqueue_plan(PLAN_HORIZON)
        except Exception:
            logger.exception("Planning messages failed for organisation %s; the next run tries again.", organisation)


async def delete_old_rows(name: str) -> None:
    """Delete the finished outbox messages past their retention period and the event ids older than a day."""
    jobs = _running.get(name)
    if jobs is None:
        logger.info("Skipped deleting old rows: dispatcher %s has stopped.", name)
        return
    now = jobs.clock.now()
    message_cutoff = now - jobs.outbox_retention
    event_cutoff = now - EVENT_ID_RETENTION

    async def delete_messages(session: AsyncSession, limit: int) -> int:
        return await delete_finished(session, before=message_cutoff, limit=limit)

    async def delete_event_ids(session: AsyncSession, limit: int) -> int:
        return await forget_events_before(session, event_cutoff, limit=limit)

    async def delete_file_offers(session: AsyncSession, limit: int) -> int:
        # Expired offers are few (one a booking), so one statement deletes them all.
        return await forget_file_offers_before(session, now)

    cleanups = (
        ("finished outbox messages", delete_messages),
        ("event ids", delete_event_ids),
        ("file offers", delete_file_offers),
    )
    for rows, delete_batch in cleanups:
        try:
            deleted = await _delete_in_batches(jobs.database, delete_batch)
        except Exception:
            logger.exception("Deleting old %s failed; the next daily run tries again.", rows)
            continue
        logger.info("Deleted %d old %s.", deleted, rows)


async def _delete_in_batches(database: Database, delete_batch: Callable[[AsyncSession, int], Awaitable[int]]) -> int:
    """Run `delete_batch` in a transaction of its own until it deletes less than a full batch; return the total."""
    total = 0
    while True:
        async with database.transaction() as session:
            deleted = await delete_batch(session, DELETE_BATCH_SIZE)
        total += deleted
        if deleted < DELETE_BATCH_SIZE:
            return total


def start_jobs(
    database: Database,
    clock: Clock,
    platforms: Mapping[str, PlatformSender],
    *,
    planner_settings: PlannerSettings | None = None,
    outbox_retention: timedelta = timedelta(days=DEFAULT_OUTBOX_RETENTION_DAYS),
) -> AsyncIOScheduler:
    """Start the dispatcher, the planner and the daily deletion of old rows, and return their scheduler.

    The jobs run on the running event loop. `planner_settings` (None for the defaults) decide when
    planned messages are due, and finished outbox messages are deleted `outbox_retention` after
    their not_after.
    """
    dispatcher = Dispatcher(
        database, {"default": RoutingSender(database, platforms, clock)}, clock,
        owner=default_owner(), gate=WorkflowGate(database),
    )
    scheduler = start_scheduler(dispatcher)
    _running[dispatcher.owner] = _Jobs(database, clock, planner_settings or PlannerSettings(), outbox_retention)
    scheduler.add_job(
        plan_messages,
        trigger=IntervalTrigger(seconds=PLAN_INTERVAL.total_seconds(), timezone=UTC),
        args=[dispatcher.owner],
        id=PLAN_JOB_ID,
        name="Plan due messages",
        coalesce=True,
        max_instances=1,
        next_run_time=clock.now(),
        replace_existing=True,
    )
    scheduler.add_job(
        delete_old_rows,
        trigger=IntervalTrigger(seconds=RETENTION_INTERVAL.total_seconds(), timezone=UTC),
        args=[dispatcher.owner],
        id=RETENTION_JOB_ID,
        name="Delete old outbox messages and event ids",
        coalesce=True,
        max_instances=1,
        # A run delayed by a busy event loop still runs within the hour, instead of waiting a day.
        misfire_grace_time=3600,
        next_run_time=clock.now() + RETENTION_FIRST_RUN_DELAY,
        replace_existing=True,
    )
    schedule = planner_settings or PlannerSettings()
    logger.info(
        "Started planning every %s, sending through %s, and deleting finished outbox messages %s after they "
        "expire. Coach groups are posted %s before a shift, protected-time reminders %s before a session, "
        "and the mid-week nudge is due %s (%s).",
        describe_duration(PLAN_INTERVAL), " and ".join(platforms) or "no platform", describe_duration(outbox_retention),
        describe_duration(schedule.coach_post_lead), describe_duration(schedule.reminder_lead),
        describe_nudge(schedule.nudge), schedule.nudge.timezone,
    )
    return scheduler


async def stop_jobs(scheduler: AsyncIOScheduler) -> None:
    """Stop the jobs. A dispatcher run in progress finishes its current message first.

    A deletion run in progress is not waited for. Each of its batches is a transaction of its own,
    so stopping part way through deletes some old rows and leaves the rest for the next run.
    """
    dispatch_job = scheduler.get_job(DISPATCH_JOB_ID)
    if dispatch_job is not None:
        _running.pop(dispatch_job.args[0], None)
    await stop_scheduler(scheduler)
