"""The dispatcher: claims due outbox messages and hands each one to the sender of its platform.

Crash window. `run_once` commits its claim on a batch before it sends anything, then sends the
messages one at a time and records each result in its own short transaction straight after that
send returns. If the process dies, or the database stops responding, the rest of the batch stays
claimed until the lease runs out, and then any dispatcher claims it again. A message whose result
was committed is not sent again, and one not yet handed to a sender is sent once by whoever claims
it next. Only the message being handed to the platform at that moment can be sent twice: the
platform may have delivered it before its result was committed. So a crash repeats at most one
message per dispatcher, and loses none.

Two dispatchers never hold the same message while both leases last, and a dispatcher gives the
rest of its batch back once less than a quarter of the lease is left. A single send that runs
past the end of the lease can still be repeated by another dispatcher, so senders must time out
well within a quarter of the lease (30 seconds with the default lease of 2 minutes).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Protocol

from clipbot.clock import Clock
from clipbot.storage.database import Database
from clipbot.storage.outbox import ClaimedMessage, claim_due, mark_dropped, mark_failed, mark_retry, mark_sent

logger = logging.getLogger(__name__)

# The sender for messages enqueued without a platform: it picks the platform for each recipient.
DEFAULT_SENDER = "default"

# Sends of one message within a claim while the platform keeps responding with a rate limit.
# After the last one the message is put back until the limit ends.
MAX_SENDS_PER_CLAIM = 4

# A longer Retry-After from a sender is cut to this.
MAX_RETRY_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Sent:
    """The platform accepted the message. `platform_message_id` identifies it for later updates."""

    platform_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class RetryAfter:
    """The platform is rate limiting, so send nothing more through this sender for `seconds`.

    A sender that serves several platforms sets `scope` to the one that is limited, and keeps that
    platform's later messages back itself. Then only this message waits, and the sender's other
    messages go on.
    """

    seconds: float
    scope: str | None = None


@dataclass(frozen=True, slots=True)
class Unreachable:
    """The recipient cannot be reached, for example a deactivated account or a channel the bot left."""

    reason: str


@dataclass(frozen=True, slots=True)
class Failed:
    """The send failed in a way that may pass, such as a timeout or a server error."""

    reason: str


SendResult = Sent | RetryAfter | Unreachable | Failed


class Sender(Protocol):
    """Delivers claimed messages to one platform.

    `send` returns a SendResult and describes errors without any message text, because reasons are
    stored and logged. It should time out on its own (see the module docstring).
    """

    async def send(self, message: ClaimedMessage) -> SendResult: ...


@dataclass(frozen=True, slots=True)
class Send:
    """Gate decision: send the message now."""


SEND = Send()


@dataclass(frozen=True, slots=True)
class Defer:
    """Gate decision: keep the message and try again at `until`, an aware datetime."""

    until: datetime


@dataclass(frozen=True, slots=True)
class Drop:
    """Gate decision: never send the message, for example because it is stale."""

    reason: str


GateDecision = Send | Defer | Drop


class Gate(Protocol):
    """Decides, just before a message is sent, whether it is sent now, later or not at all.

    The planning layer implements it for quiet hours, pauses and stale posts.
    """

    async def check(self, message: ClaimedMessage, now: datetime) -> GateDecision: ...


@dataclass(slots=True)
class BatchSummary:
    """Counts of what happened to the messages of one or more batches.

    `retried` counts messages put back after an error or a rate limit, and `deferred` those the
    gate put back. `released` counts messages given back unsent because the lease was running out
    or the dispatcher was stopping. `lost` counts results that could not be recorded because
    another dispatcher had claimed the message since.
    """

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    deferred: int = 0
    dropped: int = 0
    failed: int = 0
    released: int = 0
    lost: int = 0

    def add(self, other: BatchSummary) -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


def _retry_delay(seconds: float) -> timedelta:
    """Return a Retry-After value as a delay: 0 for a negative or non-finite one, at most MAX_RETRY_AFTER."""
    if not math.isfinite(seconds) or seconds <= 0:
        return timedelta(0)
    return timedelta(seconds=min(seconds, MAX_RETRY_AFTER.total_seconds()))


def default_owner() -> str:
    """Return a lease owner name unique to this process: host name, process id and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Dispatcher:
    """Sends due outbox messages through `senders`, keyed by platform name or DEFAULT_SENDER.

    `owner` names this dispatcher in leases and must differ between processes (see
    `default_owner`). A message that fails is retried after an exponential backoff with jitter,
    from `retry_base` doubling up to `retry_cap`, until it has been tried `max_attempts` times. An
    unreachable recipient fails the message at once. A rate limit (RetryAfter) is not counted as an
    attempt, and this dispatcher sends nothing more through that sender until the limit ends. A
    limit of up to `max_pause` is waited out with `sleep`, and the messages that meet a longer one
    are put back until it ends.
    """

    def __init__(
        self,
        database: Database,
        senders: Mapping[str, Sender],
        clock: Clock,
        *,
        owner: str,
        batch_size: int = 100,
        lease: timedelta = timedelta(minutes=2),
        max_attempts: int = 8,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        gate: Gate | None = None,
        retry_base: timedelta = timedelta(seconds=30),
        retry_cap: timedelta = timedelta(hours=1),
        max_pause: timedelta = timedelta(seconds=5),
        rng: random.Random | None = None,
    ) -> None:
        if not owner.strip():
            raise ValueError("The dispatcher owner is empty. Pass a name unique to this process, e.g. default_owner().")
        if batch_size < 1:
            raise ValueError(f"The batch size {batch_size} is not valid. Use 1 or more.")
        if max_attempts < 1:
            raise ValueError(f"max_attempts {max_attempts} is not valid. Use 1 or more.")
        if lease <= timedelta(0):
            raise ValueError(f"The lease {lease} is not valid. Give a positive duration, for example 2 minutes.")

        self.database = database
        self.senders = dict(senders)
        self.clock = clock
        self.owner = owner
        self.batch_size = batch_size
        self.lease = lease
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.gate = gate
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.max_pause = max_pause
        self.rng = rng or random.Random()
        self._lock = asyncio.Lock()
        self._stopping = False
        # Each sender's rate limit, as the time until which nothing more is sent through it.
        self._rate_limited_until: dict[str, datetime] = {}

    async def run_once(self) -> BatchSummary:
        """Claim one batch of due messages, send each one, record each result and return what happened."""
        async with self._lock:
            if self._stopping:
                return BatchSummary()
            async with self.database.transaction() as session:
                batch = await claim_due(
                    session, owner=self.owner, now=self.clock.now(), limit=self.batch_size, lease=self.lease
                )

            summary = BatchSummary(claimed=len(batch))
            if not batch:
                logger.debug("Outbox dispatcher %s found no due messages", self.owner)
                return summary

            for message in batch:
                await self._handle(message, summary)

            logger.info(
                "Outbox dispatcher %s: %d claimed, %d sent, %d retried, %d deferred, %d dropped, %d failed, "
                "%d released, %d lost to another dispatcher",
                self.owner, summary.claimed, summary.sent, summary.retried, summary.deferred, summary.dropped,
                summary.failed, summary.released, summary.lost,
            )
            return summary

    async def run_until_idle(self, *, max_batches: int = 100) -> BatchSummary:
        """Run batches while each one comes back full, up to `max_batches`, and return the combined summary."""
        total = BatchSummary()
        for _ in range(max_batches):
            summary = await self.run_once()
            total.add(summary)
            if summary.claimed < self.batch_size or self._stopping:
                break
        return total

    async def close(self) -> None:
        """Stop claiming, and wait for the batch in progress to finish or give back its unsent messages."""
        self._stopping = True
        async with self._lock:
            pass

    def _sender_key(self, message: ClaimedMessage) -> str:
        return message.platform or DEFAULT_SENDER

    def _time_left(self, message: ClaimedMessage, now: datetime) -> timedelta:
        """Return how long this dispatcher may still start work on the message under its lease."""
        return message.lease_until - self.lease / 4 - now

    async def _handle(self, message: ClaimedMessage, summary: BatchSummary) -> None:
        now = self.clock.now()
        if self._stopping or self._time_left(message, now) <= timedelta(0):
            await self._release(message, now, summary)
            return

        # Only a claim that ended without a result, such as a crash, takes a message past max_attempts.
        if message.attempts > self.max_attempts:
            reason = f"attempt {message.attempts - 1} of {self.max_attempts} ended without a result"
            await self._give_up(message, now, reason, summary)
            return
        if message.not_after is not None and now > message.not_after:
            await self._drop(message, now, f"not sent by not_after {message.not_after.isoformat()}", summary)
            return

        decision = await self._check_gate(message, now)
        if isinstance(decision, Failed):
            await self._retry_or_give_up(message, now, decision.reason, summary)
            return
        if isinstance(decision, Drop):
            await self._drop(message, now, decision.reason, summary)
            return
        if isinstance(decision, Defer):
            await self._defer(message, now, decision.until, summary)
            return

        sender = self.senders.get(self._sender_key(message))
        if sender is None:
            reason = f"no sender is configured for platform {self._sender_key(message)!r}"
            await self._retry_or_give_up(message, now, reason, summary)
            return
        await self._send(message, sender, summary)

    async def _check_gate(self, message: ClaimedMessage, now: datetime) -> GateDecision | Failed:
        if self.gate is None:
            return SEND
        try:
            return await self.gate.check(message, now)
        except Exception as error:
            # The traceback only at DEBUG, because an exception's text may quote the message.
            logger.warning("The outbox gate raised %s for message %d", type(error).__name__, message.id)
            logger.debug("The outbox gate's error for message %d", message.id, exc_info=True)
            return Failed(f"the gate raised {type(error).__name__}")

    async def _send(self, message: ClaimedMessage, sender: Sender, summary: BatchSummary) -> None:
        key = self._sender_key(message)
        # The end of a rate limit that applies to this message only (a RetryAfter with a scope).
        own_hold: datetime | None = None
        for _ in range(MAX_SENDS_PER_CLAIM):
            now = self.clock.now()
            hold = max(filter(None, (self._rate_limited_until.get(key), own_hold)), default=None)
            if hold is not None and hold > now:
                wait = hold - now
                if wait > self.max_pause or wait >= self._time_left(message, now):
                    await self._hold_back(message, now, hold, summary)
                    return
                await self.sleep(wait.total_seconds())
                now = self.clock.now()
            if message.not_after is not None and now > message.not_after:
                await self._drop(message, now, f"not sent by not_after {message.not_after.isoformat()}", summary)
                return

            try:
                result = await sender.send(message)
            except Exception as error:
                logger.warning("The %s sender raised %s for outbox message %d", key, type(error).__name__, message.id)
                logger.debug("The %s sender's error for outbox message %d", key, message.id, exc_info=True)
                result = Failed(f"the {key} sender raised {type(error).__name__}")

            now = self.clock.now()
            if not isinstance(result, RetryAfter):
                await self._record(message, result, now, summary)
                return
            if result.scope is not None:
                own_hold = now + _retry_delay(result.seconds)
                logger.info(
                    "Outbox message %d waits %.1f s for the rate limit of %s", message.id, result.seconds, result.scope
                )
                continue
            self._rate_limited_until[key] = now + _retry_delay(result.seconds)
            logger.warning(
                "The %s sender is rate limited for %.1f s at outbox message %d", key, result.seconds, message.id
            )

        # The sender was rate limited on every send, so the message waits for a later batch.
        now = self.clock.now()
        until = max(filter(None, (self._rate_limited_until.get(key), own_hold)), default=now)
        await self._hold_back(message, now, max(until, now), summary)

    async def _record(
        self, message: ClaimedMessage, result: SendResult, now: datetime, summary: BatchSummary
    ) -> None:
        if isinstance(result, Sent):
            async with self.database.transaction() as session:
                recorded = await mark_sent(
                    session, message.id, self.owner, platform_message_id=result.platform_message_id, now=now
                )
            if self._check_recorded(message, recorded, summary):
                summary.sent += 1
        elif isinstance(result, Unreachable):
            await self._give_up(message, now, f"recipient unreachable: {result.reason}", summary)
        elif isinstance(result, Failed):
            await self._retry_or_give_up(message, now, result.reason, summary)

    def _check_recorded(self, message: ClaimedMessage, recorded: bool, summary: BatchSummary) -> bool:
        if not recorded:
            summary.lost += 1
            logger.warning(
                "Outbox message %d was claimed by another dispatcher before %s recorded its result, "
                "so it may be sent twice",
                message.id, self.owner,
            )
        return recorded

    def backoff(self, attempts: int) -> timedelta:
        """Return the wait before retrying after failed attempt number `attempts`, with jitter.

        The delay doubles from `retry_base` up to `retry_cap`, and a random part of up to half of
        it is taken off, so that messages that failed together are not all retried at once.
        """
        exponent = min(max(attempts - 1, 0), 30)
        delay = min(self.retry_cap, self.retry_base * (2 ** exponent))
        return delay * self.rng.uniform(0.5, 1.0)

    async def _retry_or_give_up(
        self, message: ClaimedMessage, now: datetime, reason: str, summary: BatchSummary
    ) -> None:
        if message.attempts >= self.max_attempts:
            final = f"{reason} (attempt {message.attempts} of {self.max_attempts})"
            await self._give_up(message, now, final, summary)
            return
        retry_at = now + self.backoff(message.attempts)
        if message.not_after is not None and retry_at > message.not_after:
            await self._give_up(message, now, f"{reason}, and a retry would be after not_after", summary)
            return

        async with self.database.transaction() as session:
            recorded = await mark_retry(
                session, message.id, self.owner, next_attempt_at=retry_at, error=reason, now=now
            )
        if self._check_recorded(message, recorded, summary):
            summary.retried += 1
            logger.warning(
                "Outbox message %d (%s) failed on attempt %d of %d and is retried at %s: %s",
                message.id, message.kind, message.attempts, self.max_attempts, retry_at.isoformat(), reason,
            )

    async def _hold_back(
        self, message: ClaimedMessage, now: datetime, until: datetime, summary: BatchSummary
    ) -> None:
        """Put the message back until its sender's rate limit ends, without counting an attempt."""
        if message.not_after is not None and until > message.not_after:
            await self._give_up(message, now, "rate limited until after not_after", summary)
            return
        async with self.database.transaction() as session:
            recorded = await mark_retry(
                session, message.id, self.owner,
                next_attempt_at=until, error="rate limited", count_attempt=False, now=now,
            )
        if self._check_recorded(message, recorded, summary):
            summary.retried += 1
            # The rate limit itself is logged once as a WARNING, and the batch summary counts these.
            logger.debug("Outbox message %d (%s) is rate limited until %s", message.id, message.kind, until.isoformat())

    async def _defer(self, message: ClaimedMessage, now: datetime, until: datetime, summary: BatchSummary) -> None:
        if message.not_after is not None and until > message.not_after:
            await self._drop(message, now, f"deferred until {until.isoformat()}, after not_after", summary)
            return
        async with self.database.transaction() as session:
            recorded = await mark_retry(
                session, message.id, self.owner, next_attempt_at=until, error=None, count_attempt=False, now=now
            )
        if self._check_recorded(message, recorded, summary):
            summary.deferred += 1
            logger.debug("Outbox message %d deferred until %s", message.id, until.isoformat())

    async def _release(self, message: ClaimedMessage, now: datetime, summary: BatchSummary) -> None:
        async with self.database.transaction() as session:
            recorded = await mark_retry(
                session, message.id, self.owner, next_attempt_at=now, error=None, count_attempt=False, now=now
            )
        if self._check_recorded(message, recorded, summary):
            summary.released += 1

    async def _drop(self, message: ClaimedMessage, now: datetime, reason: str, summary: BatchSummary) -> None:
        async with self.database.transaction() as session:
            recorded = await mark_dropped(session, message.id, self.owner, reason, now=now)
        if self._check_recorded(message, recorded, summary):
            summary.dropped += 1
            logger.info("Dropped outbox message %d (%s): %s", message.id, message.kind, reason)

    async def _give_up(self, message: ClaimedMessage, now: datetime, reason: str, summary: BatchSummary) -> None:
        async with self.database.transaction() as session:
            recorded = await mark_failed(session, message.id, self.owner, reason, now=now)
        if self._check_recorded(message, recorded, summary):
            summary.failed += 1
            logger.error("Gave up on outbox message %d (%s): %s", message.id, message.kind, reason)
