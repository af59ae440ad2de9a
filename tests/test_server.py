"""The shared aiohttp application: which platform routes it serves, and its health check."""

from __future__ import annotations

from datetime import timedelta

from clipbot.bot.adapters.slack.routes import SLACK_KEY
from clipbot.bot.adapters.teams.app import TEAMS_BOT
from clipbot.bot.adapters.teams.settings import TeamsSettings
from clipbot.config import Settings
from clipbot.server import create_web_app
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
