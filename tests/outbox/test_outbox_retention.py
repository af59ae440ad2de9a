"""Deleting finished outbox messages after their retention period, in batches."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from outbox_fakes import T0, enqueue_all, message
from sqlalchemy import select

from clipbot.storage import Database
from clipbot.storage.models import outbox
from clipbot.storage.outbox import (
    FINISHED_STATES,
    OutboxState,
    claim_due,
    delete_finished,
    mark_dropped,
    mark_failed,
    mark_sent,
)

NOW = T0 + timedelta(days=60)
CUTOFF = NOW - timedelta(days=30)
EXPIRED = T0 + timedelta(hours=1)
LEASE = timedelta(minutes=2)
OWNER = "replica-1"


async def finish_all(database: Database, outcomes: dict[str, tuple[OutboxState | None, datetime]]) -> None:
    """Claim every due message, then record each key's outcome at its time; None leaves it sending."""
    async with database.transaction() as session:
        claimed = await claim_due(session, owner=OWNER, now=T0, limit=100, lease=LEASE)
    ids = {item.idempotency_key: item.id for item in claimed}
    async with database.transaction() as session:
        for key, (state, at) in outcomes.items():
            if state is OutboxState.SENT:
                assert await mark_sent(session, ids[key], OWNER, platform_message_id="ts", now=at)
            elif state is OutboxState.DROPPED:
                assert await mark_dropped(session, ids[key], OWNER, "stale", now=at)
            elif state is OutboxState.FAILED:
                assert await mark_failed(session, ids[key], OWNER, "recipient unreachable", now=at)


async def remaining_keys(database: Database) -> set[str]:
    async with database.session() as session:
        return set((await session.scalars(select(outbox.c.idempotency_key))).all())


async def delete_all(database: Database, limit: int) -> list[int]:
    """Delete in batches of `limit`, one transaction each, until a batch is not full; return each batch's count."""
    counts: list[int] = []
    while not counts or counts[-1] == limit:
        async with database.transaction() as session:
            counts.append(await delete_finished(session, before=CUTOFF, limit=limit))
    return counts


@pytest.fixture
async def mixed(database: Database) -> Database:
    """Messages in every state, expired long ago or recently, with and without a not_after."""
    await enqueue_all(database, [
        message("sent-old", not_after=EXPIRED),
        message("dropped-old", not_after=EXPIRED),
        message("failed-old", not_after=EXPIRED),
        message("sent-old-changed-lately", not_after=EXPIRED),
        message("sent-recent", not_after=NOW - timedelta(days=10)),
        message("sent-no-expiry-old"),
        message("sent-no-expiry-recent"),
        message("sending-old", not_after=EXPIRED),
    ])
    await finish_all(database, {
        "sent-old": (OutboxState.SENT, T0),
        "dropped-old": (OutboxState.DROPPED, EXPIRED),
        "failed-old": (OutboxState.FAILED, T0),
        "sent-old-changed-lately": (OutboxState.SENT, NOW - timedelta(days=1)),
        "sent-recent": (OutboxState.SENT, T0),
        "sent-no-expiry-old": (OutboxState.SENT, T0),
        "sent-no-expiry-recent": (OutboxState.SENT, NOW - timedelta(days=1)),
        "sending-old": (None, T0),
    })
    # Enqueued after the claim, so it stays pending although it expired long ago.
    await enqueue_all(database, [message("pending-old", not_after=EXPIRED)])
    return database


async def test_old_finished_rows_deleted(mixed: Database) -> None:
    async with mixed.transaction() as session:
        deleted = await delete_finished(session, before=CUTOFF, limit=100)

    assert deleted == 5
    remaining = await remaining_keys(mixed)
    for key in ("sent-old", "dropped-old", "failed-old", "sent-old-changed-lately", "sent-no-expiry-old"):
        assert key not in remaining


async def test_pending_and_sending_rows_kept(mixed: Database) -> None:
    async with mixed.transaction() as session:
        await delete_finished(session, before=CUTOFF, limit=100)

    remaining = await remaining_keys(mixed)
    assert "pending-old" in remaining
    assert "sending-old" in remaining


async def test_recent_rows_kept(mixed: Database) -> None:
    async with mixed.transaction() as session:
        await delete_finished(session, before=CUTOFF, limit=100)

    remaining = await remaining_keys(mixed)
    assert "sent-recent" in remaining
    assert "sent-no-expiry-recent" in remaining


async def test_delete_in_batches(database: Database) -> None:
    keys = [f"sent-{number}" for number in range(5)]
    await enqueue_all(database, [message(key, not_after=EXPIRED) for key in keys])
    await finish_all(database, {key: (OutboxState.SENT, T0) for key in keys})

    assert await delete_all(database, limit=2) == [2, 2, 1]
    assert await remaining_keys(database) == set()


async def test_nothing_to_delete_returns_zero(database: Database) -> None:
    await enqueue_all(database, [message("pending-old", not_after=EXPIRED)])

    assert await delete_all(database, limit=10) == [0]
    assert await remaining_keys(database) == {"pending-old"}


async def test_two_deleters_at_once_delete_each_row_once(database: Database) -> None:
    keys = [f"sent-{number}" for number in range(40)]
    await enqueue_all(database, [message(key, not_after=EXPIRED) for key in keys])
    await finish_all(database, {key: (OutboxState.SENT, T0) for key in keys})
    ready = asyncio.Barrier(2)

    async def deleter() -> int:
        await ready.wait()
        return sum(await delete_all(database, limit=5))

    first, second = await asyncio.gather(deleter(), deleter())

    assert first + second == 40
    assert await remaining_keys(database) == set()


async def test_delete_rejects_naive_time(database: Database) -> None:
    async with database.session() as session:
        with pytest.raises(ValueError, match=r"before \(2026-10-08T00:00:00\) has no time zone"):
            await delete_finished(session, before=datetime(2026, 10, 8), limit=10)


async def test_delete_rejects_zero_limit(database: Database) -> None:
    async with database.session() as session:
        with pytest.raises(ValueError, match="The delete limit 0 is not valid"):
            await delete_finished(session, before=CUTOFF, limit=0)


def test_every_state_is_finished_or_in_progress():
    # A new state must be classified here before old rows in it can be deleted, or kept.
    assert set(FINISHED_STATES) | {OutboxState.PENDING, OutboxState.SENDING} == set(OutboxState)
    assert OutboxState.PENDING not in FINISHED_STATES
    assert OutboxState.SENDING not in FINISHED_STATES
