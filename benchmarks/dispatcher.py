"""Time the outbox dispatcher: 20,000 due messages through `Dispatcher.run_once` with a no-op sender.

Run with `make bench` or `python benchmarks/dispatcher.py [--postgres-url URL]`. The script fills a
new SQLite file, and a new schema in the PostgreSQL database at `--postgres-url` when it is
reachable, with 20,000 due messages. Enqueueing is timed apart from sending. It then calls
`run_once` until no message is left and reports messages per second (wall time, time.perf_counter)
and CPU time per message (time.process_time, which counts every thread of this process, so
aiosqlite's too, but not the PostgreSQL server). The target is under 2 ms of CPU per message.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy
from sqlalchemy import text

from clipbot.clock import FixedClock
from clipbot.outbox import ClaimedMessage, Dispatcher, SendResult, Sent
from clipbot.storage import Database, default_database_url
from clipbot.storage.outbox import NewMessage, RecipientKind, counts, enqueue
from clipbot.storage.repository import ensure_organisation

MESSAGES = 20_000
BATCH_SIZE = 100
TARGET_CPU_MS = 2.0
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DUE_AT = datetime(2026, 9, 7, 6, 0, tzinfo=UTC)
PAYLOAD = {"version": 1, "text": "Coach group for the early shift", "sections": [], "buttons": [], "form": None}


class NoOpSender:
    async def send(self, message: ClaimedMessage) -> SendResult:
        return Sent(None)


@dataclass(frozen=True, slots=True)
class Result:
    database: str
    enqueue_seconds: float
    wall_seconds: float
    cpu_seconds: float
    sent: int

    @property
    def per_second(self) -> float:
        return self.sent / self.wall_seconds

    @property
    def cpu_ms_per_message(self) -> float:
        return self.cpu_seconds * 1000 / self.sent


async def fill(database: Database, messages: int) -> float:
    started = time.perf_counter()
    async with database.transaction() as session:
        await ensure_organisation(session, "bench", "Benchmark Trust")
        for index in range(messages):
            await enqueue(session, "bench", NewMessage(
                idempotency_key=f"bench:coach-post:{index:06d}",
                kind="coach-post",
                recipient_kind=RecipientKind.PERSON,
                recipient=f"S{index % 1200:04d}",
                payload=PAYLOAD,
                due_at=DUE_AT + timedelta(milliseconds=index),
                platform="slack",
            ))
    return time.perf_counter() - started


async def dispatch(database: Database, name: str, messages: int) -> Result:
    await database.upgrade()
    enqueue_seconds = await fill(database, messages)
    dispatcher = Dispatcher(
        database, {"slack": NoOpSender()}, FixedClock(DUE_AT + timedelta(hours=1)),
        owner="bench", batch_size=BATCH_SIZE,
    )

    wall_started, cpu_started = time.perf_counter(), time.process_time()
    while (await dispatcher.run_once()).claimed:
        pass
    wall, cpu = time.perf_counter() - wall_started, time.process_time() - cpu_started

    async with database.session() as session:
        sent = (await counts(session))["sent"]
    if sent != messages:
        raise SystemExit(f"Only {sent} of {messages} messages were sent on {name}, so the benchmark is invalid.")
    return Result(name, enqueue_seconds, wall, cpu, sent)


async def run_sqlite(messages: int) -> Result:
    with tempfile.TemporaryDirectory() as folder:
        database = Database(default_database_url(folder))
        try:
            return await dispatch(database, "SQLite", messages)
        finally:
            await database.dispose()


async def postgres_reachable(url: str) -> bool:
    probe = Database(url)
    try:
        async with probe.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True
    except (OSError, sqlalchemy.exc.DBAPIError):
        return False
    finally:
        await probe.dispose()


@asynccontextmanager
async def postgres_schema(url: str) -> AsyncIterator[Database]:
    """Yield a Database on a new schema of the PostgreSQL database at `url`, and drop the schema afterwards."""
    schema = f"clipbot_bench_{os.getpid()}_{secrets.token_hex(4)}"
    admin = Database(url)
    async with admin.engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = Database(url, schema=schema)
    try:
        yield database
    finally:
        await database.dispose()
        async with admin.engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def run_postgres(url: str, messages: int) -> Result:
    async with postgres_schema(url) as database:
        return await dispatch(database, "PostgreSQL", messages)


def report(results: list[Result], messages: int) -> None:
    print(f"Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, {os.cpu_count()} CPUs")
    print(f"{messages:,} messages, batches of {BATCH_SIZE}, no-op sender")
    print()
    print("| database | enqueue (s) | dispatch wall (s) | messages/s | CPU per message (ms) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for result in results:
        print(
            f"| {result.database} | {result.enqueue_seconds:.1f} | {result.wall_seconds:.1f} | "
            f"{result.per_second:,.0f} | {result.cpu_ms_per_message:.3f} |"
        )
    worst = max(result.cpu_ms_per_message for result in results)
    verdict = "met" if worst < TARGET_CPU_MS else "MISSED"
    print()
    print(f"Target {verdict}: at most {worst:.3f} ms of CPU per message against {TARGET_CPU_MS} ms.")


async def main(arguments: argparse.Namespace) -> int:
    results = [await run_sqlite(arguments.messages)]
    if await postgres_reachable(arguments.postgres_url):
        results.append(await run_postgres(arguments.postgres_url, arguments.messages))
    else:
        print(f"PostgreSQL is not reachable at {arguments.postgres_url}: measured SQLite only.", file=sys.stderr)
    report(results, arguments.messages)
    return 0


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres-url", default=os.environ.get("CLIPBOT_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="PostgreSQL database to create a temporary schema in (default: %(default)s)",
    )
    parser.add_argument(
        "--messages", type=int, default=MESSAGES, help="number of messages to send (default: %(default)s)"
    )
    return parser.parse_args()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    raise SystemExit(asyncio.run(main(parse_arguments())))
