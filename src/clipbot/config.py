"""Settings read once at start-up from the environment; tests build Settings directly."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from clipbot.domain.protected_time import ProtectedTimePolicy
from clipbot.storage.database import default_database_url, normalise_database_url
from clipbot.workflows.planner import PlannerSettings

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

# Leads are capped at a day. The planning job looks 24 hours ahead, so a longer coach post lead could
# post late, and a reminder more than a day before a session is most likely a typing mistake.
MAX_LEAD_MINUTES = 24 * 60
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NUDGE_EXAMPLE = "'Wed 12:00' (a day, Mon to Sun, and a 24-hour local time)"

DEFAULT_OUTBOX_RETENTION_DAYS = 30
# Finished outbox messages are deleted this many days after their not_after, or after their last
# change when they have none, and a deleted message must never be planned and sent again. The
# planner gives every message a not_after and plans only those whose not_after is still ahead, so a
# deleted message is not planned again while the rosters and sessions behind it are unchanged. A
# re-imported roster can move a shift's end, and so its coach post's not_after, by hours, well
# inside 7 days. Counting from not_after matters, because the planner's longest window from due
# time to not_after is about 9 days. A check after a Monday session stays valid until the next
# week's digest, which Christmas bank holidays delay to the Wednesday. So 7 days counted from the
# sending time would not be enough.
MIN_OUTBOX_RETENTION_DAYS = 7
# About ten years; a larger number is most likely a typing mistake.
MAX_OUTBOX_RETENTION_DAYS = 3650


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names it and the fix."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of one clipbot process.

    `log_level` is empty when CLIPBOT_LOG_LEVEL is unset, so that each command chooses its own
    default. Slack is enabled by a signing secret together with either a bot token (one workspace) or a
    client id and secret (OAuth, any number of workspaces). `slack_app_token` is only needed for
    Socket Mode. `slack_organisation` is the organisation that Slack workspaces map to; empty means
    `organisation`. `planner` sets when the bot's own messages are due, and `outbox_retention` how
    long finished outbox messages are kept after their not_after.
    """

    database_url: str
    organisation: str = "default"
    log_level: str = ""
    slack_signing_secret: str = ""
    slack_bot_token: str = ""
    slack_client_id: str = ""
    slack_client_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = DEFAULT_SLACK_API_URL
    slack_organisation: str = ""
    planner: PlannerSettings = field(default_factory=PlannerSettings)
    outbox_retention: timedelta = timedelta(days=DEFAULT_OUTBOX_RETENTION_DAYS)

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
        url_text = environ.get("DATABASE_URL", "").strip()
        url = _database_url(url_text) if url_text else default_database_url(data_dir)
        level = environ.get("CLIPBOT_LOG_LEVEL", "").strip().upper()
        if level and not isinstance(logging.getLevelName(level), int):
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
            planner=_planner_settings(environ),
            outbox_retention=_outbox_retention(environ),
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
            f"slack_organisation={self.slack_organisation!r}, planner={self.planner!r}, "
            f"outbox_retention={self.outbox_retention!r})"
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


def _database_url(text: str) -> str:
    try:
        return normalise_database_url(text, name="DATABASE_URL")
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _planner_settings(environ: Mapping[str, str]) -> PlannerSettings:
    defaults = PlannerSettings()
    coach_post_lead = _whole_number(
        environ, "CLIPBOT_COACH_POST_LEAD_MINUTES", int(defaults.coach_post_lead.total_seconds() // 60),
        0, MAX_LEAD_MINUTES, "minutes", "the minutes before a shift starts at which its coach groups are posted",
    )
    reminder_lead = _whole_number(
        environ, "CLIPBOT_REMINDER_LEAD_MINUTES", int(defaults.reminder_lead.total_seconds() // 60),
        1, MAX_LEAD_MINUTES, "minutes", "the minutes before a protected-time session at which both are reminded",
        minimum_reason="A reminder due at the session start itself is not sent.",
    )
    return PlannerSettings(
        coach_post_lead=timedelta(minutes=coach_post_lead),
        reminder_lead=timedelta(minutes=reminder_lead),
        nudge=_midweek_nudge(environ, defaults),
    )


def _outbox_retention(environ: Mapping[str, str]) -> timedelta:
    days = _whole_number(
        environ, "CLIPBOT_OUTBOX_RETENTION_DAYS", DEFAULT_OUTBOX_RETENTION_DAYS,
        MIN_OUTBOX_RETENTION_DAYS, MAX_OUTBOX_RETENTION_DAYS, "days",
        "the days to keep sent, dropped and failed outbox messages",
        minimum_reason="Fewer days leave too little margin to be sure that a deleted message is never sent again.",
    )
    return timedelta(days=days)


def _whole_number(
    environ: Mapping[str, str], name: str, default: int, minimum: int, maximum: int, unit: str, meaning: str,
    *, minimum_reason: str = "",
) -> int:
    """Read a whole number of `unit` from `name`, or `default` when it is unset or empty.

    `minimum_reason` is a sentence saying why a smaller number is rejected.
    """
    text = environ.get(name, "").strip()
    if not text:
        return default
    fix = f"Set it to {meaning}, a whole number from {minimum} to {maximum}, or unset it for {default}."
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name} is '{text}', which is not a whole number of {unit}. {fix}") from None
    if value < 0:
        raise ConfigError(f"{name} is '{text}', which is negative. {fix}")
    if value < minimum:
        reason = f" {minimum_reason}" if minimum_reason else ""
        raise ConfigError(f"{name} is '{text}', which is below the minimum of {minimum}.{reason} {fix}")
    if value > maximum:
        raise ConfigError(f"{name} is '{text}', which is more than {maximum} {unit}. {fix}")
    return value


def _midweek_nudge(environ: Mapping[str, str], defaults: PlannerSettings) -> ProtectedTimePolicy:
    """Read CLIPBOT_MIDWEEK_NUDGE, a day and a local time such as 'Wed 12:00', for the weekly nudge."""
    name = "CLIPBOT_MIDWEEK_NUDGE"
    text = environ.get(name, "").strip()
    if not text:
        return defaults.nudge
    fix = f"Write a day and a time, for example {_NUDGE_EXAMPLE}, or unset it for Wednesday at 12:00."
    parts = text.split()
    if len(parts) != 2:
        raise ConfigError(f"{name} is '{text}', which is not a day and a time. {fix}")

    day_text, time_text = parts
    weekday = _weekday(day_text)
    if weekday is None:
        raise ConfigError(f"{name} is '{text}', and '{day_text}' is not a day of the week. {fix}")
    try:
        moment = datetime.strptime(time_text, "%H:%M").time()
    except ValueError:
        raise ConfigError(f"{name} is '{text}', and '{time_text}' is not a 24-hour time. {fix}") from None

    # The planner leaves out a nudge that is not after the week's offer, so it would never be sent.
    if (weekday, moment) <= (0, defaults.offer_time):
        raise ConfigError(
            f"{name} is '{text}', which is not after the weekly offer on Monday at "
            f"{defaults.offer_time:%H:%M}, so the nudge would never be sent. Choose a later day or time, "
            f"for example {_NUDGE_EXAMPLE}, or unset it for Wednesday at 12:00."
        )
    return ProtectedTimePolicy(nudge_weekday=weekday, nudge_time=moment)


def describe_nudge(policy: ProtectedTimePolicy) -> str:
    """Write the nudge's day and time the way CLIPBOT_MIDWEEK_NUDGE takes them, for example 'Thu 10:30'."""
    return f"{_DAY_NAMES[policy.nudge_weekday][:3].title()} {policy.nudge_time:%H:%M}"


def describe_duration(duration: timedelta) -> str:
    """Write `duration` in whole days, hours, minutes and seconds, for example '30 days' or '1 hour 30 minutes'."""
    seconds = round(duration.total_seconds())
    sign = "-" if seconds < 0 else ""
    minutes, seconds = divmod(abs(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    units = ((days, "day"), (hours, "hour"), (minutes, "minute"), (seconds, "second"))
    parts = [f"{count} {unit}{'' if count == 1 else 's'}" for count, unit in units if count]
    return sign + " ".join(parts) if parts else "0 minutes"


def _weekday(text: str) -> int | None:
    """Return 0 for Monday to 6 for Sunday from a full or three-letter English day name, in any case."""
    folded = text.casefold()
    for number, day in enumerate(_DAY_NAMES):
        if folded in (day, day[:3]):
            return number
    return None


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
