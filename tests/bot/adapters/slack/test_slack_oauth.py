"""Installing the app in a workspace through OAuth, then serving that workspace with its own token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.oauth.installation_store.models.installation import Installation

from clipbot.bot.adapters.slack.app import BOT_CACHE_SECONDS, LinkingInstallationStore
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


async def test_auth_test_called_once_per_token(oauth_slack: SlackHarness):
    await install(oauth_slack, "code4")
    checks_at_install = len(oauth_slack.fake.calls_to("auth.test"))
    await oauth_slack.direct_message(STUDENT, "assessor")
    await oauth_slack.direct_message(STUDENT, "help")
    await oauth_slack.settle()
    checks = oauth_slack.fake.calls_to("auth.test")[checks_at_install:]
    assert [call.token for call in checks] == ["xoxb-installed-code4"]
    assert len(oauth_slack.fake.messages_to("D0002")) == 2


async def test_reinstall_token_used_at_once(oauth_slack: SlackHarness):
    await install(oauth_slack, "code5")
    await oauth_slack.direct_message(STUDENT, "assessor")
    await oauth_slack.settle()
    await install(oauth_slack, "code6")
    await oauth_slack.direct_message(STUDENT, "assessor")
    await oauth_slack.settle()
    answers = oauth_slack.fake.messages_to("D0002")
    assert [answer.token for answer in answers] == ["xoxb-installed-code5", "xoxb-installed-code6"]


def installation_with(token: str, installed_at: float) -> Installation:
    return Installation(
        app_id="A0001", enterprise_id=None, team_id=TEAM_ID, team_name="St Elsewhere", bot_token=token,
        bot_id="B0001", bot_user_id="UBOT0001", bot_scopes="chat:write", user_id="U0001", installed_at=installed_at,
    )


async def test_bot_lookup_cached_until_expiry(database: Database):
    now = 0.0
    store = LinkingInstallationStore(CLIENT_ID, database, ORGANISATION, monotonic=lambda: now)
    other_replica = LinkingInstallationStore(CLIENT_ID, database, ORGANISATION)
    await store.async_save(installation_with("xoxb-first", 1_772_400_000.0))
    first = await store.async_find_bot(enterprise_id=None, team_id=TEAM_ID)
    await other_replica.async_save(installation_with("xoxb-second", 1_772_400_060.0))

    now = BOT_CACHE_SECONDS - 1
    cached = await store.async_find_bot(enterprise_id=None, team_id=TEAM_ID)
    now = BOT_CACHE_SECONDS
    reread = await store.async_find_bot(enterprise_id=None, team_id=TEAM_ID)

    assert first is not None
    assert first.bot_token == "xoxb-first"
    assert cached is not None
    assert cached.bot_token == "xoxb-first"
    assert reread is not None
    assert reread.bot_token == "xoxb-second"
