"""Slack's HTTP routes on the shared aiohttp application, and its Socket Mode connection.

- POST /slack/events: Events API, slash commands and interactivity, handled by slack-bolt's AsyncApp;
- GET /slack/install and GET /slack/oauth_redirect: installing the app in a workspace (OAuth only).

Requests to /slack/events with a missing, wrong or expired signature are rejected with 401 before
bolt sees them, because bolt logs the body of such requests and clipbot never logs bodies. Bolt
then checks the signature of every request that passes, as it always does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.signature import SignatureVerifier

from clipbot.bot.adapters.slack.app import Sleep, SlackBot
from clipbot.clock import Clock
from clipbot.config import Settings
from clipbot.storage.database import Database

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
OAUTH_REDIRECT_PATH = "/slack/oauth_redirect"
# Slack signs the timestamp too, and a request older than this is refused as a possible replay.
MAX_REQUEST_AGE_SECONDS = 5 * 60
# Rejected requests are logged at most once per this many seconds, with a count, so a flood of
# bad requests cannot flood the log.
REJECTION_LOG_INTERVAL_SECONDS = 60.0

SLACK_KEY = web.AppKey("slack", SlackBot)


class RejectionLog:
    """Logs rejected Slack requests, at most once per interval, with how many came in since."""

    def __init__(self, interval: float = REJECTION_LOG_INTERVAL_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._monotonic = monotonic
        self._last: float | None = None
        self._count = 0

    def record(self, reason: str, remote: str | None) -> None:
        self._count += 1
        now = self._monotonic()
        if self._last is not None and now - self._last < self._interval:
            return
        logger.warning(
            "Rejected %d Slack request(s) in the last %d s; the latest from %s had %s.",
            self._count, int(self._interval), remote or "an unknown address", reason,
        )
        self._last = now
        self._count = 0


def signature_problem(verifier: SignatureVerifier, body: bytes, timestamp: str, signature: str,
                      now: float) -> str | None:
    """Return why a Slack request's signature is not acceptable, or None when it is."""
    if not timestamp or not signature:
        return "no signature"
    try:
        age = abs(now - int(timestamp))
    except ValueError:
        return "an invalid timestamp"
    if age > MAX_REQUEST_AGE_SECONDS:
        return f"a timestamp {int(age)} s old"
    if not verifier.is_valid(body, timestamp, signature):
        return "a wrong signature"
    return None


def add_slack_routes(application: web.Application, settings: Settings, database: Database, clock: Clock,
                      sleep: Sleep) -> None:
    bot = SlackBot(settings, database, clock, sleep=sleep)
    application[SLACK_KEY] = bot
    verifier = SignatureVerifier(settings.slack_signing_secret)
    rejections = RejectionLog()

    async def events(request: web.Request) -> web.Response:
        body = await request.read()
        problem = signature_problem(
            verifier, body, request.headers.get("X-Slack-Request-Timestamp", ""),
            request.headers.get("X-Slack-Signature", ""), time.time(),
        )
        if problem is not None:
            rejections.record(problem, request.remote)
            return web.json_response({"error": "invalid request"}, status=401)
        bolt_response = await bot.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    application.router.add_post(EVENTS_PATH, events)
    oauth_flow = bot.app.oauth_flow
    if oauth_flow is not None:
        async def install(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await oauth_flow.handle_installation(await to_bolt_request(request)))

        async def oauth_redirect(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await oauth_flow.handle_callback(await to_bolt_request(request)))

        application.router.add_get(INSTALL_PATH, install)
        application.router.add_get(OAUTH_REDIRECT_PATH, oauth_redirect)

    async def start_slack(_: web.Application) -> None:
        await bot.start()

    async def stop_slack(_: web.Application) -> None:
        await bot.close()

    application.on_startup.append(start_slack)
    application.on_cleanup.append(stop_slack)


def socket_mode_handler(bot: SlackBot, app_token: str) -> AsyncSocketModeHandler:
    """Build the Socket Mode connection for the same AsyncApp; `connect_async()` opens it."""
    return AsyncSocketModeHandler(bot.app, app_token)
