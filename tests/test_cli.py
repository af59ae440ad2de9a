"""The command line as an educator or administrator meets it: imports, bad files, matching, demo."""

from __future__ import annotations

import io
import logging
import os
import secrets
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import make_url

from clipbot.cli import LIBRARY_LOG_LEVELS, configure_logging, log_level, main
from clipbot.config import Settings

PEOPLE = """id,name,role,field,email
S1,Amira Khan,student,adult,amira@example.org
S2,Ben Price,student,adult,
RN1,Grace Obi,registered nurse,adult,
RN2,Hugh Bell,registered nurse,adult,
RN3,Ivy Ross,registered nurse,children,
HCA1,Jo Wood,healthcare assistant,,
CE1,Sam Carter,registered nurse,adult,
"""

SHIFTS = """date,shift,person,in_charge
2026-03-02,Early,S1,
2026-03-02,Early,S2,
2026-03-02,Early,RN1,yes
2026-03-02,Early,RN2,
2026-03-02,Early,HCA1,
2026-03-03,Late,S1,
2026-03-03,Late,RN3,
2026-03-03,Late,RN2,
"""


@pytest.fixture
def workspace(tmp_path: Path, cli_database_url: str, monkeypatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", cli_database_url)
    (tmp_path / "people.csv").write_text(PEOPLE, encoding="utf-8")
    (tmp_path / "shifts.csv").write_text(SHIFTS, encoding="utf-8")
    return tmp_path


def import_csv(folder: Path, *extra: str, people: str = "people.csv", shifts: str = "shifts.csv") -> int:
    return main(["roster", "import", "csv", str(folder / people), str(folder / shifts), "--ward", "6-west", *extra])


def test_csv_import_then_reimport_unchanged(workspace, capsys):
    assert import_csv(workspace) == 0
    first = capsys.readouterr().out
    assert import_csv(workspace) == 0
    second = capsys.readouterr().out
    assert "Imported ward 6-west" in first
    assert "created" in first
    assert "created=0" in second or "0 created" in second


def test_dry_run_writes_nothing(workspace, capsys):
    assert import_csv(workspace, "--dry-run") == 0
    assert "dry run, nothing written" in capsys.readouterr().out
    assert main(["coaches", "6-west", "2026-03-02"]) == 2
    assert "There is no ward called '6-west'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("people", "shifts", "expected"),
    [
        # A column the format does not have.
        (PEOPLE.replace("email", "pager"), SHIFTS, ["people.csv", "line 1", "pager"]),
        # A shift type the ward does not use.
        (PEOPLE, SHIFTS.replace("2026-03-03,Late,S1", "2026-03-03,Twilight,S1"), ["shifts.csv", "line 7", "Twilight"]),
        # The same person twice.
        (PEOPLE + "RN1,Grace Obi again,registered nurse,adult,\n", SHIFTS, ["people.csv", "line 9", "RN1"]),
    ],
    ids=["unknown-column", "unknown-shift", "duplicated-person"],
)
def test_bad_roster_rejected_and_nothing_changes(workspace, capsys, people, shifts, expected):
    assert import_csv(workspace) == 0
    capsys.readouterr()
    (workspace / "bad-people.csv").write_text(people, encoding="utf-8")
    (workspace / "bad-shifts.csv").write_text(shifts, encoding="utf-8")

    status = import_csv(workspace, people="bad-people.csv", shifts="bad-shifts.csv")
    errors = capsys.readouterr().err
    assert status == 2
    for text in expected:
        assert text in errors

    # Importing the good files again finds every row already there, so the bad import wrote nothing.
    assert import_csv(workspace, "--dry-run") == 0
    report = capsys.readouterr().out
    assert "updated=0" in report or "0 updated" in report
    assert "removed=0" in report or "0 removed" in report


def test_student_as_coach_rejected(workspace, capsys):
    shifts = "date,shift,person,coach\n2026-03-02,Early,S1,S2\n2026-03-02,Early,S2,\n2026-03-02,Early,RN1,\n"
    (workspace / "coach-shifts.csv").write_text(shifts, encoding="utf-8")
    status = import_csv(workspace, shifts="coach-shifts.csv")
    errors = capsys.readouterr().err
    assert status == 2
    assert "line 2" in errors
    assert "coach" in errors
    assert "S2" in errors


def test_match_and_coaches_commands(workspace, capsys):
    assert import_csv(workspace) == 0
    assert main(["match", "6-west", "--confirm"]) == 0
    output = capsys.readouterr().out
    assert "Proposed 4 pairs" in output
    assert "Confirmed 4 pairs" in output
    assert main(["coaches", "6-west", "2026-03-02"]) == 0
    posts = capsys.readouterr().out
    assert "Coach groups for the Early Mon 02 Mar 06:30-14:30 shift" in posts
    group_lines = [line for line in posts.splitlines() if "Amira Khan (S1)" in line or "Ben Price (S2)" in line]
    assert 1 <= len(group_lines) <= 2
    assert "Amira Khan (S1)" in "".join(group_lines)
    assert "Ben Price (S2)" in "".join(group_lines)


def test_educator_needs_name_when_not_on_roster(workspace, capsys):
    assert import_csv(workspace) == 0
    assert main(["educator", "NOBODY", "6-west"]) == 2
    assert "Give --name" in capsys.readouterr().err


def test_bad_date_argument_exits_2(workspace, capsys):
    with pytest.raises(SystemExit) as raised:
        main(["coaches", "6-west", "31/02/2026"])
    assert raised.value.code == 2
    assert "'31/02/2026' is not a date" in capsys.readouterr().err


def test_demo_runs_on_bundled_roster(capsys, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["demo"]) == 0
    output = capsys.readouterr().out
    assert "Ward n021w4" in output
    assert "Confirmed 10 pairs" in output
    assert "Students: 5" in output
    assert "Supervision gaps:" in output


def test_chat_reads_lines_from_stdin(workspace, capsys, monkeypatch):
    assert import_csv(workspace) == 0
    assert main(["educator", "CE1", "6-west"]) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("help\nmatch 6-west\n1\n"))
    assert main(["chat", "--as", "CE1", "--at", "2026-03-02 09:00"]) == 0
    output = capsys.readouterr().out
    assert "Clinical educator commands:" in output
    assert "Proposed 4 pairs for 2 students on 6-west" in output
    assert "Confirmed 4 pairs for 6-west" in output


def test_chat_as_unknown_person_exits_2(workspace, capsys):
    assert import_csv(workspace) == 0
    assert main(["chat", "--as", "NOBODY"]) == 2
    assert "'NOBODY' is not on any roster" in capsys.readouterr().err


def test_db_upgrade_reports_up_to_date(workspace, capsys):
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.count("The database is up to date.") == 2


def test_bad_roster_creates_no_database(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("CLIPBOT_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "people.csv").write_text(PEOPLE.replace("email", "pager"), encoding="utf-8")
    (tmp_path / "shifts.csv").write_text(SHIFTS, encoding="utf-8")
    assert import_csv(tmp_path) == 2
    assert not (tmp_path / "data").exists()


def test_reimport_keeps_ward_name(workspace, capsys):
    assert import_csv(workspace, "--ward-name", "6 West") == 0
    assert import_csv(workspace) == 0
    capsys.readouterr()
    assert main(["coaches", "6-west", "2026-03-07"]) == 0
    assert "No students are on shift on 6 West" in capsys.readouterr().out


def test_teams_package_written(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MicrosoftAppId", "00000000-0000-0000-0000-000000000001")
    monkeypatch.setenv("MicrosoftAppPassword", "not-a-real-secret")
    out = tmp_path / "clipbot-teams.zip"
    assert main(["teams-package", str(out), "--website-url", "https://clipbot.example.nhs.uk/"]) == 0
    assert out.is_file()
    assert "not-a-real-secret" not in capsys.readouterr().out


def test_teams_package_needs_https(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MicrosoftAppId", "00000000-0000-0000-0000-000000000001")
    monkeypatch.setenv("MicrosoftAppPassword", "not-a-real-secret")
    assert main(["teams-package", str(tmp_path / "x.zip"), "--website-url", "http://insecure.example/"]) == 2
    assert "https" in capsys.readouterr().err


def test_educator_creates_new_ward(workspace, capsys):
    assert main(["educator", "CE9", "7-east", "--name", "Jo Marsh", "--ward-name", "7 East"]) == 0
    assert "CE9 is now the clinical educator for 7-east." in capsys.readouterr().out
    assert main(["coaches", "7-east", "2026-03-02"]) == 0
    assert "No students are on shift on 7 East" in capsys.readouterr().out


def test_student_cannot_be_educator(workspace, capsys):
    assert import_csv(workspace) == 0
    capsys.readouterr()
    assert main(["educator", "S1", "6-west"]) == 2
    assert "A clinical educator must be a registered nurse" in capsys.readouterr().err


def test_educator_email_set_on_rerun(workspace, capsys):
    assert import_csv(workspace) == 0
    assert main(["educator", "CE1", "6-west"]) == 0
    first = capsys.readouterr().out
    assert "No e-mail address is stored for CE1" in first
    assert "again with --email" in first

    assert main(["educator", "CE1", "6-west", "--email", "sam.carter@example.org"]) == 0
    second = capsys.readouterr().out
    assert "CE1 is now the clinical educator for 6-west." in second
    assert "by its e-mail address, sam.carter@example.org." in second

    # Without --email the stored address stays and is shown.
    assert main(["educator", "CE1", "6-west"]) == 0
    assert "by its e-mail address, sam.carter@example.org." in capsys.readouterr().out


def test_educator_bad_email_exits_2(workspace, capsys):
    status = main(["educator", "CE9", "7-east", "--name", "Jo Marsh", "--email", "jo.marsh@nhs"])
    errors = capsys.readouterr().err
    assert status == 2
    assert "'jo.marsh@nhs' is not an e-mail address" in errors
    assert "--email" in errors
    # Nothing was written, not even the new ward.
    assert main(["coaches", "7-east"]) == 2
    assert "There is no ward called '7-east'" in capsys.readouterr().err


def test_educator_shared_email_exits_2(workspace, capsys):
    assert import_csv(workspace) == 0
    capsys.readouterr()
    assert main(["educator", "CE1", "6-west", "--email", "amira@example.org"]) == 2
    assert "already the e-mail address of Amira Khan (S1)" in capsys.readouterr().err


APP_ID = "00000000-0000-0000-0000-000000000001"


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections: it is bound, so nothing else gets it, but not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that another program is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def logging_state() -> Iterator[None]:
    """Restore the log levels that configure_logging changes, as every main() call runs it."""
    names = ["clipbot", "apscheduler", *LIBRARY_LOG_LEVELS]
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in names)]
    levels = [logger.level for logger in loggers]
    yield
    for logger, level in zip(loggers, levels):
        logger.setLevel(level)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        pytest.param("mysql://clip:hunter2@db/clipbot", "does not support", id="mysql"),
        pytest.param("htp://clip:hunter2@db/clipbot", "does not support", id="scheme-typo"),
        pytest.param("/var/lib/clipbot/clipbot.sqlite3", "sqlite+aiosqlite:////var/lib/clipbot/clipbot.sqlite3",
                     id="bare-path"),
        pytest.param("clip:hunter2@db/clipbot", "could not be read", id="scheme-missing"),
    ],
)
def test_bad_database_url_named_and_masked(tmp_path, capsys, monkeypatch, url, problem):
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 2
    errors = capsys.readouterr().err
    assert errors.startswith("clipbot: DATABASE_URL is '")
    assert problem in errors
    assert "hunter2" not in errors
    assert "Traceback" not in errors


@pytest.mark.parametrize(
    "command",
    [["db", "upgrade"], ["match", "6-west"], ["roster", "import", "csv", "people.csv", "shifts.csv", "--ward", "6-west"]],
    ids=["db-upgrade", "match", "roster-import"],
)
def test_refused_database_connection_exits_2(workspace, capsys, monkeypatch, closed_port, command):
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://clip:hunter2@127.0.0.1:{closed_port}/clipbot?password=hunter3")
    assert main(command) == 2
    errors = capsys.readouterr().err
    assert f"DATABASE_URL is 'postgresql+asyncpg://clip:***@127.0.0.1:{closed_port}/clipbot?password=***'" in errors
    assert f"127.0.0.1 port {closed_port} was refused" in errors
    assert "Check that PostgreSQL is running there" in errors
    assert "hunter" not in errors
    assert "Traceback" not in errors


@pytest.mark.parametrize(
    ("make_path", "problem"),
    [
        pytest.param(lambda folder: folder, "could not be opened", id="folder"),
        pytest.param(lambda folder: folder / "people.csv", "is not a SQLite database", id="not-a-database"),
        pytest.param(lambda folder: folder / "people.csv" / "clipbot.sqlite3", "people.csv is a file",
                     id="file-in-the-way"),
    ],
)
def test_unusable_sqlite_file_exits_2(workspace, capsys, monkeypatch, make_path, problem):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{make_path(workspace)}")
    assert main(["db", "upgrade"]) == 2
    errors = capsys.readouterr().err
    assert errors.startswith("clipbot: DATABASE_URL is 'sqlite+aiosqlite:///")
    assert problem in errors
    assert "Traceback" not in errors


def test_unusable_default_database_names_data_dir(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    (tmp_path / "data").write_text("a file where the data folder should be", encoding="utf-8")
    monkeypatch.setenv("CLIPBOT_DATA_DIR", str(tmp_path / "data"))
    assert main(["db", "upgrade"]) == 2
    errors = capsys.readouterr().err
    assert errors.startswith("clipbot: DATABASE_URL is not set")
    assert "CLIPBOT_DATA_DIR" in errors


@pytest.mark.parametrize("wrong", ["user", "database"])
def test_unknown_postgresql_role_or_database_exits_2(capsys, monkeypatch, wrong):
    server = os.environ.get("CLIPBOT_TEST_DATABASE_URL", "").strip()
    if not server:
        pytest.skip("needs PostgreSQL: set CLIPBOT_TEST_DATABASE_URL")
    missing = f"clipbot_missing_{secrets.token_hex(4)}"
    url = make_url(server).set(**{"username" if wrong == "user" else "database": missing}, password="hunter2")
    monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
    assert main(["db", "upgrade"]) == 2
    errors = capsys.readouterr().err
    assert errors.startswith("clipbot: DATABASE_URL is '")
    assert f'"{missing}" does not exist' in errors
    advice = "Check the user name in the URL" if wrong == "user" else "Create the database first"
    assert advice in errors
    assert "hunter2" not in errors


def test_serve_port_in_use_exits_2(tmp_path, capsys, monkeypatch, busy_port):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'data' / 'clipbot.sqlite3'}")
    assert main(["serve", "--port", str(busy_port)]) == 2
    errors = capsys.readouterr().err
    assert f"--port {busy_port} is already in use on 127.0.0.1" in errors
    assert "Traceback" not in errors
    # The port is checked before the database is created or migrated.
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_serve_port_out_of_range_exits_2(capsys, port):
    with pytest.raises(SystemExit) as raised:
        main(["serve", "--port", port])
    assert raised.value.code == 2
    errors = capsys.readouterr().err
    assert f"argument --port: '{port}' is not a TCP port" in errors
    assert "from 1 to 65535" in errors


def test_serve_refused_database_exits_2(capsys, monkeypatch, closed_port, free_port):
    monkeypatch.setenv("CLIPBOT_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("DATABASE_URL", f"postgresql://clip:hunter2@127.0.0.1:{closed_port}/clipbot")
    assert main(["serve", "--port", str(free_port)]) == 2
    errors = capsys.readouterr().err
    assert errors.startswith(f"clipbot: DATABASE_URL is 'postgresql+asyncpg://clip:***@127.0.0.1:{closed_port}/")
    assert "hunter2" not in errors
    assert "Traceback" not in errors


def test_teams_package_needs_only_app_id(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    monkeypatch.setenv("MicrosoftAppType", "SingleTenant")
    for name in ("MicrosoftAppPassword", "MicrosoftAppTenantId"):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "clipbot-teams.zip"
    assert main(["teams-package", str(out), "--website-url", "https://clipbot.example.nhs.uk/"]) == 0
    assert out.is_file()


def test_teams_package_rejects_app_id_not_guid(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MicrosoftAppId", "clipbot-bot")
    out = tmp_path / "clipbot-teams.zip"
    assert main(["teams-package", str(out), "--website-url", "https://clipbot.example.nhs.uk/"]) == 2
    errors = capsys.readouterr().err
    assert errors.startswith("clipbot: MicrosoftAppId is not a GUID")
    assert "00000000-0000-0000-0000-000000000000" in errors
    assert "clipbot-bot" not in errors
    assert not out.exists()


@pytest.mark.parametrize("trailing_slash", [False, True], ids=["existing-folder", "new-folder-with-slash"])
def test_teams_package_into_folder(tmp_path, capsys, monkeypatch, trailing_slash):
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    folder = tmp_path / "packages"
    if not trailing_slash:
        folder.mkdir()
    out = f"{folder}/" if trailing_slash else str(folder)
    assert main(["teams-package", out, "--website-url", "https://clipbot.example.nhs.uk/"]) == 0
    assert f"to {folder / 'clipbot-teams.zip'}." in capsys.readouterr().out
    with zipfile.ZipFile(folder / "clipbot-teams.zip") as package:
        assert "manifest.json" in package.namelist()


def test_teams_package_unwritable_path_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    (tmp_path / "notes.txt").write_text("a file, not a folder", encoding="utf-8")
    out = tmp_path / "notes.txt" / "clipbot-teams.zip"
    assert main(["teams-package", str(out), "--website-url", "https://clipbot.example.nhs.uk/"]) == 2
    errors = capsys.readouterr().err
    assert "notes.txt is a file, not a folder" in errors
    assert "Traceback" not in errors


def test_teams_package_help_names_app_id_variable(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["teams-package", "--help"])
    assert raised.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "The bot's app id comes from MicrosoftAppId" in help_text
    assert "given a folder, clipbot-teams.zip is written inside it" in help_text


def test_log_level_defaults_per_command():
    unset = Settings(database_url="unused")
    assert log_level("serve", unset) == "INFO"
    assert log_level("match", unset) == "WARNING"
    assert log_level("serve", Settings(database_url="unused", log_level="ERROR")) == "ERROR"


@pytest.mark.parametrize(
    ("level", "scheduler_info_shown", "scheduler_warning_shown"),
    [("INFO", False, True), ("WARNING", False, True), ("ERROR", False, False), ("DEBUG", True, True)],
)
def test_scheduler_run_lines_only_at_debug(logging_state, level, scheduler_info_shown, scheduler_warning_shown):
    configure_logging(level)
    # APScheduler logs each job run through these two loggers.
    for name in ("apscheduler.executors.default", "apscheduler.scheduler"):
        assert logging.getLogger(name).isEnabledFor(logging.INFO) is scheduler_info_shown
        assert logging.getLogger(name).isEnabledFor(logging.WARNING) is scheduler_warning_shown


# Loggers that write SQL parameters or request bodies at DEBUG, and some of their children.
LIBRARY_LOGGERS = [
    "aiosqlite", "asyncpg", "sqlalchemy.engine", "sqlalchemy.engine.Engine", "slack_sdk",
    "slack_sdk.web.async_client", "slack_bolt", "botbuilder", "botframework.connector", "msrest",
    "msrest.http_logger", "urllib3", "aiohttp", "aiohttp.client",
]


@pytest.mark.parametrize("name", LIBRARY_LOGGERS)
def test_debug_library_loggers_quiet(name):
    configure_logging("DEBUG")
    assert logging.getLogger(name).getEffectiveLevel() > logging.DEBUG


def test_debug_reaches_clipbot_loggers():
    configure_logging("DEBUG")
    assert logging.getLogger("clipbot.service").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("clipbot.bot.adapters.slack.app").isEnabledFor(logging.DEBUG)


def test_debug_new_bolt_loggers_quiet():
    configure_logging("DEBUG")
    # bolt gives each logger it creates the root logger's level at that moment.
    app = AsyncApp(signing_secret="not-a-secret", client=AsyncWebClient(token="xoxb-not-a-token"))
    assert app.logger.getEffectiveLevel() > logging.DEBUG


@pytest.mark.parametrize(("level", "hidden"), [("WARNING", logging.INFO), ("ERROR", logging.WARNING)])
def test_higher_level_applies_to_all(level, hidden):
    configure_logging(level)
    for name in LIBRARY_LOGGERS:
        assert not logging.getLogger(name).isEnabledFor(hidden), name
    assert not logging.getLogger("clipbot.service").isEnabledFor(hidden)


def test_debug_log_omits_personal_data(workspace):
    arguments = ["educator", "CE9", "7-east", "--name", "Jo Marsh", "--email", "jo.marsh@example.org"]
    finished = subprocess.run(
        [sys.executable, "-m", "clipbot", *arguments], env={**os.environ, "CLIPBOT_LOG_LEVEL": "DEBUG"},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert finished.returncode == 0
    assert "jo.marsh@example.org" in finished.stdout
    # clipbot's own lines are there, and no library wrote the SQL parameters.
    assert "Made CE9 clinical educator for ward 7-east." in finished.stderr
    assert "Jo Marsh" not in finished.stderr
    assert "jo.marsh@example.org" not in finished.stderr


def test_closed_stdout_ends_quietly(workspace):
    assert import_csv(workspace) == 0
    read_end, write_end = os.pipe()
    # Like `clipbot match 6-west | head` after head has exited: nothing reads the pipe any more.
    os.close(read_end)
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "clipbot", "match", "6-west"],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120, check=False,
        )
    finally:
        os.close(write_end)
    assert finished.returncode == 141
    assert finished.stderr == ""
