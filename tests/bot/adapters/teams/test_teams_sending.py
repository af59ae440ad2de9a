"""Pacing and retries of connector requests, on fake time: nothing here waits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from msrest.exceptions import ClientRequestError, HttpOperationError

from clipbot.bot.adapters.teams.sending import (
    RateWindow,
    RetryPolicy,
    SendError,
    SendPacer,
    retry_after,
    send_with_retries,
)
from teams_harness import FakeTime


def failure(status: int, retry_after_header: str | None = None) -> HttpOperationError:
    """Build the error the connector client raises for an HTTP error status."""
    response = requests.Response()
    response.status_code = status
    if retry_after_header is not None:
        response.headers["Retry-After"] = retry_after_header
    error = HttpOperationError.__new__(HttpOperationError)
    Exception.__init__(error, f"HTTP {status}")
    error.response = response
    return error


class Script:
    """An operation that fails with the given errors, in order, and then returns "sent"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "sent"


async def run(script: Script, time: FakeTime, policy: RetryPolicy = RetryPolicy()) -> str:
    return await send_with_retries(script, description="reply", policy=policy, sleep=time.sleep, jitter=lambda: 0.0)


# Pacing


async def test_pacer_keeps_conversation_under_seven_a_second():
    time = FakeTime()
    pacer = SendPacer(clock=time.monotonic, sleep=time.sleep)
    moments = []
    for _ in range(15):
        await pacer.acquire("tenant", "a:chat")
        moments.append(time.now)
    assert moments == [0.0] * 7 + [1.0] * 7 + [2.0]


async def test_pacer_lets_other_conversations_through():
    time = FakeTime()
    pacer = SendPacer(clock=time.monotonic, sleep=time.sleep)
    for number in range(7):
        await pacer.acquire("tenant", "a:busy")
    for number in range(7):
        await pacer.acquire("tenant", f"a:chat{number}")
    assert time.sleeps == []


async def test_pacer_keeps_tenant_under_fifty_a_second():
    time = FakeTime()
    pacer = SendPacer(clock=time.monotonic, sleep=time.sleep)
    for number in range(120):
        await pacer.acquire("tenant", f"a:chat{number}")
    assert time.now == 2.0


async def test_pacer_tenants_are_separate():
    time = FakeTime()
    pacer = SendPacer(clock=time.monotonic, sleep=time.sleep)
    for number in range(50):
        await pacer.acquire("tenant-a", f"a:chat{number}")
    await pacer.acquire("tenant-b", "a:other")
    assert time.now == 0.0


async def test_pacer_applies_every_window():
    time = FakeTime()
    windows = (RateWindow(1.0, 3), RateWindow(10.0, 4))
    pacer = SendPacer(clock=time.monotonic, sleep=time.sleep, conversation_windows=windows)
    for _ in range(5):
        await pacer.acquire("tenant", "a:chat")
    # Three at 0 s, the fourth at 1 s by the first window, the fifth at 10 s by the second.
    assert time.now == 10.0


# Retries


async def test_success_needs_no_retry():
    time = FakeTime()
    script = Script()
    assert await run(script, time) == "sent"
    assert script.calls == 1


async def test_429_waits_for_retry_after_seconds():
    time = FakeTime()
    assert await run(Script(failure(429, "2")), time) == "sent"
    assert time.sleeps == [2.0]


def test_retry_after_reads_http_date():
    seconds = retry_after(failure(429, "Tue, 01 Jan 2030 12:00:05 GMT"), now=datetime(2030, 1, 1, 12, 0, tzinfo=UTC))
    assert seconds == 5.0


def test_retry_after_ignores_nonsense():
    assert retry_after(failure(429, "soon")) is None


async def test_429_without_retry_after_backs_off():
    time = FakeTime()
    await run(Script(failure(429)), time)
    assert time.sleeps == [0.25]


async def test_429_with_long_retry_after_gives_up():
    time = FakeTime()
    with pytest.raises(SendError) as raised:
        await run(Script(failure(429, "600")), time)
    assert raised.value.status == 429
    assert time.sleeps == []


@pytest.mark.parametrize("status", [412, 502, 503, 504])
async def test_transient_status_retried(status):
    time = FakeTime()
    assert await run(Script(failure(status), failure(status)), time) == "sent"
    assert time.sleeps == [0.25, 0.5]


async def test_backoff_is_capped():
    time = FakeTime()
    policy = RetryPolicy(max_attempts=6, base_delay=1.0, max_delay=4.0)
    await run(Script(*[failure(503)] * 5), time, policy)
    assert time.sleeps == [0.5, 1.0, 2.0, 2.0, 2.0]


async def test_jitter_spreads_backoff():
    time = FakeTime()
    await send_with_retries(
        Script(failure(503)), description="reply", policy=RetryPolicy(), sleep=time.sleep, jitter=lambda: 1.0
    )
    assert time.sleeps == [0.5]


async def test_lost_connection_retried():
    time = FakeTime()
    assert await run(Script(ClientRequestError("Error occurred in request.")), time) == "sent"
    assert time.sleeps == [0.25]


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_client_error_not_retried(status):
    time = FakeTime()
    script = Script(failure(status))
    with pytest.raises(SendError) as raised:
        await run(script, time)
    assert raised.value.status == status
    assert script.calls == 1


async def test_attempts_are_bounded():
    time = FakeTime()
    script = Script(*[failure(502)] * 10)
    with pytest.raises(SendError):
        await run(script, time, RetryPolicy(max_attempts=3))
    assert script.calls == 3
    assert len(time.sleeps) == 2


def test_policy_needs_one_attempt():
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
