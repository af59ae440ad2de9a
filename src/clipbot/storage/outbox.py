"""The outbox: messages that clipbot sends on its own, stored until they are delivered or given up.

A message is enqueued as `pending` with a due time. `claim_due` hands due messages to one dispatcher
by setting them to `sending` with a lease: the dispatcher's owner name and a `lease_until` time.
The dispatcher then records each result with `mark_sent`, `mark_retry`, `mark_dropped` or
`mark_failed`. Each of these changes the row only while it is still `sending` under the caller's
owner name, and returns False otherwise. So a dispatcher whose lease ran out, and whose message
another dispatcher has claimed since, cannot overwrite the other's result. A message whose lease
has run out is claimed again, so a dispatcher that stops half way through a batch loses nothing.

`attempts` counts the claims of a message, including claims that ended in a crash. A retry that
was not a delivery attempt (a rate limit or a deferral) gives its claim back with
`mark_retry(..., count_attempt=False)`.

Idempotency keys are unique across every organisation, so build them from the organisation key,
the kind and what the message is about, for example "leeds:coach-post:W12:2026-09-07:E".

Nothing is committed here: the caller owns the transaction. Commit a claim before sending any of
the claimed messages, so that other dispatchers see them as taken.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Result, Row, Update, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from clipbot.storage.common import organisation_id
from clipbot.storage.models import CHAT_PLATFORMS, organisations, outbox

# Longer error texts are cut to this many characters before they are stored.
MAX_ERROR_LENGTH = 500


class OutboxState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DROPPED = "dropped"
    FAILED = "failed"


class RecipientKind(StrEnum):
    PERSON = "person"
    WARD = "ward"


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to enqueue.

    `recipient` is a person key for PERSON and a ward key for WARD. `platform` None leaves the
    choice of platform to the sender registered for it (see `clipbot.outbox.DEFAULT_SENDER`).
    `payload` is plain JSON, usually `clipbot.bot.serialise.reply_to_json(reply)`. A message still
    unsent at `not_after` is dropped instead of being sent late.
    """

    idempotency_key: str
    kind: str
    recipient_kind: RecipientKind
    recipient: str
    payload: Mapping[str, Any]
    due_at: datetime
    platform: str | None = None
    not_after: datetime | None = None


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """A message claimed for sending. `attempts` includes this claim, so the first claim has 1."""

    id: int
    organisation: str
    idempotency_key: str
    kind: str
    platform: str | None
    recipient_kind: RecipientKind
    recipient: str
    payload: dict[str, Any]
    due_at: datetime
    not_after: datetime | None
    attempts: int
    next_attempt_at: datetime
    lease_until: datetime


_CLAIMED_COLUMNS = (
    outbox.c.id,
    outbox.c.organisation_id,
    outbox.c.idempotency_key,
    outbox.c.kind,
    outbox.c.platform,
    outbox.c.recipient_kind,
    outbox.c.recipient,
    outbox.c.payload,
    outbox.c.due_at,
    outbox.c.not_after,
    outbox.c.attempts,
    outbox.c.next_attempt_at,
    outbox.c.lease_until,
)


def _check_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"The outbox time {name} ({value.isoformat()}) has no time zone. Give it one, for example "
            f"datetime.now(UTC)."
        )


def _check_text(value: str, name: str) -> None:
    if not value.strip():
        raise ValueError(f"The outbox message's {name} is empty. Give it a value.")


def _check_new_message(message: NewMessage) -> None:
    _check_text(message.idempotency_key, "idempotency key")
    _check_text(message.kind, "kind")
    _check_text(message.recipient, "recipient")
    if message.recipient_kind not in tuple(RecipientKind):
        raise ValueError(
            f"The outbox recipient kind {message.recipient_kind!r} is not valid. Use 'person' or 'ward'."
        )
    if message.platform is not None and message.platform not in CHAT_PLATFORMS:
        raise ValueError(f"Unknown chat platform {message.platform!r}. Use 'slack', 'teams' or None.")

    _check_aware(message.due_at, "due_at")
    if message.not_after is not None:
        _check_aware(message.not_after, "not_after")
        if message.not_after < message.due_at:
            raise ValueError(
                f"The outbox message {message.idempotency_key!r} has not_after {message.not_after.isoformat()} "
                f"before its due_at {message.due_at.isoformat()}. Set not_after at or after due_at."
            )

    if not isinstance(message.payload, Mapping):
        raise ValueError(
            f"The payload of outbox message {message.idempotency_key!r} is a {type(message.payload).__name__}. "
            f"Pass a dict, for example reply_to_json(reply)."
        )
    _check_json(message.idempotency_key, message.payload)


def _check_json(key: str, payload: Mapping[str, Any]) -> None:
    try:
        json.dumps(dict(payload), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"The payload of outbox message {key!r} cannot be stored as JSON ({error}). "
            f"Pass only dicts, lists, text, finite numbers, booleans and None."
        ) from None


def _insert(session: AsyncSession) -> postgresql.Insert | sqlite.Insert:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(outbox)
    if dialect == "sqlite":
        return sqlite.insert(outbox)
    raise ValueError(f"The database dialect {dialect!r} is not supported. Use PostgreSQL or SQLite.")


def _rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


def _error_text(error: str | None) -> str | None:
    return None if error is None else error[:MAX_ERROR_LENGTH]


async def enqueue(session: AsyncSession, organisation: str, message: NewMessage) -> bool:
    """Store a message to be sent at its due time, or return False if its idempotency key is stored already.

    A message with a stored key is left as it is, whatever its state, so enqueueing the same message
    twice sends it once. Raises ValueError for an invalid message and NotFoundError for an unknown
    organisation.
    """
    return await _store_message(session, organisation, message, OutboxState.PENDING)


async def record_sent(session: AsyncSession, organisation: str, message: NewMessage) -> bool:
    """Record a message that the caller sends itself, or return False if its idempotency key is stored already.

    The row is stored as sent, so the dispatcher never sends it. A caller that sends only when this
    returns True sends each key once, across replicas too.
    """
    return await _store_message(session, organisation, message, OutboxState.SENT)


async def _store_message(session: AsyncSession, organisation: str, message: NewMessage, state: OutboxState) -> bool:
    _check_new_message(message)
    org_id = await organisation_id(session, organisation)
    now = datetime.now(UTC)
    statement = (
        _insert(session)
        .values(
            organisation_id=org_id,
            idempotency_key=message.idempotency_key,
            kind=message.kind,
            platform=message.platform,
            recipient_kind=str(message.recipient_kind),
            recipient=message.recipient,
            payload=dict(message.payload),
            due_at=message.due_at,
            not_after=message.not_after,
            state=state.value,
            attempts=0,
            next_attempt_at=message.due_at,
            sent_at=now if state is OutboxState.SENT else None,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[outbox.c.idempotency_key])
    )
    return _rowcount(await session.execute(statement)) == 1


async def reschedule(session: AsyncSession, key: str, due_at: datetime) -> bool:
    """Move a pending message to a new due time, or return False if no pending message has this key.

    A message already being sent, sent, dropped or failed is left as it is. A new due time after
    the message's `not_after` makes the dispatcher drop it.
    """
    _check_aware(due_at, "due_at")
    statement = (
        update(outbox)
        .where(outbox.c.idempotency_key == key, outbox.c.state == OutboxState.PENDING.value)
        .values(due_at=due_at, next_attempt_at=due_at, updated_at=datetime.now(UTC))
    )
    return _rowcount(await session.execute(statement)) == 1


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """An outbox message as stored, for planners that compare what they plan with what is queued or sent."""

    idempotency_key: str
    kind: str
    state: OutboxState
    recipient: str
    payload: dict[str, Any]
    due_at: datetime
    not_after: datetime | None
    platform_message_id: str | None


_STORED_COLUMNS = (
    outbox.c.idempotency_key, outbox.c.kind, outbox.c.state, outbox.c.recipient, outbox.c.payload,
    outbox.c.due_at, outbox.c.not_after, outbox.c.platform_message_id,
)


def _stored(row: Row[Any]) -> StoredMessage:
    return StoredMessage(
        row.idempotency_key, row.kind, OutboxState(row.state), row.recipient, row.payload, row.due_at, row.not_after,
        row.platform_message_id,
    )


async def live_messages(
    session: AsyncSession, organisation: str, kinds: Collection[str], now: datetime
) -> list[StoredMessage]:
    """Return the organisation's messages of `kinds` whose `not_after` is later than `now`, by id.

    Messages without a `not_after` are left out, because they never go stale and so need no comparing.
    """
    _check_aware(now, "now")
    org_id = await organisation_id(session, organisation)
    query = (
        select(*_STORED_COLUMNS)
        .where(outbox.c.organisation_id == org_id, outbox.c.kind.in_(list(kinds)), outbox.c.not_after > now)
        .order_by(outbox.c.id)
    )
    return [_stored(row) for row in (await session.execute(query)).all()]


async def find_message(session: AsyncSession, key: str) -> StoredMessage | None:
    """Return the message with this idempotency key, or None."""
    row = (await session.execute(select(*_STORED_COLUMNS).where(outbox.c.idempotency_key == key))).first()
    return None if row is None else _stored(row)


async def drop_pending(session: AsyncSession, key: str, reason: str) -> bool:
    """Drop a message that is still waiting to be sent, or return False if no pending message has this key."""
    statement = (
        update(outbox)
        .where(outbox.c.idempotency_key == key, outbox.c.state == OutboxState.PENDING.value)
        .values(state=OutboxState.DROPPED.value, last_error=_error_text(reason), updated_at=datetime.now(UTC))
    )
    return _rowcount(await session.execute(statement)) == 1


async def replace_payload(session: AsyncSession, key: str, payload: Mapping[str, Any]) -> bool:
    """Give a pending message a new payload, or return False if no pending message has this key.

    A message that a dispatcher has claimed, or that is finished, keeps the payload it was sent with.
    """
    _check_json(key, payload)
    statement = (
        update(outbox)
        .where(outbox.c.idempotency_key == key, outbox.c.state == OutboxState.PENDING.value)
        .values(payload=dict(payload), updated_at=datetime.now(UTC))
    )
    return _rowcount(await session.execute(statement)) == 1


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(outbox.c.state == OutboxState.PENDING.value, outbox.c.next_attempt_at <= now),
        and_(outbox.c.state == OutboxState.SENDING.value, outbox.c.lease_until < now),
    )


async def claim_due(
    session: AsyncSession, *, owner: str, now: datetime, limit: int, lease: timedelta
) -> list[ClaimedMessage]:
    """Claim up to `limit` messages that are due, or whose lease has run out, for `owner` until `now + lease`.

    Returns them in the order they became due. On PostgreSQL the rows are locked with FOR UPDATE
    SKIP LOCKED, so dispatchers claiming at the same time get different messages. SQLite has no row
    locks, so there the update claims only rows that are still claimable, and a message that
    another connection claimed in between is left out. Commit before sending the messages.
    """
    _check_text(owner, "lease owner")
    _check_aware(now, "now")
    if limit < 1:
        raise ValueError(f"The claim limit {limit} is not valid. Claim at least 1 message.")
    if lease <= timedelta(0):
        raise ValueError(f"The lease {lease} is not valid. Give a positive duration, for example 2 minutes.")

    candidates = (
        select(outbox.c.id)
        .where(_claimable(now))
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list((await session.scalars(candidates)).all())
    if not ids:
        return []

    lease_until = now + lease
    claim = (
        update(outbox)
        .where(outbox.c.id.in_(ids), _claimable(now))
        .values(
            state=OutboxState.SENDING.value,
            lease_owner=owner,
            lease_until=lease_until,
            attempts=outbox.c.attempts + 1,
            updated_at=now,
        )
        .returning(*_CLAIMED_COLUMNS)
    )
    rows = (await session.execute(claim)).all()

    org_ids = {row.organisation_id for row in rows}
    key_query = select(organisations.c.id, organisations.c.key).where(organisations.c.id.in_(org_ids))
    keys = {row.id: row.key for row in (await session.execute(key_query)).all()}

    claimed = [
        ClaimedMessage(
            id=row.id,
            organisation=keys[row.organisation_id],
            idempotency_key=row.idempotency_key,
            kind=row.kind,
            platform=row.platform,
            recipient_kind=RecipientKind(row.recipient_kind),
            recipient=row.recipient,
            payload=row.payload,
            due_at=row.due_at,
            not_after=row.not_after,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            lease_until=row.lease_until,
        )
        for row in rows
    ]
    # RETURNING gives no order, so sort again.
    claimed.sort(key=lambda message: (message.next_attempt_at, message.id))
    return claimed


@functools.cache
def _result_statement(columns: tuple[str, ...], give_back_attempt: bool) -> Update:
    """Build the UPDATE that records a result in `columns` and ends the lease, once per set of columns.

    The statement takes its values as bound parameters ("new_<column>", "message_id_", "owner_"),
    so that the dispatcher does not build and compile a new statement for every message.
    """
    values: dict[str, Any] = {name: bindparam(f"new_{name}", type_=outbox.c[name].type) for name in columns}
    if give_back_attempt:
        values["attempts"] = outbox.c.attempts - 1
    return (
        update(outbox)
        .where(
            outbox.c.id == bindparam("message_id_"),
            outbox.c.state == OutboxState.SENDING.value,
            outbox.c.lease_owner == bindparam("owner_"),
        )
        .values(lease_owner=None, lease_until=None, **values)
    )


async def _finish_claim(
    session: AsyncSession, message_id: int, owner: str, values: dict[str, Any], *, give_back_attempt: bool = False
) -> bool:
    """Apply `values` and end the lease, if the message is still `sending` under `owner`."""
    statement = _result_statement(tuple(sorted(values)), give_back_attempt)
    parameters = {f"new_{name}": value for name, value in values.items()}
    parameters.update(message_id_=message_id, owner_=owner)
    return _rowcount(await session.execute(statement, parameters)) == 1


async def mark_sent(
    session: AsyncSession,
    message_id: int,
    owner: str,
    *,
    platform_message_id: str | None,
    now: datetime | None = None,
) -> bool:
    """Record that the message was delivered, or return False if `owner` no longer holds its lease.

    `platform_message_id` is the platform's id of the posted message (a Slack `ts`, a Teams
    activity id), kept so that the message can be updated later. `now` defaults to the system time.
    """
    now = now or datetime.now(UTC)
    values = {
        "state": OutboxState.SENT.value,
        "sent_at": now,
        "platform_message_id": platform_message_id,
        "updated_at": now,
    }
    return await _finish_claim(session, message_id, owner, values)


async def mark_retry(
    session: AsyncSession,
    message_id: int,
    owner: str,
    *,
    next_attempt_at: datetime,
    error: str | None,
    count_attempt: bool = True,
    now: datetime | None = None,
) -> bool:
    """Put the message back to pending until `next_attempt_at`, or return False if `owner` lost its lease.

    `error` describes why, without any message text, and replaces the stored one unless it is None.
    With `count_attempt` False the claim is not counted in `attempts`, for a message that was not
    handed to the platform, such as one deferred or held back by a rate limit.
    """
    _check_aware(next_attempt_at, "next_attempt_at")
    now = now or datetime.now(UTC)
    values: dict[str, Any] = {
        "state": OutboxState.PENDING.value,
        "next_attempt_at": next_attempt_at,
        "updated_at": now,
    }
    if error is not None:
        values["last_error"] = _error_text(error)
    return await _finish_claim(session, message_id, owner, values, give_back_attempt=not count_attempt)


async def mark_dropped(
    session: AsyncSession, message_id: int, owner: str, reason: str, *, now: datetime | None = None
) -> bool:
    """Record that the message will not be sent, such as a stale one, or return False if `owner` lost its lease."""
    now = now or datetime.now(UTC)
    values = {"state": OutboxState.DROPPED.value, "last_error": _error_text(reason), "updated_at": now}
    return await _finish_claim(session, message_id, owner, values)


async def mark_failed(
    session: AsyncSession, message_id: int, owner: str, reason: str, *, now: datetime | None = None
) -> bool:
    """Record that delivery was given up after an error, or return False if `owner` lost its lease."""
    now = now or datetime.now(UTC)
    values = {"state": OutboxState.FAILED.value, "last_error": _error_text(reason), "updated_at": now}
    return await _finish_claim(session, message_id, owner, values)


async def counts(session: AsyncSession) -> dict[str, int]:
    """Return the number of outbox messages in each state, across every organisation, with 0 for empty states."""
    query = select(outbox.c.state, func.count()).group_by(outbox.c.state)
    found = {state: count for state, count in (await session.execute(query)).all()}
    return {state.value: found.get(state.value, 0) for state in OutboxState}


# The states a message never leaves. The dispatcher records a message to an unreachable recipient as failed.
FINISHED_STATES = (OutboxState.SENT, OutboxState.DROPPED, OutboxState.FAILED)


async def delete_finished(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to `limit` finished messages whose `not_after`, or `updated_at` without one, is before `before`.

    Returns how many were deleted, so call it in a new transaction each time until it returns less
    than `limit`: each call then holds its row locks only briefly. Pending and sending messages are
    never deleted. On PostgreSQL the rows are locked with FOR UPDATE SKIP LOCKED, so two callers at
    once delete different rows instead of waiting for each other.
    """
    _check_aware(before, "before")
    if limit < 1:
        raise ValueError(f"The delete limit {limit} is not valid. Delete at least 1 message at a time.")

    finished = and_(
        outbox.c.state.in_([state.value for state in FINISHED_STATES]),
        func.coalesce(outbox.c.not_after, outbox.c.updated_at) < before,
    )
    candidates = select(outbox.c.id).where(finished).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    # The ids are read first, as in claim_due. Inside the DELETE, PostgreSQL 15 planned the locking
    # subquery as a nested loop that reran it for every row, each run skipping the rows deleted so
    # far, and so deleted every matching row whatever the limit.
    ids = list((await session.scalars(candidates)).all())
    if not ids:
        return 0
    return _rowcount(await session.execute(delete(outbox).where(outbox.c.id.in_(ids), finished)))
