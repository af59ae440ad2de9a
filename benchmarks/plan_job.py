"""Benchmark: the 15-minute planning job at trust scale, as `clipbot serve` runs it.

The script imports the trust of benchmarks/trust_scale.py (60 wards, 1,200 students) into a
database, with its confirmed mentors and one clinical educator per ward. It then runs
`WorkflowService.enqueue_plan` with the job's one-day horizon three times, first on a temporary
SQLite file and then on a temporary schema of the PostgreSQL database at `--postgres-url` when it is
reachable. The first run enqueues the day's messages and the others find them stored, as every
later run of the job does. For each run it reports the wall time and the longest stall of the event
loop, measured by a task that sleeps 5 ms at a time. A long stall delays everything else the
server does, such as acknowledging Slack requests within 3 seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, time as clock_time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).parent))

from dispatcher import DEFAULT_POSTGRES_URL, postgres_reachable, postgres_schema  # noqa: E402
from plan_week import confirmed_assignments  # noqa: E402
from trust_scale import generate_trust, run_matching  # noqa: E402

from clipbot.clock import FixedClock  # noqa: E402
from clipbot.service import WardService  # noqa: E402
from clipbot.storage import repository  # noqa: E402
from clipbot.storage.database import Database  # noqa: E402
from clipbot.workflows.service import WorkflowService  # noqa: E402

ORGANISATION = "bench-trust"
TICK_SECONDS = 0.005


async def watch_loop(stalls: list[float], stop: asyncio.Event) -> None:
    """Record how late each 5 ms wake-up comes, in seconds, until `stop` is set."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        requested = loop.time()
        await asyncio.sleep(TICK_SECONDS)
        stalls.append(loop.time() - requested - TICK_SECONDS)


async def timed_run(workflows: WorkflowService) -> tuple[float, float, int]:
    """Run the job's planning once, and return its wall time, the longest loop stall and the messages added."""
    stalls: list[float] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_loop(stalls, stop))
    started = time.perf_counter()
    added = await workflows.enqueue_plan()
    elapsed = time.perf_counter() - started
    stop.set()
    await watcher
    return elapsed, max(stalls, default=0.0), added


async def run(database: Database, seed: int) -> None:
    wards = generate_trust(seed)
    assignments = confirmed_assignments(wards, run_matching(wards))
    rosters = [ward.roster for ward in wards]
    first_day = min(shift.day for roster in rosters for shift in roster.shifts.values())
    monday = first_day - timedelta(days=first_day.weekday()) + timedelta(days=14)
    clock = FixedClock(datetime.combine(monday, clock_time(6, 0), tzinfo=ZoneInfo("Europe/London")))

    await database.upgrade()
    service = WardService(database, clock, ORGANISATION)
    for roster in rosters:
        await service.import_roster(roster)
    async with database.transaction() as session:
        for assignment in assignments:
            await repository.add_assignment(session, ORGANISATION, assignment)

    workflows = WorkflowService(database, clock, ORGANISATION)
    print(f"{database.engine.dialect.name}: trust of {len(rosters)} wards, planning from {clock.now():%a %d %b %Y %H:%M}")
    for number in range(1, 4):
        elapsed, stall, added = await timed_run(workflows)
        print(f"  run {number}: {elapsed:.2f} s, {added} messages added, longest event loop stall {stall * 1000:.0f} ms")


async def run_all(postgres_url: str, seed: int) -> None:
    print(f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="clipbot-plan-job-") as folder:
        database = Database(f"sqlite+aiosqlite:///{folder}/bench.db")
        try:
            await run(database, seed)
        finally:
            await database.dispose()
    if not await postgres_reachable(postgres_url):
        print(f"PostgreSQL is not reachable at {postgres_url}: measured SQLite only.", file=sys.stderr)
        return
    async with postgres_schema(postgres_url) as database:
        await run(database, seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres-url", default=os.environ.get("CLIPBOT_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="PostgreSQL database to create a temporary schema in (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=20260907, help="seed of the generated trust (default: %(default)s)")
    args = parser.parse_args(argv)
    asyncio.run(run_all(args.postgres_url, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
