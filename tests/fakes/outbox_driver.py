"""Driving the outbox end to end in platform tests: enqueue messages, then dispatch until none is due."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import Row, select

from clipbot.bot.events import Reply
from clipbot.bot.serialise import reply_to_json
from clipbot.clock import FixedClock
from clipbot.outbox import Dispatcher
from clipbot.storage.database import Database
from clipbot.storage.models import outbox
from clipbot.storage.outbox import NewMessage, OutboxState, RecipientKind, enqueue
from clipbot.workflows.planner import COACH_UPDATE, UPDATES_KEY, VERSION_FACT, WORKFLOW_KEY


class FakeSleep:
    """An injected sleep that records each wait and moves the clock on by it at once."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.moment += timedelta(seconds=seconds)


class OutboxDriver:
    """Shared steps of the Slack and Teams outbox tests; subclasses provide these attributes."""

    organisation: str
    database: Database
    clock: FixedClock
    dispatcher: Dispatcher
    keys: list[str]

    async def enqueue(
        self, name: str, recipient: str, reply: Reply, *, kind: str = "pt-offer", ward: bool = False,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        key = f"{self.organisation}:{kind}:{name}"
        message = NewMessage(
            idempotency_key=key, kind=kind, recipient_kind=RecipientKind.WARD if ward else RecipientKind.PERSON,
            recipient=recipient, payload={**reply_to_json(reply), **(extra or {})}, due_at=self.clock.now(),
        )
        async with self.database.transaction() as session:
            await enqueue(session, self.organisation, message)
        self.keys.append(key)
        return key

    async def enqueue_coach_update(self, post_key: str, text: str) -> str:
        """Enqueue the first change of the ward post stored under `post_key`, as the planner would."""
        extra = {UPDATES_KEY: post_key, WORKFLOW_KEY: {VERSION_FACT: "2"}}
        name = post_key.removeprefix(f"{self.organisation}:") + ":update:2"
        return await self.enqueue(name, "6-west", Reply(text), kind=COACH_UPDATE, ward=True, extra=extra)

    async def deliver(self, *, max_rounds: int = 10) -> None:
        """Run the dispatcher until no message is pending, moving the clock to each next retry in between."""
        for _ in range(max_rounds):
            await self.dispatcher.run_until_idle()
            pending = [row for row in (await self.rows()).values() if row.state == OutboxState.PENDING]
            if not pending:
                return
            self.clock.moment = max(self.clock.now(), min(row.next_attempt_at for row in pending))
        raise AssertionError(f"Messages still pending after {max_rounds} dispatcher rounds.")

    async def rows(self) -> dict[str, Row[Any]]:
        async with self.database.session() as session:
            found = await session.execute(select(outbox).where(outbox.c.idempotency_key.in_(self.keys)))
        return {row.idempotency_key: row for row in found}
