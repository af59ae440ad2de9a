"""The aiohttp application behind `clipbot serve`: the chat platforms' endpoints and a health check.

Routes:
- Slack's (see `clipbot.bot.adapters.slack.routes`) when Slack is configured;
- POST /api/messages for Microsoft Teams (see `clipbot.bot.adapters.teams.app`) when Teams is configured;
- GET /healthz: 200 with a small JSON body when a database query succeeds, 503 when it fails. The
  body also reports whether Slack and Teams are enabled.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import signal
import socket

from aiohttp import web
from sqlalchemy import text

from clipbot.bot.adapters.slack.app import Sleep
from clipbot.bot.adapters.slack.routes import SLACK_KEY, add_slack_routes, socket_mode_handler
from clipbot.bot.adapters.slack.outbox import SlackOutboxSender
from clipbot.bot.adapters.teams.app import TEAMS_BOT, add_teams_routes
from clipbot.bot.adapters.teams.outbox import TeamsOutboxSender
from clipbot.jobs import start_jobs, stop_jobs
from clipbot.outbox.routing import PlatformSender
from clipbot.bot.adapters.teams.settings import TeamsSettings
from clipbot.clock import Clock, SystemClock
from clipbot.service import WardService
from clipbot.config import ConfigError, Settings
from clipbot.storage.database import Database

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"

DATABASE_KEY = web.AppKey("database", Database)



def create_web_app(settings: Settings, database: Database, *, clock: Clock | None = None,
                   sleep: Sleep = asyncio.sleep, teams: TeamsSettings | None = None,
                   jobs: bool = False) -> web.Application:
    """Build the application. Slack's and Teams' routes exist only when each is configured.

    With `jobs`, the application also plans and sends the bot's own messages while it runs, and
    deletes old outbox messages and event ids daily. Every workflow service it makes, in the jobs and
    in the chat handlers, plans with `settings.planner`. The caller owns `database` and disposes of it
    after the application has shut down.
    """
    application = web.Application()
    application[DATABASE_KEY] = database
    application.router.add_get(HEALTH_PATH, _health)
    clock = clock or SystemClock()
    if teams is not None and teams.enabled:
        add_teams_routes(
            application, settings=teams, database=database, clock=clock,
            service_factory=lambda organisation: WardService(
                database, clock, organisation, planner_settings=settings.planner
            ),
        )
    else:
        logger.info("Teams is disabled: set MicrosoftAppId and MicrosoftAppPassword to enable it.")
    if settings.slack_enabled:
        add_slack_routes(application, settings, database, clock, sleep)
    else:
        logger.info(
            "Slack is disabled. To enable it, set SLACK_SIGNING_SECRET together with SLACK_BOT_TOKEN for one "
            "workspace, or with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install it in several through OAuth."
        )
    if jobs:
        application.cleanup_ctx.append(_timed_work(settings, database, clock))
    return application


def _timed_work(settings: Settings, database: Database, clock: Clock):
    async def run(application: web.Application):
        platforms: dict[str, PlatformSender] = {}
        if SLACK_KEY in application:
            platforms["slack"] = SlackOutboxSender(application[SLACK_KEY])
        if TEAMS_BOT in application:
            platforms["teams"] = TeamsOutboxSender(application[TEAMS_BOT].messenger)
        scheduler = start_jobs(
            database, clock, platforms,
            planner_settings=settings.planner, outbox_retention=settings.outbox_retention,
        )
        yield
        await stop_jobs(scheduler)

    return run


async def _health(request: web.Request) -> web.Response:
    database = request.app[DATABASE_KEY]
    platforms = {
        "slack": "enabled" if SLACK_KEY in request.app else "disabled",
        "teams": "enabled" if TEAMS_BOT in request.app else "disabled",
    }
    try:
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means the database is unavailable
        logger.error("Health check failed: the database query raised %s.", type(error).__name__)
        return web.json_response({"status": "unavailable", "database": "unreachable", **platforms}, status=503)
    return web.json_response({"status": "ok", "database": "ok", **platforms})


async def serve(settings: Settings, *, host: str, port: int, socket_mode: bool = False) -> None:
    """Run the server until SIGINT or SIGTERM, then shut down cleanly.

    Raises ConfigError for settings that cannot work, including a --host or --port that the server
    cannot listen on, and DatabaseConnectionError when the database cannot be reached.
    """
    if socket_mode and not settings.slack_app_token:
        raise ConfigError(
            "--socket-mode needs SLACK_APP_TOKEN, an app-level token with the connections:write scope "
            "(Basic Information > App-Level Tokens in your Slack app's settings)."
        )
    if socket_mode and not settings.slack_enabled:
        raise ConfigError("--socket-mode needs Slack to be configured: set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN.")

    teams = TeamsSettings.from_environment()
    teams.check()
    # Fail on a busy port before the database is migrated and the jobs start sending.
    await _check_can_listen(host, port)
    database = Database(settings.database_url)
    runner: web.AppRunner | None = None
    handler = None
    try:
        await database.upgrade()
        application = create_web_app(settings, database, teams=teams, jobs=True)
        runner = web.AppRunner(application, access_log=None)
        await runner.setup()
        freeze_startup_objects()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as error:
            # Another program took the port after _check_can_listen released it.
            raise ConfigError(_listen_error_message(host, port, error)) from None
        logger.info("clipbot is listening on http://%s:%d.", host, port)
        if socket_mode:
            handler = socket_mode_handler(application[SLACK_KEY], settings.slack_app_token)
            await handler.connect_async()
            logger.info("Connected to Slack in Socket Mode.")
        await _wait_for_stop_signal()
    finally:
        logger.info("clipbot is shutting down.")
        if handler is not None:
            await handler.close_async()
        if runner is not None:
            await runner.cleanup()
        await database.dispose()


async def _check_can_listen(host: str, port: int) -> None:
    """Raise ConfigError, naming --host or --port and the fix, unless a server can listen on `host` and `port`.

    It binds the address as aiohttp does (asyncio's create_server, which sets SO_REUSEADDR on Unix)
    and releases it at once, so the server can bind it again straight after.
    """
    loop = asyncio.get_running_loop()
    try:
        probe = await loop.create_server(asyncio.Protocol, host, port, start_serving=False)
    except OSError as error:
        raise ConfigError(_listen_error_message(host, port, error)) from None
    probe.close()
    await probe.wait_closed()


def _listen_error_message(host: str, port: int, error: OSError) -> str:
    if isinstance(error, socket.gaierror):
        return (
            f"--host {host} could not be resolved to an address of this machine ({error.strerror}). "
            f"Use an IP address such as 127.0.0.1, or 0.0.0.0 to listen on every interface."
        )
    if error.errno == errno.EADDRINUSE:
        return (
            f"--port {port} is already in use on {host}, so clipbot cannot listen on it. Stop the program "
            f"that uses it, or choose another port with --port."
        )
    if error.errno == errno.EACCES and port < 1024:
        return (
            f"clipbot may not listen on --port {port} on {host}, because ports below 1024 need administrator rights. "
            f"Choose a port from 1024 to 65535, and put a reverse proxy in front if clients need port 80 or 443."
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return (
            f"--host {host} is not an address of this machine, so clipbot cannot listen on it. Use 127.0.0.1, "
            f"0.0.0.0 to listen on every interface, or one of this machine's own addresses."
        )
    return (
        f"clipbot cannot listen on --host {host} --port {port}: {error.strerror or error}. "
        f"Check both options."
    )


def freeze_startup_objects() -> None:
    """Exclude everything created during start-up from later garbage collections.

    The imported libraries leave several hundred thousand objects that a full collection would
    otherwise scan each time, which paused the event loop, and so acknowledgements, for 50 to
    100 ms at a time under benchmarks/slack_ack.py. gc.freeze() keeps them out of collections.
    """
    gc.collect()
    gc.freeze()


async def _wait_for_stop_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    try:
        await stop.wait()
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)
