"""The APScheduler job for the dispatcher: its trigger and options, and the job function itself.

No test waits for the scheduler to fire: the interval is long, and the job function is called directly.
"""

from __future__ import annotations

import pickle
from collections.abc import AsyncIterator
from datetime import UTC, timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from outbox_fakes import T0, FakePlatform, enqueue_all, message, stored

from clipbot.clock import FixedClock
from clipbot.outbox import Dispatcher, dispatch_due_messages, start_scheduler, stop
from clipbot.outbox.scheduler import JOB_ID
from clipbot.storage import Database


@pytest.fixture
async def running(database: Database) -> AsyncIterator[tuple[AsyncIOScheduler, Dispatcher, FakePlatform]]:
    clock = FixedClock(T0)
    platform = FakePlatform(clock)
    dispatcher = Dispatcher(database, {"slack": platform}, clock, owner="replica-a")
    scheduler = start_scheduler(dispatcher, interval_seconds=600)
    yield scheduler, dispatcher, platform
    if scheduler.running:
        await stop(scheduler)


async def test_job_trigger_and_options(running: tuple[AsyncIOScheduler, Dispatcher, FakePlatform]) -> None:
    scheduler, _, _ = running

    job = scheduler.get_job(JOB_ID)

    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval == timedelta(seconds=600)
    assert job.trigger.timezone == UTC
    assert job.func is dispatch_due_messages
    assert job.args == ("replica-a",)
    assert job.coalesce is True
    assert job.max_instances == 1
    assert job.misfire_grace_time == 600


async def test_scheduler_runs_in_utc(running: tuple[AsyncIOScheduler, Dispatcher, FakePlatform]) -> None:
    scheduler, _, _ = running

    assert scheduler.timezone == UTC


async def test_job_can_be_serialised(running: tuple[AsyncIOScheduler, Dispatcher, FakePlatform]) -> None:
    scheduler, _, _ = running

    restored = pickle.loads(pickle.dumps(scheduler.get_job(JOB_ID).__getstate__()))

    assert restored["func"] == "clipbot.outbox.scheduler:dispatch_due_messages"
    assert restored["args"] == ("replica-a",)


async def test_job_function_sends_due_messages(
    database: Database, running: tuple[AsyncIOScheduler, Dispatcher, FakePlatform]
) -> None:
    _, _, platform = running
    await enqueue_all(database, [message("a")])

    await dispatch_due_messages("replica-a")

    assert platform.delivered["a"] == 1
    assert (await stored(database, "a")).state == "sent"


async def test_job_without_dispatcher_skipped(database: Database) -> None:
    await enqueue_all(database, [message("a")])

    await dispatch_due_messages("replica-gone")

    assert (await stored(database, "a")).state == "pending"


async def test_stop_closes_dispatcher(
    database: Database, running: tuple[AsyncIOScheduler, Dispatcher, FakePlatform]
) -> None:
    scheduler, dispatcher, _ = running
    await enqueue_all(database, [message("a")])

    await stop(scheduler)

    assert scheduler.running is False
    assert (await dispatcher.run_once()).claimed == 0
    assert (await stored(database, "a")).state == "pending"


async def test_same_owner_twice_rejected(
    database: Database, running: tuple[AsyncIOScheduler, Dispatcher, FakePlatform]
) -> None:
    clock = FixedClock(T0)
    twin = Dispatcher(database, {}, clock, owner="replica-a")

    with pytest.raises(ValueError, match="already running"):
        start_scheduler(twin)


async def test_invalid_interval_rejected(database: Database) -> None:
    dispatcher = Dispatcher(database, {}, FixedClock(T0), owner="replica-z")

    with pytest.raises(ValueError, match="interval 0 s is not valid"):
        start_scheduler(dispatcher, interval_seconds=0)
