"""Settings from the environment: database URL, log level, the planner's schedule and outbox retention."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from clipbot.config import ConfigError, Settings, describe_duration, describe_nudge
from clipbot.domain.protected_time import ProtectedTimePolicy
from clipbot.workflows.planner import PlannerSettings


def environment(**values: str) -> dict[str, str]:
    return {"DATABASE_URL": "sqlite+aiosqlite:///unused.sqlite3", **values}


def test_schedule_defaults_when_unset():
    settings = Settings.from_environment(environment())
    assert settings.planner == PlannerSettings()
    assert settings.outbox_retention == timedelta(days=30)


def test_empty_values_mean_defaults():
    settings = Settings.from_environment(environment(
        CLIPBOT_COACH_POST_LEAD_MINUTES="", CLIPBOT_MIDWEEK_NUDGE=" ", CLIPBOT_REMINDER_LEAD_MINUTES="",
        CLIPBOT_OUTBOX_RETENTION_DAYS="",
    ))
    assert settings.planner == PlannerSettings()
    assert settings.outbox_retention == timedelta(days=30)


def test_schedule_values_read():
    settings = Settings.from_environment(environment(
        CLIPBOT_COACH_POST_LEAD_MINUTES="45", CLIPBOT_MIDWEEK_NUDGE="Thu 10:30",
        CLIPBOT_REMINDER_LEAD_MINUTES="90", CLIPBOT_OUTBOX_RETENTION_DAYS="7",
    ))
    assert settings.planner.coach_post_lead == timedelta(minutes=45)
    assert settings.planner.nudge.nudge_weekday == 3
    assert settings.planner.nudge.nudge_time == time(10, 30)
    assert settings.planner.reminder_lead == timedelta(minutes=90)
    assert settings.outbox_retention == timedelta(days=7)
    # The settings that have no variable keep their defaults.
    assert settings.planner.offer_time == PlannerSettings().offer_time
    assert settings.planner.digest_time == PlannerSettings().digest_time


@pytest.mark.parametrize(
    ("text", "weekday", "moment"),
    [
        ("wednesday 13:15", 2, time(13, 15)),
        ("SUN 9:05", 6, time(9, 5)),
        ("  Fri   16:00 ", 4, time(16, 0)),
        ("Mon 09:01", 0, time(9, 1)),
    ],
)
def test_midweek_nudge_forms(text, weekday, moment):
    nudge = Settings.from_environment(environment(CLIPBOT_MIDWEEK_NUDGE=text)).planner.nudge
    assert nudge.nudge_weekday == weekday
    assert nudge.nudge_time == moment


def test_coach_post_lead_zero_allowed():
    settings = Settings.from_environment(environment(CLIPBOT_COACH_POST_LEAD_MINUTES="0"))
    assert settings.planner.coach_post_lead == timedelta(0)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        pytest.param("CLIPBOT_MIDWEEK_NUDGE", "Wedn 12:00", "'Wedn' is not a day of the week", id="weekday-typo"),
        pytest.param("CLIPBOT_MIDWEEK_NUDGE", "Wed 25:00", "'25:00' is not a 24-hour time", id="hour-too-large"),
        pytest.param("CLIPBOT_MIDWEEK_NUDGE", "Wed 12.00", "'12.00' is not a 24-hour time", id="dot-in-time"),
        pytest.param("CLIPBOT_MIDWEEK_NUDGE", "Wed", "not a day and a time", id="time-missing"),
        pytest.param("CLIPBOT_MIDWEEK_NUDGE", "Wed 12:00 noon", "not a day and a time", id="extra-word"),
        pytest.param("CLIPBOT_MIDWEEK_NUDGE", "Mon 09:00", "not after the weekly offer", id="at-offer-time"),
        pytest.param("CLIPBOT_COACH_POST_LEAD_MINUTES", "-5", "negative", id="negative-lead"),
        pytest.param("CLIPBOT_COACH_POST_LEAD_MINUTES", "30m", "not a whole number of minutes", id="unit-in-lead"),
        pytest.param("CLIPBOT_COACH_POST_LEAD_MINUTES", "1441", "more than 1440 minutes", id="lead-over-a-day"),
        pytest.param("CLIPBOT_REMINDER_LEAD_MINUTES", "0", "below the minimum of 1", id="zero-reminder-lead"),
        pytest.param("CLIPBOT_REMINDER_LEAD_MINUTES", "-60", "negative", id="negative-reminder-lead"),
        pytest.param("CLIPBOT_OUTBOX_RETENTION_DAYS", "6", "below the minimum of 7", id="retention-too-short"),
        pytest.param("CLIPBOT_OUTBOX_RETENTION_DAYS", "30.5", "not a whole number of days", id="fractional-days"),
        pytest.param("CLIPBOT_OUTBOX_RETENTION_DAYS", "100000", "more than 3650 days", id="retention-too-long"),
    ],
)
def test_bad_value_names_variable_value_and_fix(name, value, problem):
    with pytest.raises(ConfigError) as raised:
        Settings.from_environment(environment(**{name: value}))
    message = str(raised.value)
    assert message.startswith(f"{name} is '{value.strip()}'")
    assert problem in message
    assert "unset it for" in message


def test_planner_settings_in_repr():
    text = repr(Settings.from_environment(environment(CLIPBOT_COACH_POST_LEAD_MINUTES="45")))
    assert "coach_post_lead=datetime.timedelta(seconds=2700)" in text
    assert "outbox_retention=datetime.timedelta(days=30)" in text


def test_database_url_gets_async_driver():
    settings = Settings.from_environment({"DATABASE_URL": "postgres://clip:secret@db:5432/clipbot"})
    assert settings.database_url == "postgresql+asyncpg://clip:secret@db:5432/clipbot"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        pytest.param("mysql://clip:hunter2@db/clipbot", "which uses mysql", id="unsupported-database"),
        pytest.param("postgresql+psycopg2://clip:hunter2@db/clipbot", "which uses postgresql+psycopg2",
                     id="unsupported-driver"),
        pytest.param("clip:hunter2@db/clipbot", "could not be read as a database URL", id="not-a-url"),
    ],
)
def test_bad_database_url_names_variable(url, problem):
    with pytest.raises(ConfigError) as raised:
        Settings.from_environment({"DATABASE_URL": url})
    message = str(raised.value)
    assert message.startswith("DATABASE_URL is '")
    assert problem in message
    assert "hunter2" not in message


def test_sqlite_path_gets_url_suggestion(tmp_path):
    with pytest.raises(ConfigError) as raised:
        Settings.from_environment({"DATABASE_URL": str(tmp_path / "clipbot.sqlite3")})
    assert f"write sqlite+aiosqlite:///{tmp_path / 'clipbot.sqlite3'}." in str(raised.value)


def test_log_level_empty_when_unset():
    assert Settings.from_environment(environment()).log_level == ""
    assert Settings.from_environment(environment(CLIPBOT_LOG_LEVEL=" debug ")).log_level == "DEBUG"


def test_unknown_log_level_rejected():
    with pytest.raises(ConfigError, match="CLIPBOT_LOG_LEVEL is 'LOUD'"):
        Settings.from_environment(environment(CLIPBOT_LOG_LEVEL="loud"))


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(days=30), "30 days"),
        (timedelta(minutes=45), "45 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(minutes=90), "1 hour 30 minutes"),
        (timedelta(days=1, minutes=1), "1 day 1 minute"),
        (timedelta(seconds=15), "15 seconds"),
        (timedelta(0), "0 minutes"),
    ],
)
def test_describe_duration(duration, text):
    assert describe_duration(duration) == text


@pytest.mark.parametrize("text", ["Thu 10:30", "Mon 09:01", "Sun 23:59"])
def test_describe_nudge_reads_back(text):
    nudge = Settings.from_environment(environment(CLIPBOT_MIDWEEK_NUDGE=text.upper())).planner.nudge
    assert describe_nudge(nudge) == text


def test_describe_default_nudge():
    assert describe_nudge(ProtectedTimePolicy()) == "Wed 12:00"
