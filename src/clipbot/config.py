"""Settings read once at start-up from the environment; tests build Settings directly."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from clipbot.storage.database import default_database_url

DEFAULT_SLACK_API_URL = "https://slack.com/api/"

# The place of each Slack value in the app's settings at api.slack.com/apps, for error messages.
_SLACK_HELP = {
    "SLACK_SIGNING_SECRET": "Basic Information > App Credentials > Signing Secret",
    "SLACK_BOT_TOKEN": "OAuth & Permissions > Bot User OAuth Token (starts with xoxb-)",
    "SLACK_CLIENT_ID": "Basic Information > App Credentials > Client ID",
    "SLACK_CLIENT_SECRET": "Basic Information > App Credentials > Client Secret",
    "SLACK_APP_TOKEN": "Basic Information > App-Level Tokens, with the connections:write scope (starts with xapp-)",
}
_TOKEN_PREFIXES = {"SLACK_BOT_TOKEN": "xoxb-", "SLACK_APP_TOKEN": "xapp-"}


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names it and the fix."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of one clipbot process.

    Slack is enabled by a signing secret together with either a bot token (one workspace) or a
    client id and secret (OAuth, any number of workspaces). `slack_app_token` is only needed for
    Socket Mode. `slack_organisation` is the organisation that Slack workspaces map to; empty means
    `organisation`.
    """

    database_url: str
    organisation: str = "default"
    log_level: str = "WARNING"
    slack_signing_secret: str = ""
    slack_bot_token: str = ""
    slack_client_id: str = ""
    slack_client_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = DEFAULT_SLACK_API_URL
    slack_organisation: str = ""

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_signing_secret and (self.slack_bot_token or self.slack_oauth))

    @property
    def slack_oauth(self) -> bool:
        """True when Slack workspaces install the app through OAuth instead of a fixed bot token."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def slack_workspace_organisation(self) -> str:
        return self.slack_organisation or self.organisation

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        data_dir = Path(environ.get("CLIPBOT_DATA_DIR", "clipbot-data"))
        url = environ.get("DATABASE_URL", "").strip() or default_database_url(data_dir)
        level = environ.get("CLIPBOT_LOG_LEVEL", "WARNING").strip().upper()
        if not isinstance(logging.getLevelName(level), int):
            raise ConfigError(
                f"CLIPBOT_LOG_LEVEL is '{level}', which is not a log level. Use DEBUG, INFO, WARNING or ERROR."
            )
        organisation = environ.get("CLIPBOT_ORGANISATION", "default").strip()
        if not organisation:
            raise ConfigError("CLIPBOT_ORGANISATION is empty. Set it to your trust's short name, or unset it.")

        slack = {name: environ.get(name, "").strip() for name in _SLACK_HELP}
        _check_slack(slack)
        return cls(
            database_url=url,
            organisation=organisation,
            log_level=level,
            slack_signing_secret=slack["SLACK_SIGNING_SECRET"],
            slack_bot_token=slack["SLACK_BOT_TOKEN"],
            slack_client_id=slack["SLACK_CLIENT_ID"],
            slack_client_secret=slack["SLACK_CLIENT_SECRET"],
            slack_app_token=slack["SLACK_APP_TOKEN"],
            slack_api_url=_slack_api_url(environ.get("SLACK_API_URL", "").strip()),
            slack_organisation=environ.get("SLACK_ORGANISATION", "").strip() or organisation,
        )

    def __repr__(self) -> str:
        # The database URL may carry a password, and the Slack values are credentials.
        def hidden(value: str) -> str:
            return "<hidden>" if value else "''"

        return (
            f"Settings(database_url=<hidden>, organisation={self.organisation!r}, log_level={self.log_level!r}, "
            f"slack_signing_secret={hidden(self.slack_signing_secret)}, "
            f"slack_bot_token={hidden(self.slack_bot_token)}, slack_client_id={self.slack_client_id!r}, "
            f"slack_client_secret={hidden(self.slack_client_secret)}, "
            f"slack_app_token={hidden(self.slack_app_token)}, slack_api_url={self.slack_api_url!r}, "
            f"slack_organisation={self.slack_organisation!r})"
        )


def _check_slack(values: Mapping[str, str]) -> None:
    """Raise ConfigError, naming the variable, for a Slack configuration that cannot work.

    Messages never contain the values themselves.
    """
    for name, prefix in _TOKEN_PREFIXES.items():
        if values[name] and not values[name].startswith(prefix):
            raise ConfigError(
                f"{name} does not start with '{prefix}', so it is not the right kind of token. "
                f"Copy it from your Slack app's settings: {_SLACK_HELP[name]}."
            )

    client_id, client_secret = values["SLACK_CLIENT_ID"], values["SLACK_CLIENT_SECRET"]
    if bool(client_id) != bool(client_secret):
        missing = "SLACK_CLIENT_SECRET" if client_id else "SLACK_CLIENT_ID"
        present = "SLACK_CLIENT_ID" if client_id else "SLACK_CLIENT_SECRET"
        raise ConfigError(
            f"{present} is set but {missing} is missing; OAuth needs both. "
            f"Copy it from your Slack app's settings: {_SLACK_HELP[missing]}."
        )
    if values["SLACK_BOT_TOKEN"] and client_id:
        raise ConfigError(
            "Both SLACK_BOT_TOKEN and SLACK_CLIENT_ID are set. Set SLACK_BOT_TOKEN for one workspace, "
            "or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install in several workspaces, not both."
        )

    tokens = [name for name in ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_APP_TOKEN") if values[name]]
    if tokens and not values["SLACK_SIGNING_SECRET"]:
        raise ConfigError(
            f"{tokens[0]} is set but SLACK_SIGNING_SECRET is missing, so requests from Slack cannot be "
            f"verified. Copy it from your Slack app's settings: {_SLACK_HELP['SLACK_SIGNING_SECRET']}."
        )
    if values["SLACK_SIGNING_SECRET"] and not (values["SLACK_BOT_TOKEN"] or client_id):
        raise ConfigError(
            "SLACK_SIGNING_SECRET is set but there is no token to call Slack with. Set SLACK_BOT_TOKEN "
            "for one workspace, or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install in several."
        )


def _slack_api_url(text: str) -> str:
    if not text:
        return DEFAULT_SLACK_API_URL
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"SLACK_API_URL is '{text}', which is not an http or https URL. "
            f"Use the Web API base URL, for example {DEFAULT_SLACK_API_URL}, or unset it."
        )
    # The Web API client joins method names onto the base URL, which therefore ends with a slash.
    return text if text.endswith("/") else text + "/"
