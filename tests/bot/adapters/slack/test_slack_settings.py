"""Slack settings from the environment, the server without Slack, Socket Mode and `clipbot serve`."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from clipbot.bot.adapters.slack.app import BOT_SCOPES
from clipbot.cli import main
from clipbot.config import DEFAULT_SLACK_API_URL, ConfigError, Settings
from clipbot.bot.adapters.slack.routes import SLACK_KEY, socket_mode_handler
from clipbot.server import create_web_app
from clipbot.storage.database import Database
from fakes.slack_api import FakeSlackApi
from slack_harness import slack_settings, start_server

BOT_TOKEN = "xoxb-1111-2222-abcdefabcdef"
APP_TOKEN = "xapp-1-A0001-3333-abcdefabcdef"


def environment(**values: str) -> dict[str, str]:
    return {"DATABASE_URL": "sqlite+aiosqlite:///unused.sqlite3", **values}


def test_single_workspace_settings_read():
    settings = Settings.from_environment(environment(
        SLACK_SIGNING_SECRET="secret", SLACK_BOT_TOKEN=BOT_TOKEN, CLIPBOT_ORGANISATION="st-elsewhere",
    ))
    assert settings.slack_enabled is True
    assert settings.slack_oauth is False
    assert settings.slack_api_url == DEFAULT_SLACK_API_URL
    assert settings.slack_workspace_organisation == "st-elsewhere"


def test_slack_organisation_overrides_default():
    settings = Settings.from_environment(environment(
        SLACK_SIGNING_SECRET="secret", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_ORGANISATION="north-trust",
    ))
    assert settings.slack_workspace_organisation == "north-trust"


def test_api_url_gets_trailing_slash():
    settings = Settings.from_environment(environment(SLACK_API_URL="http://127.0.0.1:8080/api"))
    assert settings.slack_api_url == "http://127.0.0.1:8080/api/"


def test_no_slack_variables_means_disabled():
    assert Settings.from_environment(environment()).slack_enabled is False


@pytest.mark.parametrize(
    ("values", "named"),
    [
        pytest.param({"SLACK_BOT_TOKEN": BOT_TOKEN}, "SLACK_SIGNING_SECRET", id="token-without-secret"),
        pytest.param({"SLACK_APP_TOKEN": APP_TOKEN}, "SLACK_SIGNING_SECRET", id="app-token-without-secret"),
        pytest.param({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN", id="secret-without-token"),
        pytest.param({"SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_ID": "1.2"}, "SLACK_CLIENT_SECRET",
                     id="client-id-without-secret"),
        pytest.param({"SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN",
                     id="user-token-as-bot-token"),
        pytest.param({"SLACK_API_URL": "slack.example"}, "SLACK_API_URL", id="api-url-without-scheme"),
    ],
)
def test_bad_slack_settings_name_the_variable(values, named):
    with pytest.raises(ConfigError) as raised:
        Settings.from_environment(environment(**values))
    assert named in str(raised.value)


def test_secrets_hidden_in_repr_and_errors():
    settings = Settings.from_environment(environment(
        SLACK_SIGNING_SECRET="very-secret-signing", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN,
    ))
    shown = repr(settings)
    assert "very-secret-signing" not in shown
    assert BOT_TOKEN not in shown
    assert APP_TOKEN not in shown
    with pytest.raises(ConfigError) as raised:
        Settings.from_environment(environment(SLACK_BOT_TOKEN="xoxp-secret-user-token"))
    assert "xoxp-secret-user-token" not in str(raised.value)


async def test_server_without_slack_serves_health_only(database: Database, caplog):
    with caplog.at_level(logging.INFO, logger="clipbot.server"):
        application = create_web_app(Settings(database_url="unused"), database)
    runner, url = await start_server(application)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(url + "/healthz") as health:
                body = await health.json()
            async with http.post(url + "/slack/events", data="{}") as events:
                events_status = events.status
    finally:
        await runner.cleanup()
    assert body == {"status": "ok", "database": "ok", "slack": "disabled", "teams": "disabled"}
    assert events_status == 404
    disabled = [record for record in caplog.records if "Slack is disabled" in record.getMessage()]
    assert len(disabled) == 1
    assert disabled[0].levelno == logging.INFO


async def test_health_check_fails_without_database(tmp_path):
    missing = Database(f"sqlite+aiosqlite:///{tmp_path}/gone/clipbot.sqlite3")
    (tmp_path / "gone").rmdir()
    runner, url = await start_server(create_web_app(Settings(database_url="unused"), missing))
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(url + "/healthz") as health:
                status = health.status
                body = await health.json()
    finally:
        await runner.cleanup()
        await missing.dispose()
    assert status == 503
    assert body["database"] == "unreachable"


async def test_socket_mode_uses_same_app(database: Database, fake_slack: FakeSlackApi):
    settings = slack_settings(fake_slack, slack_app_token=APP_TOKEN)
    application = create_web_app(settings, database)
    bot = application[SLACK_KEY]
    handler = socket_mode_handler(bot, settings.slack_app_token)
    assert isinstance(handler, AsyncSocketModeHandler)
    assert handler.app is bot.app
    assert handler.client.app_token == APP_TOKEN
    await handler.client.close()


def test_serve_socket_mode_needs_app_token(monkeypatch, capsys):
    monkeypatch.setenv("CLIPBOT_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    assert main(["serve", "--socket-mode"]) == 2
    assert "SLACK_APP_TOKEN" in capsys.readouterr().err


def test_serve_token_without_secret_refused(monkeypatch, capsys):
    monkeypatch.setenv("CLIPBOT_LOG_LEVEL", "WARNING")
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    assert main(["serve"]) == 2
    assert "SLACK_SIGNING_SECRET" in capsys.readouterr().err


def test_manifest_asks_for_the_scopes_the_app_uses():
    manifest = (Path(__file__).parents[4] / "deploy" / "slack-app-manifest.yml").read_text(encoding="utf-8")
    scopes_block = manifest.split("    bot:\n", 1)[1].split("settings:", 1)[0]
    scopes = [line.strip().removeprefix("- ") for line in scopes_block.splitlines() if line.strip()]
    assert sorted(scopes) == sorted(BOT_SCOPES)
    assert manifest.count("/slack/events") == 3


async def test_no_unused_token_warning_at_start(database, caplog, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    settings = Settings(database_url="unused", slack_signing_secret="s3cret", slack_bot_token="xoxb-test")
    with caplog.at_level(logging.WARNING):
        create_web_app(settings, database)
    assert "will be unused" not in caplog.text
