"""Two dispatchers with their own connection pools sharing one PostgreSQL outbox.

PostgreSQL only: SQLite serves one process, so these tests are skipped in the SQLite run.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from outbox_fakes import ORGANISATION, T0, message
from sqlalchemy import text

from clipbot.clock import FixedClock
from clipbot.outbox import ClaimedMessage, Dispatcher, SendResult, Sent
from clipbot.storage import Database
from clipbot.storage.outbox import enqueue
from clipbot.storage.repository import counts, ensure_organisation

MESSAGES = 10_000


class SharedPlatform:
    """A Sender used by both dispatchers, counting what each key received and from which dispatcher."""

    def __init__(self, owner: str, seen: Counter[str], by_owner: Counter[str]) -> None:
        self.owner = owner
        self.seen = seen
        self.by_owner = by_owner

    async def send(self, message: ClaimedMessage) -> SendResult:
        # Give the other dispatcher's task a turn, as a network call would.
        await asyncio.sleep(0)
        self.seen[message.idempotency_key] += 1
        self.by_owner[self.owner] += 1
        return Sent(f"ts-{message.id}")


@pytest.fixture
async def second_pool(database: Database) -> AsyncIterator[Database]:
    """A second Database object (so a second connection pool) on the same PostgreSQL schema."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: set CLIPBOT_TEST_DATABASE_URL")
    async with database.engine.connect() as connection:
        schema = (await connection.execute(text("SELECT current_schema()"))).scalar_one()
    other = Database(database.url.render_as_string(hide_password=False), schema=schema)
    yield other
    await other.dispose()


async def drain(dispatcher: Dispatcher) -> None:
    while (await dispatcher.run_once()).claimed:
        pass


async def test_two_dispatchers_send_each_once(database: Database, second_pool: Database) -> None:
    keys = [f"{ORGANISATION}:nudge:{index:05d}" for index in range(MESSAGES)]
    async with database.transaction() as session:
        await ensure_organisation(session, ORGANISATION)
        for index, key in enumerate(keys):
            await enqueue(session, ORGANISATION, message(key, T0 + timedelta(milliseconds=index)))
    clock = FixedClock(T0 + timedelta(hours=1))
    seen: Counter[str] = Counter()
    by_owner: Counter[str] = Counter()
    replica_a = Dispatcher(database, {"slack": SharedPlatform("a", seen, by_owner)}, clock, owner="replica-a")
    replica_b = Dispatcher(second_pool, {"slack": SharedPlatform("b", seen, by_owner)}, clock, owner="replica-b")

    await asyncio.gather(drain(replica_a), drain(replica_b))

    async with database.session() as session:
        found = await counts(session)
    assert found == {"pending": 0, "sending": 0, "sent": MESSAGES, "dropped": 0, "failed": 0}
    assert set(seen) == set(keys)
    assert max(seen.values()) == 1
    assert by_owner["a"] > 0
    assert by_owner["b"] > 0
