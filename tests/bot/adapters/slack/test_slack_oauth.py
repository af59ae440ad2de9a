"""Installing the app in a workspace through OAuth, then serving that workspace with its own token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from clipbot.clock import FixedClock
from clipbot.server import create_web_app
from clipbot.service import WardService
from clipbot.storage import platforms
from clipbot.storage.database import Database
from fakes.slack_api import TEAM_ID, FakeSlackApi
from slack_harness import NOW, ORGANISATION, STUDENT, SlackHarness, seed, slack_settings, start_server

CLIENT_ID = "1234.5678"


@pytest.fixture
async def oauth_slack(database: Database, fake_slack: FakeSlackApi) -> AsyncIterator[SlackHarness]:
    clock = FixedClock(NOW)
    service = WardService(database, clock, ORGANISATION)
    await seed(service)
    settings = slack_settings(
        fake_slack, slack_bot_token="", slack_client_id=CLIENT_ID, slack_client_secret="client-secret-for-tests",
    )
    application = create_web_app(settings, database, clock=clock)
    runner, url = await start_server(application)
    async with aiohttp.ClientSession() as http:
        yield SlackHarness(url, http, fake_slack, application, service, [])
    await runner.cleanup()


async def install(slack: SlackHarness, code: str) -> int:
    """Visit the install page, then come back from Slack with `code`; return the final HTTP status."""
    async with slack.http.get(slack.url + "/slack/install") as page:
        html = await page.text()
        cookie = page.headers["Set-Cookie"].split(";")[0]
    state = re.search(r"state=([^&\"]+)", html)
    assert state is not None
    async with slack.http.get(
        slack.url + "/slack/oauth_redirect", params={"code": code, "state": state.group(1)},
        headers={"Cookie": cookie},
    ) as response:
        await response.read()
        return response.status


async def test_install_page_links_to_slack(oauth_slack: SlackHarness):
    async with oauth_slack.http.get(oauth_slack.url + "/slack/install") as page:
        html = await page.text()
        status = page.status
    assert status == 200
    assert f"client_id={CLIENT_ID}" in html
    assert "chat%3Awrite" in html or "chat:write" in html


async def test_install_links_workspace_to_organisation(oauth_slack: SlackHarness):
    assert await install(oauth_slack, "code1") == 200
    async with oauth_slack.service.database.session() as session:
        organisation = await platforms.organisation_of_workspace(session, "slack", TEAM_ID)
    assert organisation == ORGANISATION


async def test_installed_workspace_answered_with_its_token(oauth_slack: SlackHarness):
    await install(oauth_slack, "code2")
    await oauth_slack.direct_message(STUDENT, "assessor")
    await oauth_slack.settle()
    [answer] = oauth_slack.fake.messages_to("D0002")
    assert answer.token == "xoxb-installed-code2"


async def test_callback_without_state_cookie_refused(oauth_slack: SlackHarness):
    async with oauth_slack.http.get(oauth_slack.url + "/slack/install") as page:
        state = re.search(r"state=([^&\"]+)", await page.text())
    assert state is not None
    async with oauth_slack.http.get(
        oauth_slack.url + "/slack/oauth_redirect", params={"code": "code3", "state": state.group(1)},
    ) as response:
        status = response.status
    assert status == 400
    assert oauth_slack.fake.calls_to("oauth.v2.access") == []
