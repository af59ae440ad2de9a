"""The APScheduler 3.x job that runs the outbox dispatcher at a fixed interval.

The job calls `dispatch_due_messages`, a module-level function, with the dispatcher's owner name,
and the function finds the dispatcher in this module's registry. So the job holds only a function
reference and a string, which a persistent job store could serialise.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from clipbot.outbox.dispatcher import Dispatcher

logger = logging.getLogger(__name__)

JOB_ID = "clipbot-outbox-dispatch"

# Running dispatchers by owner name, for the job function to find.
_dispatchers: dict[str, Dispatcher] = {}


async def dispatch_due_messages(owner: str) -> None:
    """Send the due outbox messages through the running dispatcher named `owner`."""
    dispatcher = _dispatchers.get(owner)
    if dispatcher is None:
        logger.warning("Skipped an outbox run: no dispatcher named %s is running", owner)
        return
    try:
        await dispatcher.run_until_idle()
    except Exception:
        logger.exception(
            "Outbox dispatcher %s failed part way through a run. Its unsent messages are claimed again "
            "when their lease runs out",
            owner,
        )


def start_scheduler(dispatcher: Dispatcher, *, interval_seconds: float = 15) -> AsyncIOScheduler:
    """Start an AsyncIOScheduler on the running event loop that runs the dispatcher every `interval_seconds`.

    Runs never overlap (max_instances=1), and runs missed while the event loop was busy collapse
    into one (coalesce=True), which is skipped if it is more than one interval late. Stop it with
    `stop`.
    """
    if interval_seconds <= 0:
        raise ValueError(f"The outbox interval {interval_seconds} s is not valid. Give a positive number of seconds.")
    if dispatcher.owner in _dispatchers:
        raise ValueError(
            f"An outbox dispatcher named {dispatcher.owner!r} is already running. Give each dispatcher its own owner."
        )

    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        dispatch_due_messages,
        trigger=IntervalTrigger(seconds=interval_seconds, timezone=UTC),
        args=[dispatcher.owner],
        id=JOB_ID,
        name="Send due outbox messages",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=max(1, round(interval_seconds)),
        replace_existing=True,
    )
    _dispatchers[dispatcher.owner] = dispatcher
    scheduler.start()
    logger.info("Started outbox dispatcher %s, running every %s s", dispatcher.owner, interval_seconds)
    return scheduler


async def stop(scheduler: AsyncIOScheduler, *, timeout: float = 30.0) -> None:
    """Stop the scheduler after the dispatcher's current run ends, waiting at most `timeout` seconds.

    The run in progress finishes the message it is sending and gives the rest of its batch back. A
    run still going after `timeout` is cancelled, and its unsent messages are claimed again when
    their lease runs out.
    """
    job = scheduler.get_job(JOB_ID)
    owner = job.args[0] if job is not None else None
    scheduler.pause()

    dispatcher = _dispatchers.pop(owner, None) if owner is not None else None
    if dispatcher is not None:
        try:
            await asyncio.wait_for(dispatcher.close(), timeout)
        except TimeoutError:
            logger.warning(
                "Outbox dispatcher %s did not finish its run within %s s, so it is cancelled", owner, timeout
            )

    scheduler.shutdown(wait=False)
    # AsyncIOScheduler shuts down in a callback on the event loop, so let that callback run.
    await asyncio.sleep(0)
    logger.info("Stopped outbox dispatcher %s", owner)
