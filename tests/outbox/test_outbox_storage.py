"""Outbox storage: idempotent enqueueing, claims in due order, leases and their expiry, results."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from outbox_fakes import ORGANISATION, PAYLOAD, T0, enqueue_all, message, stored
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from clipbot.storage import Database
from clipbot.storage.models import organisations
from clipbot.storage.outbox import MAX_ERROR_LENGTH, NewMessage
from clipbot.storage.repository import (
    NotFoundError,
    OutboxState,
    claim_due,
    counts,
    enqueue,
    ensure_organisation,
    mark_dropped,
    mark_failed,
    mark_retry,
    mark_sent,
    reschedule,
)

LEASE = timedelta(minutes=2)


async def claim(database: Database, owner: str, now: datetime, limit: int = 10) -> list[str]:
    async with database.transaction() as session:
        claimed = await claim_due(session, owner=owner, now=now, limit=limit, lease=LEASE)
    return [item.idempotency_key for item in claimed]


async def claim_one_id(database: Database, owner: str, now: datetime) -> int:
    async with database.transaction() as session:
        claimed = await claim_due(session, owner=owner, now=now, limit=1, lease=LEASE)
    assert len(claimed) == 1
    return claimed[0].id


async def test_enqueue_twice_stores_once(database: Database) -> None:
    async with database.transaction() as session:
        await ensure_organisation(session, ORGANISATION)
        first = await enqueue(session, ORGANISATION, message("leeds:nudge:S1:2026-W37"))
        second = await enqueue(
            session, ORGANISATION, message("leeds:nudge:S1:2026-W37", T0 + timedelta(hours=1), payload={"other": 1})
        )

    assert first is True
    assert second is False
    row = await stored(database, "leeds:nudge:S1:2026-W37")
    assert row.payload == PAYLOAD
    assert row.due_at == T0
    async with database.session() as session:
        assert (await counts(session))["pending"] == 1


async def test_enqueue_sets_pending_fields(database: Database) -> None:
    await enqueue_all(database, [message("a", not_after=T0 + timedelta(hours=2))])

    row = await stored(database, "a")
    assert row.state == "pending"
    assert row.attempts == 0
    assert row.next_attempt_at == T0
    assert row.not_after == T0 + timedelta(hours=2)
    assert row.recipient_kind == "person"
    assert row.lease_owner is None


async def test_enqueue_unknown_organisation_rejected(session: AsyncSession) -> None:
    with pytest.raises(NotFoundError, match="nowhere"):
        await enqueue(session, "nowhere", message("a"))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"idempotency_key": " "}, "idempotency key is empty"),
        ({"kind": ""}, "kind is empty"),
        ({"recipient": ""}, "recipient is empty"),
        ({"recipient_kind": "team"}, "recipient kind 'team' is not valid"),
        ({"platform": "email"}, "Unknown chat platform 'email'"),
        ({"due_at": datetime(2026, 9, 7, 6, 0)}, "has no time zone"),
        ({"not_after": T0 - timedelta(minutes=1)}, "before its due_at"),
        ({"payload": {"when": T0}}, "cannot be stored as JSON"),
        ({"payload": {"ratio": float("nan")}}, "cannot be stored as JSON"),
        ({"payload": ["text"]}, "Pass a dict"),
    ],
)
async def test_enqueue_invalid_message_rejected(
    session: AsyncSession, changes: dict[str, object], expected: str
) -> None:
    await ensure_organisation(session, ORGANISATION)
    fields = {
        "idempotency_key": "a", "kind": "coach-post", "recipient_kind": "person", "recipient": "S1",
        "payload": PAYLOAD, "due_at": T0, "platform": "slack", "not_after": None,
    }
    fields.update(changes)
    invalid = NewMessage(**fields)  # type: ignore[arg-type]

    with pytest.raises(ValueError, match=expected):
        await enqueue(session, ORGANISATION, invalid)


async def test_claim_in_due_order(database: Database) -> None:
    await enqueue_all(database, [
        message("late", T0 + timedelta(minutes=5)),
        message("first", T0 - timedelta(hours=1)),
        message("future", T0 + timedelta(hours=1)),
        message("middle", T0),
    ])

    claimed = await claim(database, "replica-a", T0 + timedelta(minutes=5))

    assert claimed == ["first", "middle", "late"]


async def test_claim_respects_limit(database: Database) -> None:
    await enqueue_all(database, [message(f"m{index}", T0 + timedelta(seconds=index)) for index in range(5)])

    first = await claim(database, "replica-a", T0 + timedelta(minutes=1), limit=2)
    second = await claim(database, "replica-a", T0 + timedelta(minutes=1), limit=2)

    assert first == ["m0", "m1"]
    assert second == ["m2", "m3"]


async def test_claim_sets_lease(database: Database) -> None:
    await enqueue_all(database, [message("a")])

    await claim(database, "replica-a", T0)

    row = await stored(database, "a")
    assert row.state == "sending"
    assert row.lease_owner == "replica-a"
    assert row.lease_until == T0 + LEASE
    assert row.attempts == 1


async def test_claim_skips_leased_message(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    await claim(database, "replica-a", T0)

    assert await claim(database, "replica-b", T0 + LEASE) == []


async def test_lease_expiry_reclaim(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    message_id = await claim_one_id(database, "replica-a", T0)

    taken_over = await claim(database, "replica-b", T0 + LEASE + timedelta(seconds=1))
    async with database.transaction() as session:
        late_result = await mark_sent(session, message_id, "replica-a", platform_message_id="ts-a")
        new_result = await mark_sent(session, message_id, "replica-b", platform_message_id="ts-b")

    assert taken_over == ["a"]
    assert late_result is False
    assert new_result is True
    row = await stored(database, "a")
    assert row.platform_message_id == "ts-b"
    assert row.attempts == 2


async def test_expired_lease_still_records_result(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    message_id = await claim_one_id(database, "replica-a", T0)

    async with database.transaction() as session:
        recorded = await mark_sent(
            session, message_id, "replica-a", platform_message_id="ts-a", now=T0 + LEASE + timedelta(minutes=5)
        )

    assert recorded is True
    assert (await stored(database, "a")).sent_at == T0 + LEASE + timedelta(minutes=5)


async def test_mark_sent_records_delivery(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    message_id = await claim_one_id(database, "replica-a", T0)

    async with database.transaction() as session:
        await mark_sent(session, message_id, "replica-a", platform_message_id="1726000000.000100", now=T0)

    row = await stored(database, "a")
    assert row.state == "sent"
    assert row.sent_at == T0
    assert row.platform_message_id == "1726000000.000100"
    assert row.lease_owner is None
    assert row.lease_until is None


async def test_mark_retry_returns_to_pending(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    message_id = await claim_one_id(database, "replica-a", T0)

    async with database.transaction() as session:
        await mark_retry(session, message_id, "replica-a", next_attempt_at=T0 + timedelta(minutes=1), error="timed out")

    row = await stored(database, "a")
    assert row.state == "pending"
    assert row.next_attempt_at == T0 + timedelta(minutes=1)
    assert row.last_error == "timed out"
    assert row.attempts == 1
    assert await claim(database, "replica-a", T0 + timedelta(seconds=59)) == []
    assert await claim(database, "replica-a", T0 + timedelta(minutes=1)) == ["a"]


async def test_uncounted_retry_returns_attempt(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    message_id = await claim_one_id(database, "replica-a", T0)

    async with database.transaction() as session:
        await mark_retry(
            session, message_id, "replica-a", next_attempt_at=T0, error="rate limited", count_attempt=False
        )

    assert (await stored(database, "a")).attempts == 0


async def test_mark_retry_keeps_error_when_none(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    message_id = await claim_one_id(database, "replica-a", T0)
    async with database.transaction() as session:
        await mark_retry(session, message_id, "replica-a", next_attempt_at=T0, error="timed out")
    second_id = await claim_one_id(database, "replica-a", T0)

    async with database.transaction() as session:
        await mark_retry(session, second_id, "replica-a", next_attempt_at=T0, error=None, count_attempt=False)

    assert (await stored(database, "a")).last_error == "timed out"


async def test_mark_dropped_and_failed(database: Database) -> None:
    await enqueue_all(database, [message("stale"), message("broken", T0 + timedelta(seconds=1))])
    stale_id = await claim_one_id(database, "replica-a", T0 + timedelta(seconds=1))
    broken_id = await claim_one_id(database, "replica-a", T0 + timedelta(seconds=1))

    async with database.transaction() as session:
        await mark_dropped(session, stale_id, "replica-a", "the shift has ended")
        await mark_failed(session, broken_id, "replica-a", "x" * (MAX_ERROR_LENGTH + 100))

    stale = await stored(database, "stale")
    broken = await stored(database, "broken")
    assert stale.state == "dropped"
    assert stale.last_error == "the shift has ended"
    assert broken.state == "failed"
    assert len(broken.last_error) == MAX_ERROR_LENGTH


async def test_mark_from_other_owner_ignored(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    message_id = await claim_one_id(database, "replica-a", T0)

    async with database.transaction() as session:
        results = [
            await mark_sent(session, message_id, "replica-b", platform_message_id=None),
            await mark_retry(session, message_id, "replica-b", next_attempt_at=T0, error="x"),
            await mark_dropped(session, message_id, "replica-b", "x"),
            await mark_failed(session, message_id, "replica-b", "x"),
        ]

    assert results == [False, False, False, False]
    assert (await stored(database, "a")).state == "sending"


async def test_mark_after_result_ignored(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    message_id = await claim_one_id(database, "replica-a", T0)
    async with database.transaction() as session:
        await mark_sent(session, message_id, "replica-a", platform_message_id="ts-a")

    async with database.transaction() as session:
        again = await mark_failed(session, message_id, "replica-a", "late error")

    assert again is False
    assert (await stored(database, "a")).state == "sent"


async def test_reschedule_pending_message(database: Database) -> None:
    await enqueue_all(database, [message("a")])

    async with database.transaction() as session:
        moved = await reschedule(session, "a", T0 + timedelta(hours=2))

    assert moved is True
    assert await claim(database, "replica-a", T0 + timedelta(hours=1)) == []
    assert await claim(database, "replica-a", T0 + timedelta(hours=2)) == ["a"]


async def test_reschedule_claimed_or_unknown_ignored(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    await claim(database, "replica-a", T0)

    async with database.transaction() as session:
        claimed = await reschedule(session, "a", T0 + timedelta(hours=2))
        unknown = await reschedule(session, "missing", T0 + timedelta(hours=2))

    assert claimed is False
    assert unknown is False


async def test_reschedule_naive_time_rejected(session: AsyncSession) -> None:
    with pytest.raises(ValueError, match="no time zone"):
        await reschedule(session, "a", datetime(2026, 9, 7, 8, 0))


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"owner": " "}, "lease owner is empty"),
        ({"limit": 0}, "claim limit 0"),
        ({"lease": timedelta(0)}, "lease 0:00:00 is not valid"),
        ({"now": datetime(2026, 9, 7, 6, 0)}, "no time zone"),
    ],
)
async def test_claim_invalid_arguments_rejected(
    session: AsyncSession, arguments: dict[str, object], expected: str
) -> None:
    claim_arguments: dict[str, object] = {"owner": "replica-a", "now": T0, "limit": 10, "lease": LEASE}
    claim_arguments.update(arguments)

    with pytest.raises(ValueError, match=expected):
        await claim_due(session, **claim_arguments)  # type: ignore[arg-type]


async def test_counts_every_state(database: Database) -> None:
    await enqueue_all(database, [message("a"), message("b"), message("c", T0 + timedelta(days=1))])
    sent_id = await claim_one_id(database, "replica-a", T0)
    await claim(database, "replica-a", T0)
    async with database.transaction() as session:
        await mark_sent(session, sent_id, "replica-a", platform_message_id=None)

    async with database.session() as session:
        found = await counts(session)

    assert found == {"pending": 1, "sending": 1, "sent": 1, "dropped": 0, "failed": 0}
    assert set(found) == {state.value for state in OutboxState}


async def test_organisation_deletion_removes_messages(database: Database) -> None:
    await enqueue_all(database, [message("a")])

    async with database.transaction() as session:
        await session.execute(delete(organisations).where(organisations.c.key == ORGANISATION))

    async with database.session() as session:
        assert sum((await counts(session)).values()) == 0
