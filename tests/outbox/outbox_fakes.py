"""A fake chat platform, a fake sleep and message builders for the outbox tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, select

from clipbot.clock import FixedClock
from clipbot.outbox import ClaimedMessage, RetryAfter, SendResult, Sent
from clipbot.storage import Database
from clipbot.storage.models import outbox
from clipbot.storage.outbox import NewMessage, RecipientKind, enqueue
from clipbot.storage.repository import ensure_organisation

ORGANISATION = "leeds"
# Monday 7 September 2026, 06:00 UTC: before the early shift's coach post.
T0 = datetime(2026, 9, 7, 6, 0, tzinfo=UTC)
PAYLOAD = {"version": 1, "text": "Coach group for today", "sections": [], "buttons": [], "form": None}

Responder = Callable[[ClaimedMessage, int], SendResult]


def always_sent(message: ClaimedMessage, call: int) -> SendResult:
    return Sent(f"ts-{message.idempotency_key}")


class FakePlatform:
    """A Sender that records every message handed to it and returns what `respond` returns.

    `respond(message, call)` gets the number of this call for the message, starting at 1. The
    platform also records every send made while a rate limit it announced was running.
    """

    def __init__(self, clock: FixedClock, respond: Responder = always_sent) -> None:
        self.clock = clock
        self.respond = respond
        self.calls: Counter[str] = Counter()
        self.delivered: Counter[str] = Counter()
        self.received: list[ClaimedMessage] = []
        self.limited_until: datetime | None = None
        self.sends_during_limit: list[str] = []

    async def send(self, message: ClaimedMessage) -> SendResult:
        key = message.idempotency_key
        self.calls[key] += 1
        self.received.append(message)
        if self.limited_until is not None and self.clock.now() < self.limited_until:
            self.sends_during_limit.append(key)

        result = self.respond(message, self.calls[key])
        if isinstance(result, RetryAfter) and result.seconds > 0:
            self.limited_until = self.clock.now() + timedelta(seconds=result.seconds)
        if isinstance(result, Sent):
            self.delivered[key] += 1
        return result


class FakeSleep:
    """An injected sleep that moves the clock on instead of waiting."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.moment += timedelta(seconds=seconds)


def message(
    key: str,
    due_at: datetime = T0,
    *,
    platform: str | None = "slack",
    not_after: datetime | None = None,
    payload: dict[str, Any] | None = None,
) -> NewMessage:
    return NewMessage(
        idempotency_key=key,
        kind="coach-post",
        recipient_kind=RecipientKind.PERSON,
        recipient="S1",
        payload=PAYLOAD if payload is None else payload,
        due_at=due_at,
        platform=platform,
        not_after=not_after,
    )


async def enqueue_all(database: Database, messages: Sequence[NewMessage]) -> None:
    async with database.transaction() as session:
        await ensure_organisation(session, ORGANISATION, "Leeds Teaching Hospitals")
        for item in messages:
            await enqueue(session, ORGANISATION, item)


async def stored(database: Database, key: str) -> Row[Any]:
    async with database.session() as session:
        return (await session.execute(select(outbox).where(outbox.c.idempotency_key == key))).one()
