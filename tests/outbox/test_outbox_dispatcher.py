"""The dispatcher against the real database and a fake platform: sending, retries, rate limits,
the gate, stale messages, and a dispatcher that dies half way through its batch."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta

import pytest
from outbox_fakes import T0, FakePlatform, FakeSleep, enqueue_all, message, stored

from clipbot.bot.events import Button, ButtonStyle, Reply, Section
from clipbot.bot.serialise import reply_from_json, reply_to_json
from clipbot.clock import FixedClock
from clipbot.outbox import (
    DEFAULT_SENDER,
    MAX_SENDS_PER_CLAIM,
    SEND,
    ClaimedMessage,
    Defer,
    Dispatcher,
    Drop,
    Failed,
    GateDecision,
    RetryAfter,
    Sender,
    SendResult,
    Sent,
    Unreachable,
)
from clipbot.storage import Database
from clipbot.storage.repository import counts

LEASE = timedelta(minutes=2)


class Killed(BaseException):
    """Stands for the process dying: it is not an Exception, so the dispatcher does not catch it."""


class ScriptedGate:
    """A Gate that returns the given decisions in turn, then SEND, and records each check."""

    def __init__(self, *decisions: GateDecision) -> None:
        self.decisions = list(decisions)
        self.checked: list[tuple[str, datetime]] = []

    async def check(self, message: ClaimedMessage, now: datetime) -> GateDecision:
        self.checked.append((message.idempotency_key, now))
        return self.decisions.pop(0) if self.decisions else SEND


def dispatcher(
    database: Database,
    clock: FixedClock,
    senders: dict[str, Sender],
    *,
    owner: str = "replica-a",
    **options: object,
) -> Dispatcher:
    options.setdefault("sleep", FakeSleep(clock))
    options.setdefault("rng", random.Random(7))
    return Dispatcher(database, senders, clock, owner=owner, **options)  # type: ignore[arg-type]


async def state_counts(database: Database) -> dict[str, int]:
    async with database.session() as session:
        return await counts(session)


async def test_sends_due_messages_only(database: Database) -> None:
    await enqueue_all(database, [message("a"), message("b"), message("later", T0 + timedelta(minutes=1))])
    clock = FixedClock(T0)
    platform = FakePlatform(clock)

    summary = await dispatcher(database, clock, {"slack": platform}).run_once()

    assert summary.claimed == 2
    assert summary.sent == 2
    assert sorted(platform.delivered) == ["a", "b"]
    assert (await stored(database, "later")).state == "pending"


async def test_sent_message_recorded(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    clock = FixedClock(T0 + timedelta(seconds=5))

    await dispatcher(database, clock, {"slack": FakePlatform(clock)}).run_once()

    row = await stored(database, "a")
    assert row.state == "sent"
    assert row.sent_at == T0 + timedelta(seconds=5)
    assert row.platform_message_id == "ts-a"
    assert row.attempts == 1


async def test_sent_message_not_sent_again(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    clock = FixedClock(T0)
    platform = FakePlatform(clock)
    sending = dispatcher(database, clock, {"slack": platform})
    await sending.run_once()

    clock.moment += timedelta(hours=1)
    summary = await sending.run_once()

    assert summary.claimed == 0
    assert platform.calls["a"] == 1


async def test_reply_payload_reaches_sender(database: Database) -> None:
    reply = Reply(
        "Protected learning time this week",
        sections=(Section("Pick a slot with *Sam*"),),
        buttons=(Button("Wednesday 14:00", "protected.pick", "slot-1", ButtonStyle.PRIMARY),),
    )
    await enqueue_all(database, [message("a", payload=reply_to_json(reply))])
    clock = FixedClock(T0)
    platform = FakePlatform(clock)

    await dispatcher(database, clock, {"slack": platform}).run_once()

    assert reply_from_json(platform.received[0].payload) == reply


async def test_no_platform_uses_default_sender(database: Database) -> None:
    await enqueue_all(database, [message("a", platform=None)])
    clock = FixedClock(T0)
    slack = FakePlatform(clock)
    default = FakePlatform(clock)

    await dispatcher(database, clock, {"slack": slack, DEFAULT_SENDER: default}).run_once()

    assert default.delivered["a"] == 1
    assert slack.calls["a"] == 0


async def test_killed_dispatcher_taken_over_after_lease(database: Database) -> None:
    keys = [f"m{index}" for index in range(6)]
    await enqueue_all(database, [message(key, T0 + timedelta(seconds=index)) for index, key in enumerate(keys)])
    clock = FixedClock(T0 + timedelta(minutes=1))

    # The platform takes m2, then the process dies before the result is recorded.
    def die_after_m2(claimed: ClaimedMessage, call: int) -> SendResult:
        if claimed.idempotency_key == "m2":
            raise Killed
        return Sent(f"ts-{claimed.idempotency_key}")

    platform = FakePlatform(clock, die_after_m2)
    with pytest.raises(Killed):
        await dispatcher(database, clock, {"slack": platform}, owner="replica-a").run_once()
    platform.respond = lambda claimed, call: Sent(f"ts-{claimed.idempotency_key}")
    replica_b = dispatcher(database, clock, {"slack": platform}, owner="replica-b")

    during_lease = await replica_b.run_once()
    clock.moment += LEASE + timedelta(seconds=1)
    after_lease = await replica_b.run_once()

    assert during_lease.claimed == 0
    assert after_lease.claimed == 4
    assert after_lease.sent == 4
    assert await state_counts(database) == {"pending": 0, "sending": 0, "sent": 6, "dropped": 0, "failed": 0}
    assert {key: platform.calls[key] for key in keys} == {"m0": 1, "m1": 1, "m2": 2, "m3": 1, "m4": 1, "m5": 1}


async def test_failed_send_retried_with_backoff(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    clock = FixedClock(T0)
    platform = FakePlatform(clock, lambda claimed, call: Failed("timed out") if call == 1 else Sent("ts-a"))
    sending = dispatcher(database, clock, {"slack": platform}, retry_base=timedelta(seconds=30))

    first = await sending.run_once()
    row = await stored(database, "a")

    assert first.retried == 1
    assert row.state == "pending"
    assert row.last_error == "timed out"
    assert T0 + timedelta(seconds=15) <= row.next_attempt_at <= T0 + timedelta(seconds=30)

    clock.moment = row.next_attempt_at
    second = await sending.run_once()

    assert second.sent == 1
    assert platform.delivered["a"] == 1
    assert (await stored(database, "a")).attempts == 2


async def test_failed_send_given_up_at_max(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    clock = FixedClock(T0)
    platform = FakePlatform(clock, lambda claimed, call: Failed("server error 503"))
    sending = dispatcher(database, clock, {"slack": platform}, max_attempts=3)

    for _ in range(5):
        await sending.run_once()
        clock.moment += timedelta(hours=2)

    row = await stored(database, "a")
    assert platform.calls["a"] == 3
    assert row.state == "failed"
    assert row.attempts == 3
    assert row.last_error == "server error 503 (attempt 3 of 3)"


async def test_backoff_doubles_up_to_cap(database: Database) -> None:
    clock = FixedClock(T0)
    sending = dispatcher(database, clock, {}, retry_base=timedelta(seconds=30), retry_cap=timedelta(minutes=5))

    delays = [sending.backoff(attempt) for attempt in range(1, 8)]

    for attempt, delay in enumerate(delays, start=1):
        full = min(timedelta(seconds=30) * 2 ** (attempt - 1), timedelta(minutes=5))
        assert full / 2 <= delay <= full


async def test_unreachable_fails_without_retry(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    clock = FixedClock(T0)
    platform = FakePlatform(clock, lambda claimed, call: Unreachable("account_inactive"))
    sending = dispatcher(database, clock, {"slack": platform})

    summary = await sending.run_once()
    clock.moment += timedelta(days=1)
    await sending.run_once()

    row = await stored(database, "a")
    assert summary.failed == 1
    assert platform.calls["a"] == 1
    assert row.state == "failed"
    assert row.last_error == "recipient unreachable: account_inactive"


async def test_sender_exception_retried_without_text(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    clock = FixedClock(T0)

    def broken(claimed: ClaimedMessage, call: int) -> SendResult:
        raise ConnectionResetError("Coach group for today: Asha, Ben")

    summary = await dispatcher(database, clock, {"slack": FakePlatform(clock, broken)}).run_once()

    row = await stored(database, "a")
    assert summary.retried == 1
    assert row.state == "pending"
    assert row.last_error == "the slack sender raised ConnectionResetError"


async def test_missing_sender_retried(database: Database) -> None:
    await enqueue_all(database, [message("a", platform="teams")])
    clock = FixedClock(T0)

    summary = await dispatcher(database, clock, {"slack": FakePlatform(clock)}).run_once()

    row = await stored(database, "a")
    assert summary.retried == 1
    assert row.last_error == "no sender is configured for platform 'teams'"


async def test_short_retry_after_waited_out(database: Database) -> None:
    await enqueue_all(database, [message("a"), message("b", T0 + timedelta(seconds=1))])
    clock = FixedClock(T0 + timedelta(seconds=1))
    sleep = FakeSleep(clock)
    platform = FakePlatform(
        clock, lambda claimed, call: RetryAfter(2) if claimed.idempotency_key == "a" and call == 1 else Sent("ts")
    )

    summary = await dispatcher(database, clock, {"slack": platform}, sleep=sleep).run_once()

    assert summary.sent == 2
    assert sleep.waits == [2.0]
    assert platform.sends_during_limit == []
    assert (await stored(database, "a")).attempts == 1


async def test_long_retry_after_holds_back_batch(database: Database) -> None:
    await enqueue_all(database, [message(key, T0 + timedelta(seconds=index)) for index, key in enumerate("abc")])
    clock = FixedClock(T0 + timedelta(seconds=5))
    platform = FakePlatform(
        clock, lambda claimed, call: RetryAfter(60) if claimed.idempotency_key == "a" and call == 1 else Sent("ts")
    )
    sending = dispatcher(database, clock, {"slack": platform})

    held_back = await sending.run_once()
    rows = [await stored(database, key) for key in "abc"]

    assert held_back.retried == 3
    assert sum(platform.calls.values()) == 1
    assert [row.next_attempt_at for row in rows] == [T0 + timedelta(seconds=65)] * 3
    assert [row.attempts for row in rows] == [0, 0, 0]

    clock.moment += timedelta(seconds=60)
    resumed = await sending.run_once()

    assert resumed.sent == 3
    assert platform.sends_during_limit == []


@pytest.mark.parametrize("seconds", [0.0, -5.0, float("nan")])
async def test_endless_zero_retry_after_bounded(database: Database, seconds: float) -> None:
    await enqueue_all(database, [message("a")])
    clock = FixedClock(T0)
    platform = FakePlatform(clock, lambda claimed, call: RetryAfter(seconds))

    summary = await dispatcher(database, clock, {"slack": platform}).run_once()

    row = await stored(database, "a")
    assert summary.retried == 1
    assert platform.calls["a"] == MAX_SENDS_PER_CLAIM
    assert row.state == "pending"
    assert row.next_attempt_at == T0
    assert row.attempts == 0


async def test_rate_limit_storm_sends_each_once(database: Database) -> None:
    keys = [f"m{index:02d}" for index in range(30)]
    await enqueue_all(database, [message(key, T0 + timedelta(seconds=index)) for index, key in enumerate(keys)])
    clock = FixedClock(T0 + timedelta(minutes=1))
    storm_ends = T0 + timedelta(minutes=20)

    # The platform responds with 429 and a Retry-After of 1 to 90 s until the storm ends.
    wait_times = random.Random(3)

    def storm(claimed: ClaimedMessage, call: int) -> SendResult:
        if clock.now() < storm_ends:
            return RetryAfter(wait_times.choice([1, 3, 30, 90]))
        return Sent(f"ts-{claimed.idempotency_key}")

    platform = FakePlatform(clock, storm)
    sending = dispatcher(database, clock, {"slack": platform}, batch_size=10, max_attempts=2)
    for _ in range(200):
        await sending.run_once()
        if (await state_counts(database))["sent"] == len(keys):
            break
        clock.moment += timedelta(seconds=15)

    assert await state_counts(database) == {"pending": 0, "sending": 0, "sent": 30, "dropped": 0, "failed": 0}
    assert dict(platform.delivered) == {key: 1 for key in keys}
    assert platform.sends_during_limit == []
    assert sum(platform.calls.values()) > len(keys)


async def test_gate_defer_keeps_message(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    clock = FixedClock(T0)
    platform = FakePlatform(clock)
    after_quiet_hours = T0 + timedelta(hours=2)
    sending = dispatcher(database, clock, {"slack": platform}, gate=ScriptedGate(Defer(after_quiet_hours)))

    deferred = await sending.run_once()
    row = await stored(database, "a")

    assert deferred.deferred == 1
    assert platform.calls["a"] == 0
    assert row.next_attempt_at == after_quiet_hours
    assert row.attempts == 0

    clock.moment = after_quiet_hours
    await sending.run_once()

    assert platform.delivered["a"] == 1


async def test_gate_drop_never_sends(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    clock = FixedClock(T0)
    platform = FakePlatform(clock)
    gate = ScriptedGate(Drop("the shift has ended"))

    summary = await dispatcher(database, clock, {"slack": platform}, gate=gate).run_once()

    row = await stored(database, "a")
    assert summary.dropped == 1
    assert platform.calls["a"] == 0
    assert row.state == "dropped"
    assert row.last_error == "the shift has ended"
    assert gate.checked == [("a", T0)]


async def test_gate_defer_past_not_after_drops(database: Database) -> None:
    await enqueue_all(database, [message("a", not_after=T0 + timedelta(hours=1))])
    clock = FixedClock(T0)
    gate = ScriptedGate(Defer(T0 + timedelta(hours=3)))

    summary = await dispatcher(database, clock, {"slack": FakePlatform(clock)}, gate=gate).run_once()

    assert summary.dropped == 1
    assert (await stored(database, "a")).state == "dropped"


async def test_gate_error_retried(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    clock = FixedClock(T0)

    class BrokenGate:
        async def check(self, message: ClaimedMessage, now: datetime) -> GateDecision:
            raise KeyError("S1")

    platform = FakePlatform(clock)
    summary = await dispatcher(database, clock, {"slack": platform}, gate=BrokenGate()).run_once()

    assert summary.retried == 1
    assert platform.calls["a"] == 0
    assert (await stored(database, "a")).last_error == "the gate raised KeyError"


async def test_message_past_not_after_dropped(database: Database) -> None:
    await enqueue_all(database, [message("a", not_after=T0 + timedelta(minutes=30))])
    clock = FixedClock(T0 + timedelta(hours=3))
    platform = FakePlatform(clock)

    summary = await dispatcher(database, clock, {"slack": platform}).run_once()

    assert summary.dropped == 1
    assert platform.calls["a"] == 0
    assert (await stored(database, "a")).state == "dropped"


async def test_retry_past_not_after_given_up(database: Database) -> None:
    await enqueue_all(database, [message("a", not_after=T0 + timedelta(seconds=10))])
    clock = FixedClock(T0)
    platform = FakePlatform(clock, lambda claimed, call: Failed("timed out"))

    summary = await dispatcher(database, clock, {"slack": platform}, retry_base=timedelta(minutes=1)).run_once()

    assert summary.failed == 1
    assert (await stored(database, "a")).state == "failed"


async def test_repeated_crashes_end_in_failure(database: Database) -> None:
    await enqueue_all(database, [message("a")])
    clock = FixedClock(T0)

    def crash(claimed: ClaimedMessage, call: int) -> SendResult:
        raise Killed

    platform = FakePlatform(clock, crash)
    for _ in range(2):
        with pytest.raises(Killed):
            await dispatcher(database, clock, {"slack": platform}, max_attempts=2).run_once()
        clock.moment += LEASE + timedelta(seconds=1)

    summary = await dispatcher(database, clock, {"slack": platform}, max_attempts=2).run_once()

    row = await stored(database, "a")
    assert summary.failed == 1
    assert platform.calls["a"] == 2
    assert row.state == "failed"
    assert row.last_error == "attempt 2 of 2 ended without a result"


async def test_slow_batch_released_before_lease_end(database: Database) -> None:
    await enqueue_all(database, [message(key, T0 + timedelta(seconds=index)) for index, key in enumerate("abc")])
    clock = FixedClock(T0 + timedelta(seconds=5))

    # Each send takes 50 seconds, so a third would start with less than a quarter of the lease left.
    def slow(claimed: ClaimedMessage, call: int) -> SendResult:
        clock.moment += timedelta(seconds=50)
        return Sent("ts")

    platform = FakePlatform(clock, slow)
    summary = await dispatcher(database, clock, {"slack": platform}).run_once()

    released = await stored(database, "c")
    assert summary.sent == 2
    assert summary.released == 1
    assert platform.calls["c"] == 0
    assert released.state == "pending"
    assert released.attempts == 0


async def test_close_finishes_current_message(database: Database) -> None:
    await enqueue_all(database, [message(key, T0 + timedelta(seconds=index)) for index, key in enumerate("abc")])
    clock = FixedClock(T0 + timedelta(seconds=5))
    entered = asyncio.Event()
    release = asyncio.Event()

    class BlockingPlatform:
        def __init__(self) -> None:
            self.sent: list[str] = []

        async def send(self, message: ClaimedMessage) -> SendResult:
            entered.set()
            await release.wait()
            self.sent.append(message.idempotency_key)
            return Sent("ts")

    platform = BlockingPlatform()
    sending = dispatcher(database, clock, {"slack": platform})
    run = asyncio.create_task(sending.run_once())
    await entered.wait()
    closing = asyncio.create_task(sending.close())
    release.set()
    summary = await run
    await closing

    assert platform.sent == ["a"]
    assert summary.released == 2
    assert await state_counts(database) == {"pending": 2, "sending": 0, "sent": 1, "dropped": 0, "failed": 0}
    assert (await sending.run_once()).claimed == 0


async def test_run_until_idle_drains_full_batches(database: Database) -> None:
    await enqueue_all(database, [message(f"m{index}", T0 + timedelta(seconds=index)) for index in range(7)])
    clock = FixedClock(T0 + timedelta(minutes=1))
    platform = FakePlatform(clock)

    summary = await dispatcher(database, clock, {"slack": platform}, batch_size=3).run_until_idle()

    assert summary.claimed == 7
    assert summary.sent == 7


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"owner": ""}, "owner is empty"),
        ({"batch_size": 0}, "batch size 0"),
        ({"max_attempts": 0}, "max_attempts 0"),
        ({"lease": timedelta(seconds=-1)}, "is not valid"),
    ],
)
async def test_invalid_options_rejected(
    database: Database, options: dict[str, object], expected: str
) -> None:
    with pytest.raises(ValueError, match=expected):
        dispatcher(database, FixedClock(T0), {}, **options)
