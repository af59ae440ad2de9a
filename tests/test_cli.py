"""The command line as an educator or administrator meets it: imports, bad files, matching, demo."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from clipbot.cli import main

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
