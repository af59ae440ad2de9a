"""The shared aiohttp application: which platform routes it serves, and its health check."""

from __future__ import annotations

from clipbot.bot.adapters.teams.settings import TeamsSettings
from clipbot.config import Settings
from clipbot.server import create_web_app


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
