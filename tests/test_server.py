"""The shared aiohttp application: which platform routes it serves, its health check and start-up log."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from clipbot.bot.adapters.slack.routes import SLACK_KEY
from clipbot.bot.adapters.teams.app import TEAMS_BOT
from clipbot.bot.adapters.teams.settings import TeamsSettings
from clipbot.clock import FixedClock
from clipbot.config import Settings
from clipbot.server import create_web_app
from clipbot.storage.database import Database
from clipbot.workflows.planner import PlannerSettings
from clipbot.workflows.service import WorkflowService


def routes_of(application) -> set[tuple[str, str]]:
    return {(route.method, route.resource.canonical) for route in application.router.routes()}


async def test_bare_server_has_only_health(database):
    application = create_web_app(Settings(database_url="unused"), database)
    assert routes_of(application) == {("GET", "/healthz"), ("HEAD", "/healthz")}


async def test_teams_route_added_when_configured(database):
    teams = TeamsSettings(allow_unauthenticated=True, organisation="trust")
    application = create_web_app(Settings(database_url="unused"), database, teams=teams)
    assert ("POST", "/api/messages") in routes_of(application)
    assert ("POST", "/slack/events") not in routes_of(application)


async def test_both_platforms_share_one_server(database):
    settings = Settings(database_url="unused", slack_signing_secret="s3cret", slack_bot_token="xoxb-test")
    teams = TeamsSettings(allow_unauthenticated=True, organisation="trust")
    application = create_web_app(settings, database, teams=teams)
    assert ("POST", "/api/messages") in routes_of(application)
    assert ("POST", "/slack/events") in routes_of(application)


async def test_chat_services_plan_with_configured_settings(database):
    planner = PlannerSettings(reminder_lead=timedelta(minutes=20), coach_post_lead=timedelta(minutes=45))
    settings = Settings(
        database_url="unused", slack_signing_secret="s3cret", slack_bot_token="xoxb-test", planner=planner
    )
    teams = TeamsSettings(allow_unauthenticated=True, organisation="trust")
    application = create_web_app(settings, database, teams=teams)

    teams_service = application[TEAMS_BOT].service_factory("trust")
    # SlackBot makes its services on demand; _service is how its handlers get one.
    slack_service = application[SLACK_KEY]._service("trust")

    assert WorkflowService.of(teams_service).settings == planner
    assert WorkflowService.of(slack_service).settings == planner


async def health_of(application: web.Application) -> tuple[int, dict[str, str]]:
    async with TestClient(TestServer(application, host="127.0.0.1")) as client:
        response = await client.get("/healthz")
        return response.status, await response.json()


@pytest.mark.parametrize(
    ("slack_on", "teams_on"),
    [(False, False), (True, False), (False, True), (True, True)],
    ids=["neither", "slack", "teams", "both"],
)
async def test_health_reports_each_platform(database, slack_on, teams_on):
    slack = {"slack_signing_secret": "s3cret", "slack_bot_token": "xoxb-test"} if slack_on else {}
    teams = TeamsSettings(allow_unauthenticated=True, organisation="trust") if teams_on else None
    application = create_web_app(Settings(database_url="unused", **slack), database, teams=teams)
    status, body = await health_of(application)
    assert status == 200
    assert body == {
        "status": "ok",
        "database": "ok",
        "slack": "enabled" if slack_on else "disabled",
        "teams": "enabled" if teams_on else "disabled",
    }


async def test_health_without_database_still_reports_platforms(tmp_path):
    missing = Database(f"sqlite+aiosqlite:///{tmp_path}/gone/clipbot.sqlite3")
    (tmp_path / "gone").rmdir()
    teams = TeamsSettings(allow_unauthenticated=True, organisation="trust")
    try:
        status, body = await health_of(create_web_app(Settings(database_url="unused"), missing, teams=teams))
    finally:
        await missing.dispose()
    assert status == 503
    assert body == {"status": "unavailable", "database": "unreachable", "slack": "disabled", "teams": "enabled"}


async def test_disabled_slack_log_names_both_ways(database, caplog):
    with caplog.at_level(logging.INFO, logger="clipbot.server"):
        create_web_app(Settings(database_url="unused"), database)
    (line,) = [record.getMessage() for record in caplog.records if "Slack is disabled" in record.getMessage()]
    for name in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        assert name in line


async def test_jobs_start_line_is_readable(database, caplog):
    settings = Settings.from_environment({
        "DATABASE_URL": "sqlite+aiosqlite:///unused.sqlite3", "CLIPBOT_COACH_POST_LEAD_MINUTES": "45",
        "CLIPBOT_REMINDER_LEAD_MINUTES": "90", "CLIPBOT_MIDWEEK_NUDGE": "Thu 10:30",
    })
    clock = FixedClock(datetime(2026, 3, 2, 20, 0, tzinfo=ZoneInfo("Europe/London")))
    runner = web.AppRunner(create_web_app(settings, database, clock=clock, jobs=True))
    with caplog.at_level(logging.INFO, logger="clipbot.jobs"):
        await runner.setup()
        await runner.cleanup()

    (line,) = [record.getMessage() for record in caplog.records if record.getMessage().startswith("Started planning")]
    assert "every 15 minutes" in line
    assert "30 days after they expire" in line
    assert "posted 45 minutes before a shift" in line
    assert "reminders 1 hour 30 minutes before a session" in line
    assert "nudge is due Thu 10:30 (Europe/London)" in line
    assert ":00:00" not in line
