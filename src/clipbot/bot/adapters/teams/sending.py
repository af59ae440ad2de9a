"""Pacing and retries for requests to the Bot Framework connector (the Teams service URL).

Microsoft's page "Optimize your bot with rate limiting in Teams" gives a global limit of 50 requests
per second per app per tenant and per-conversation ("per bot per thread") limits, among them 1,800
operations an hour. Teams returns 429 beyond them and asks bots to retry 429, 412, 502
and 504 with exponential back-off and random jitter. clipbot also keeps each conversation to 7
messages a second. `SendPacer` waits before a request would pass a limit, and `send_with_retries`
retries the failures above (and 503 and lost connections) a bounded number of times.

The sleep, clock and random source are injected, so tests run without waiting.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from msrest.exceptions import ClientRequestError, HttpOperationError

logger = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
MonotonicClock = Callable[[], float]

THROTTLED = 429
# Failures that are worth retrying after a back-off; 429 waits for Retry-After instead when it is sent.
TRANSIENT_STATUSES = frozenset({412, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RateWindow:
    """At most `max_requests` requests in any `seconds`-long period."""

    seconds: float
    max_requests: int


CONVERSATION_WINDOWS = (RateWindow(1.0, 7), RateWindow(3600.0, 1800))
TENANT_WINDOWS = (RateWindow(1.0, 50),)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often, and how long apart, a failed request is tried again.

    The n-th back-off is `base_delay * 2**(n-1)` seconds, capped at `max_delay`, then scaled by a
    random factor from 0.5 to 1. A 429 waits for its Retry-After plus up to `base_delay` of jitter,
    and gives up when Retry-After requests more than `max_retry_after` seconds.
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts is {self.max_attempts}; it must be at least 1.")


class SendError(Exception):
    """A request to the connector failed for good; `status` is the HTTP status, or None without a response."""

    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(message)
        self.status = status


def http_status(error: BaseException) -> int | None:
    """Return the HTTP status of a failed connector request, or None when no response arrived."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def retry_after(error: BaseException, *, now: datetime | None = None) -> float | None:
    """Return the Retry-After of a failed request in seconds, from a number or an HTTP date, or None."""
    headers = getattr(getattr(error, "response", None), "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        logger.warning("Ignored a Retry-After header that is neither seconds nor an HTTP date: %r", text[:40])
        return None
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


class SendPacer:
    """Delays requests so that no conversation and no tenant goes over its rate windows.

    A request counts against its conversation and its tenant from the moment `acquire` returns.
    Waiting coroutines do not hold a lock, so sends to other conversations carry on meanwhile.
    """

    def __init__(
        self,
        *,
        clock: MonotonicClock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        conversation_windows: tuple[RateWindow, ...] = CONVERSATION_WINDOWS,
        tenant_windows: tuple[RateWindow, ...] = TENANT_WINDOWS,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._windows = {"conversation": conversation_windows, "tenant": tenant_windows}
        self._history: dict[tuple[str, str], deque[float]] = {}
        self._acquired = 0

    async def acquire(self, tenant: str, conversation: str) -> None:
        """Return once one more request to `conversation` in `tenant` stays within every window."""
        keys = (("tenant", tenant), ("conversation", conversation))
        while True:
            now = self._clock()
            wait = max(self._wait(key, now) for key in keys)
            if wait <= 0:
                for key in keys:
                    self._history.setdefault(key, deque()).append(now)
                self._forget_idle(now)
                return
            await self._sleep(wait)

    def _wait(self, key: tuple[str, str], now: float) -> float:
        """Return how long to wait before a request on `key` fits every window; 0 when it fits now."""
        windows = self._windows[key[0]]
        history = self._history.get(key)
        if not history:
            return 0.0
        longest = max(window.seconds for window in windows)
        while history and history[0] <= now - longest:
            history.popleft()

        wait = 0.0
        for window in windows:
            recent = [moment for moment in history if moment > now - window.seconds]
            if len(recent) >= window.max_requests:
                # The request that must leave the window before one more fits in it.
                leaving = recent[len(recent) - window.max_requests]
                wait = max(wait, leaving + window.seconds - now)
        return wait

    def _forget_idle(self, now: float) -> None:
        """Drop the history of conversations and tenants idle for longer than their longest window."""
        self._acquired += 1
        if self._acquired % 1000:
            return
        for key in list(self._history):
            longest = max(window.seconds for window in self._windows[key[0]])
            if self._history[key][-1] <= now - longest:
                del self._history[key]


async def send_with_retries(
    operation: Callable[[], Awaitable[T]],
    *,
    description: str,
    policy: RetryPolicy = RetryPolicy(),
    sleep: Sleep = asyncio.sleep,
    jitter: Callable[[], float] = random.random,
    before_attempt: Callable[[], Awaitable[None]] | None = None,
) -> T:
    """Run `operation`, retrying throttled and transient failures; raise SendError when it fails for good.

    `before_attempt` runs before every attempt, so retries are paced like first attempts.
    `description` names the request in logs, for example "reply in conversation a:1".
    """
    for attempt in range(1, policy.max_attempts + 1):
        if before_attempt is not None:
            await before_attempt()
        try:
            return await operation()
        except (HttpOperationError, ClientRequestError) as error:
            status = http_status(error)
            delay = _retry_delay(error, status, attempt, policy, jitter)
            if delay is None or attempt == policy.max_attempts:
                reason = f"HTTP {status}" if status is not None else f"no response ({type(error).__name__})"
                logger.warning("Failed to send the %s after %d attempts: %s.", description, attempt, reason)
                raise SendError(f"Teams did not accept the {description}: {reason}.", status) from error
            logger.info(
                "Retrying the %s in %.2f s after %s (attempt %d of %d).",
                description, delay, f"HTTP {status}" if status is not None else "a lost connection",
                attempt, policy.max_attempts,
            )
            await sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _retry_delay(
    error: BaseException, status: int | None, attempt: int, policy: RetryPolicy, jitter: Callable[[], float]
) -> float | None:
    """Return the wait before the next attempt, or None when this failure is not worth retrying."""
    if status == THROTTLED:
        requested = retry_after(error)
        if requested is not None:
            if requested > policy.max_retry_after:
                logger.warning(
                    "Teams requested a wait of %.0f s before a retry, more than the %.0f s allowed; giving up.",
                    requested, policy.max_retry_after,
                )
                return None
            return requested + jitter() * policy.base_delay
    elif status is not None and status not in TRANSIENT_STATUSES:
        return None

    backoff = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
    return backoff * (0.5 + jitter() / 2)


class Sender:
    """Sends each request through the pacer and the retry policy; one Sender serves the whole process."""

    def __init__(
        self,
        *,
        pacer: SendPacer | None = None,
        policy: RetryPolicy = RetryPolicy(),
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.pacer = pacer or SendPacer(sleep=sleep)
        self.policy = policy
        self._sleep = sleep
        self._jitter = jitter

    async def send(
        self, operation: Callable[[], Awaitable[T]], *, tenant: str, conversation: str, description: str
    ) -> T:
        """Run one connector request for `conversation` in `tenant`; raise SendError when it fails for good."""

        async def wait_for_turn() -> None:
            await self.pacer.acquire(tenant, conversation)

        return await send_with_retries(
            operation, description=f"{description} in conversation {conversation}", policy=self.policy,
            sleep=self._sleep, jitter=self._jitter, before_attempt=wait_for_turn,
        )
