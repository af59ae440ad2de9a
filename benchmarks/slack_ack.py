"""Measure how fast clipbot acknowledges signed Slack requests under concurrent load.

Run with `make bench` or `python benchmarks/slack_ack.py`. The same load goes to two servers in
turn, each in its own process on 127.0.0.1. One is clipbot's server (`clipbot.server.create_web_app`),
which also handles every request in a background task and calls the Web API. The other is a bare
slack-bolt AsyncApp whose listeners only acknowledge. Half the requests are `/clip help` slash
commands and half are direct-message events, from 10 linked users, each with its own id, so
nothing is skipped as a redelivery. The fake Slack Web API from tests/fakes runs in a third
process. The latency of a request is the time from sending it until its response arrives, as the
load generator in this process sees it; the first `--warm-up` requests to each server are not
counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fakes.slack_api import BOT_TOKEN, TEAM_ID, FakeSlackApi  # noqa: E402

from clipbot.config import Settings  # noqa: E402
from clipbot.domain.ward import LearningEnvironment  # noqa: E402
from clipbot.bot.adapters.slack.routes import SLACK_KEY  # noqa: E402
from clipbot.server import create_web_app, freeze_startup_objects  # noqa: E402
from clipbot.service import WardService  # noqa: E402
from clipbot.clock import SystemClock  # noqa: E402
from clipbot.storage import platforms  # noqa: E402
from clipbot.storage.database import Database, default_database_url  # noqa: E402

SIGNING_SECRET = "benchmark-signing-secret"
ORGANISATION = "benchmark-trust"
USERS = 10
TARGET_RATIO = 1.5
TARGET_P99_MS = 100.0

PEOPLE_CSV = "id,name,role,field\n" + "".join(
    f"P{number},Person {number},registered nurse,adult\n" for number in range(USERS)
)
SHIFTS_CSV = "date,shift,person\n" + "".join(f"2026-03-02,Early,P{number}\n" for number in range(USERS))


@dataclass(frozen=True, slots=True)
class Latencies:
    commands: list[float]
    events: list[float]

    @property
    def all(self) -> list[float]:
        return self.commands + self.events


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the `fraction` quantile by linear interpolation between the closest ranks."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# Child processes: the fake Slack Web API and the two servers under test.

async def _serve_until_terminated(application: web.Application) -> None:
    """Serve until SIGTERM; then wait for clipbot's background work and print how long it took."""
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    # As `clipbot serve` does after start-up; the bare app gets the same, for a fair comparison.
    freeze_startup_objects()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"READY {runner.addresses[0][1]}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    started = time.perf_counter()
    if SLACK_KEY in application:
        await application[SLACK_KEY].wait_idle()
    print(f"DRAINED {time.perf_counter() - started:.1f}", flush=True)
    await runner.cleanup()


async def run_fake_slack() -> None:
    fake = FakeSlackApi()
    await fake.start()
    freeze_startup_objects()
    print(f"READY {fake.base_url}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await fake.stop()


class _ErrorCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def run_clipbot(slack_url: str, database_url: str) -> None:
    settings = Settings(
        database_url=database_url, organisation=ORGANISATION, slack_signing_secret=SIGNING_SECRET,
        slack_bot_token=BOT_TOKEN, slack_api_url=slack_url,
    )
    errors = _ErrorCount()
    logging.getLogger().addHandler(errors)
    database = Database(database_url)
    try:
        await _serve_until_terminated(create_web_app(settings, database))
    finally:
        await database.dispose()
    print(f"ERRORS {errors.count}", flush=True)


async def run_bare_bolt(slack_url: str) -> None:
    """Serve a slack-bolt AsyncApp whose listeners only acknowledge, through bolt's aiohttp adapter."""
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack_url)
    # The same mode as clipbot's app, in which bolt responds as soon as the listener returns.
    bolt = AsyncApp(signing_secret=SIGNING_SECRET, client=client, process_before_response=True)

    @bolt.command("/clip")
    async def acknowledge_command(ack) -> None:
        await ack()

    @bolt.event("message")
    async def ignore_message() -> None:
        return None

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    application = web.Application()
    application.router.add_post("/slack/events", events)
    await _serve_until_terminated(application)


# The load generator.

def start_child(*arguments: str) -> tuple[subprocess.Popen[str], str]:
    """Start this script in a child role and return the process and what it printed after READY."""
    process = subprocess.Popen(
        [sys.executable, __file__, *arguments], stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("READY "):
        process.kill()
        raise RuntimeError(f"The benchmark child {' '.join(arguments)} did not start: {line!r}")
    return process, line.removeprefix("READY ")


def stop_child(process: subprocess.Popen[str]) -> dict[str, float]:
    """Stop a child with SIGTERM; return the figures it printed as it stopped (DRAINED, ERRORS)."""
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return {}
    figures = (line.split() for line in output.splitlines())
    return {parts[0]: float(parts[1]) for parts in figures if len(parts) == 2}


async def seed(database_url: str) -> None:
    """Create a ward whose ten nurses are linked to Slack users U1000 to U1009."""
    database = Database(database_url)
    try:
        await database.upgrade()
        service = WardService(database, SystemClock(), ORGANISATION)
        ward = LearningEnvironment("bench-ward", "Bench Ward")
        await service.import_roster_csv(ward, PEOPLE_CSV.encode(), SHIFTS_CSV.encode())
        async with database.transaction() as session:
            for number in range(USERS):
                await platforms.link_identity(
                    session, ORGANISATION, "slack", TEAM_ID, f"U{1000 + number}", f"P{number}"
                )
    finally:
        await database.dispose()


def signed(body: str, content_type: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=timestamp, body=body) or ""
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}


def command_body(number: int, run: str) -> str:
    user = f"U{1000 + number % USERS}"
    return urlencode({
        "token": "unused", "team_id": TEAM_ID, "team_domain": "bench", "channel_id": f"D{user[1:]}",
        "channel_name": "directmessage", "user_id": user, "user_name": user.lower(), "command": "/clip",
        "text": "help", "api_app_id": "A0001", "is_enterprise_install": "false",
        "response_url": "https://hooks.slack.com/commands/T0001/1/bench", "trigger_id": f"bench.{run}.{number}",
    })


def event_body(number: int, run: str) -> str:
    user = f"U{1000 + number % USERS}"
    return json.dumps({
        "type": "event_callback", "token": "unused", "team_id": TEAM_ID, "api_app_id": "A0001",
        "event": {
            "type": "message", "channel_type": "im", "channel": f"D{user[1:]}", "user": user, "text": "help",
            "ts": f"1772442000.{number:06d}", "event_ts": f"1772442000.{number:06d}", "team": TEAM_ID,
        },
        "event_id": f"EvBench{run}{number:06d}", "event_time": 1772442000,
        "authorizations": [{"team_id": TEAM_ID, "user_id": "UBOT0001", "is_bot": True}],
    })


async def load(url: str, requests: int, concurrency: int, warm_up: int, run: str) -> Latencies:
    """Send `requests` signed requests, `concurrency` at a time, and time each response."""
    commands: list[float] = []
    events: list[float] = []
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)

    async def send(http: aiohttp.ClientSession, number: int) -> None:
        is_command = number % 2 == 0
        if is_command:
            body, kind = command_body(number, run), "application/x-www-form-urlencoded"
        else:
            body, kind = event_body(number, run), "application/json"
        async with gate:
            headers = signed(body, kind)
            started = time.perf_counter()
            async with http.post(url + "/slack/events", data=body.encode(), headers=headers) as response:
                await response.read()
                elapsed = time.perf_counter() - started
            if response.status != 200:
                raise RuntimeError(f"Request {number} got HTTP status {response.status} from {url}.")
        if number >= warm_up:
            (commands if is_command else events).append(elapsed * 1000)

    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(send(http, number) for number in range(warm_up)))
        # Keeps the load generator's own collection pauses out of the measured latencies.
        freeze_startup_objects()
        await asyncio.gather(*(send(http, number) for number in range(warm_up, warm_up + requests)))
    return Latencies(commands, events)


def measure(role: str, slack_url: str, database_url: str, arguments: argparse.Namespace, round_number: int
            ) -> tuple[Latencies, dict[str, float]]:
    """Load a new server process for one round; return the latencies and the figures it printed as it stopped."""
    extra = [database_url] if role == "clipbot" else []
    process, port = start_child("--child", role, slack_url, *extra)
    try:
        latencies = asyncio.run(load(f"http://127.0.0.1:{port}", arguments.requests // arguments.rounds,
                                     arguments.concurrency, arguments.warm_up, f"{role}{round_number}"))
    finally:
        drained = stop_child(process)
    return latencies, drained


def report(ours: Latencies, bare: Latencies, arguments: argparse.Namespace) -> bool:
    print(f"Slack acknowledgement latency: {arguments.requests:,} signed requests per server (half /clip "
          f"commands, half direct-message events), {arguments.concurrency} at a time, in {arguments.rounds} "
          f"alternating rounds, each after {arguments.warm_up} warm-up requests")
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    print()
    print(f"{'requests':<10} {'server':<10} {'median ms':>10} {'p99 ms':>10}")
    for label, pick in (("commands", lambda l: l.commands), ("events", lambda l: l.events), ("all", lambda l: l.all)):
        for name, latencies in (("clipbot", ours), ("bare bolt", bare)):
            values = pick(latencies)
            print(f"{label:<10} {name:<10} {statistics.median(values):>10.2f} {percentile(values, 0.99):>10.2f}")
    print()

    median_ratio = statistics.median(ours.all) / statistics.median(bare.all)
    p99_ratio = percentile(ours.all, 0.99) / percentile(bare.all, 0.99)
    p99 = percentile(ours.all, 0.99)
    met = median_ratio <= TARGET_RATIO and p99_ratio <= TARGET_RATIO and p99 < TARGET_P99_MS
    print(f"clipbot / bare bolt: median {median_ratio:.2f}x, p99 {p99_ratio:.2f}x (target at most {TARGET_RATIO}x); "
          f"clipbot p99 {p99:.1f} ms (target under {TARGET_P99_MS:.0f} ms): {'met' if met else 'MISSED'}")
    return met


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per server (default: 2000)")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight at once (default: 50)")
    parser.add_argument("--warm-up", type=int, default=100,
                        help="untimed requests at the start of each round (default: 100)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="rounds per server, alternating, sharing the timed requests (default: 4)")
    parser.add_argument("--database", help="database URL for clipbot (default: a temporary SQLite file)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)

    if arguments.child:
        role, *rest = arguments.child
        if role == "fake-slack":
            asyncio.run(run_fake_slack())
        elif role == "clipbot":
            asyncio.run(run_clipbot(*rest))
        else:
            asyncio.run(run_bare_bolt(*rest))
        return 0

    with tempfile.TemporaryDirectory(prefix="clipbot-bench-") as folder:
        database_url = arguments.database or default_database_url(folder)
        asyncio.run(seed(database_url))
        fake, slack_url = start_child("--child", "fake-slack")
        try:
            ours, bare = Latencies([], []), Latencies([], [])
            drained: list[dict[str, float]] = []
            # Rounds alternate between the servers, so a change in the machine's other load
            # affects both alike.
            for round_number in range(arguments.rounds):
                latencies, figures = measure("clipbot", slack_url, database_url, arguments, round_number)
                ours = Latencies(ours.commands + latencies.commands, ours.events + latencies.events)
                drained.append(figures)
                latencies, _ = measure("bare", slack_url, database_url, arguments, round_number)
                bare = Latencies(bare.commands + latencies.commands, bare.events + latencies.events)
        finally:
            stop_child(fake)
    report(ours, bare, arguments)
    if all("DRAINED" in figures for figures in drained):
        seconds = ", ".join(f"{figures['DRAINED']:.1f}" for figures in drained)
        errors = sum(int(figures.get("ERRORS", 0)) for figures in drained)
        print(f"After each round's last acknowledgement, clipbot took {seconds} s to finish handling every "
              f"request, and logged {errors} errors.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
