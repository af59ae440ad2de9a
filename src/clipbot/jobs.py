"""The bot's timed work inside `clipbot serve`: planning due messages and sending them.

Two APScheduler jobs run on the server's event loop. Planning enqueues, for every organisation,
the messages due within the next day (idempotent, so running it often is harmless); the outbox
dispatcher then claims and sends what is due. Both run in every replica: the outbox's unique
keys and row locks make sure each message goes out once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from clipbot.clock import Clock
from clipbot.outbox.dispatcher import Dispatcher, default_owner
from clipbot.outbox.routing import PlatformSender, RoutingSender
from clipbot.outbox.scheduler import JOB_ID as DISPATCH_JOB_ID
from clipbot.outbox.scheduler import start_scheduler
from clipbot.outbox.scheduler import stop as stop_scheduler
from clipbot.storage import repository
from clipbot.storage.database import Database
from clipbot.workflows.gate import WorkflowGate
from clipbot.workflows.service import WorkflowService

logger = logging.getLogger(__name__)

PLAN_JOB_ID = "clipbot-plan-messages"
PLAN_INTERVAL = timedelta(minutes=15)
PLAN_HORIZON = timedelta(hours=24)

# The databases and clocks of running planners by name, for the module-level job function.
_planners: dict[str, tuple[Database, Clock]] = {}


async def plan_messages(name: str) -> None:
    """Enqueue the messages due soon for every organisation in the planner's database."""
    database, clock = _planners[name]
    async with database.session() as session:
        organisations = await repository.list_organisations(session)
    for organisation in organisations:
        try:
            await WorkflowService(database, clock, organisation).enqueue_plan(PLAN_HORIZON)
        except Exception:
            logger.exception("Planning messages failed for organisation %s; the next run tries again.", organisation)


def start_jobs(database: Database, clock: Clock, platforms: Mapping[str, PlatformSender]) -> AsyncIOScheduler:
    """Start the dispatcher and the planner on the running event loop and return their scheduler."""
    dispatcher = Dispatcher(
        database, {"default": RoutingSender(database, platforms)}, clock,
        owner=default_owner(), gate=WorkflowGate(database),
    )
    scheduler = start_scheduler(dispatcher)
    _planners[dispatcher.owner] = (database, clock)
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
    logger.info("Started planning every %s and sending through %s.", PLAN_INTERVAL, ", ".join(platforms) or "no platform")
    return scheduler


async def stop_jobs(scheduler: AsyncIOScheduler) -> None:
    """Stop planning and sending; the run in progress finishes its current message first."""
    dispatch_job = scheduler.get_job(DISPATCH_JOB_ID)
    if dispatch_job is not None:
        _planners.pop(dispatch_job.args[0], None)
    await stop_scheduler(scheduler)
