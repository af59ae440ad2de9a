from __future__ import annotations

import shutil
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import clipbot
from clipbot.domain.people import FieldOfPractice, Registration
from clipbot.domain.roles import Placement
from clipbot.domain.roster import Roster
from clipbot.domain.shifts import DEFAULT_SHIFT_TYPES
from clipbot.domain.ward import LearningEnvironment
from clipbot.rosters import RosterError, RosterProblem, parse_inrc2_scenario, read_inrc2_roster

DATA = Path(clipbot.__file__).parent / "data" / "inrc2"
SOLUTION_DIRS = sorted(path for path in DATA.glob("*/Solution_*") if path.is_dir())
N021 = DATA / "n021w4"
N021_SCENARIO = N021 / "Sc-n021w4.txt"
WARD = LearningEnvironment("ward-7", "Ward 7")
MONDAY = date(2025, 3, 3)
LONDON = ZoneInfo("Europe/London")


def relative(path: Path) -> str:
    return str(path.relative_to(DATA))


def read(scenario: Path, solution_dir: Path, week0: date = MONDAY, **options: object) -> Roster:
    return read_inrc2_roster(scenario, solution_dir, week0=week0, ward=WARD, **options)  # type: ignore[arg-type]


def problems_of(scenario: Path, solution_dir: Path, **options: object) -> list[RosterProblem]:
    with pytest.raises(RosterError) as raised:
        read(scenario, solution_dir, **options)
    return raised.value.problems


def find(problems: list[RosterProblem], file: str, line: int | None, field: str | None) -> RosterProblem | None:
    return next((p for p in problems if (p.file, p.line, p.field) == (file, line, field)), None)


def copy_instance(tmp_path: Path, folder: str = "Solution_H_0-WD_5-4-1-2") -> tuple[Path, Path]:
    """Copy the n021w4 scenario and one solution folder, for a test to change."""
    scenario = Path(shutil.copy(N021_SCENARIO, tmp_path))
    solution_dir = Path(shutil.copytree(N021 / folder, tmp_path / folder))
    return scenario, solution_dir


def replace_line(path: Path, number: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("solution_dir", SOLUTION_DIRS, ids=relative)
def test_solution_folder_imports(solution_dir: Path) -> None:
    scenario_path = next(solution_dir.parent.glob("Sc-*.txt"))
    scenario = parse_inrc2_scenario(scenario_path)

    roster = read(scenario_path, solution_dir)

    assert set(roster.people) == {nurse.id for nurse in scenario.nurses}
    assert {duty.shift_key for duty in roster.duties} == set(roster.shifts)
    assert min(shift.day for shift in roster.shifts.values()) >= MONDAY
    assert max(shift.day for shift in roster.shifts.values()) <= MONDAY + timedelta(days=27)


@pytest.mark.parametrize("solution_dir", SOLUTION_DIRS, ids=relative)
def test_head_nurse_cover_marks_in_charge(solution_dir: Path) -> None:
    head_nurse_lines = sum(
        1
        for path in solution_dir.glob("Sol-*.txt")
        for line in path.read_text().splitlines()
        if line.split()[-1:] == ["HeadNurse"]
    )

    roster = read(next(solution_dir.parent.glob("Sc-*.txt")), solution_dir)

    assert sum(duty.in_charge for duty in roster.duties) == head_nurse_lines
    assert all(roster.people[duty.person].is_registered_nurse for duty in roster.duties if duty.in_charge)


def read_validator_grid(path: Path) -> dict[str, str]:
    """Parse the validator report's grid into one string of 28 letters per nurse ('-' = off)."""
    grid: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if "|" not in line or line.startswith(" "):
            continue
        name, *cells = line.split("|")
        grid[name.strip()] = "".join(cell.strip() for cell in cells)
    return grid


def roster_grid(roster: Roster, week0: date, days: int) -> dict[str, str]:
    letters = {person: ["-"] * days for person in roster.people}
    for duty in roster.duties:
        shift = roster.shifts[duty.shift_key]
        letters[duty.person][(shift.day - week0).days] = shift.type[0]
    return {person: "".join(row) for person, row in letters.items()}


def test_n005w4_matches_validator_grid() -> None:
    solution_dir = DATA / "n005w4" / "Solution_H_0-WD_1-2-3-3"
    expected = read_validator_grid(solution_dir / "validator.txt")

    roster = read(DATA / "n005w4" / "Sc-n005w4.txt", solution_dir)

    assert list(expected) == ["Patrick", "Andrea", "Stefaan", "Sara", "Nguyen"]
    assert all(len(row) == 28 for row in expected.values())
    assert roster_grid(roster, MONDAY, 28) == expected


def test_n021w4_staff_by_role() -> None:
    roster = read(N021_SCENARIO, N021 / "Solution_H_0-WD_5-4-1-2")

    counts = Counter(person.registration for person in roster.people.values())
    assert counts[Registration.STUDENT] == 5
    assert counts[Registration.REGISTERED_NURSE] == 11
    assert counts[Registration.UNREGISTERED] == 5
    assert roster.people["TR_16"].name == "TR_16"
    assert roster.people["CT_11"].field is None


def test_fields_come_from_options() -> None:
    roster = read(N021_SCENARIO, N021 / "Solution_H_0-WD_5-4-1-2",
                  student_field=FieldOfPractice.CHILDREN, nurse_field=FieldOfPractice.MENTAL_HEALTH)

    assert roster.people["TR_16"].field is FieldOfPractice.CHILDREN
    assert roster.people["HN_0"].field is FieldOfPractice.MENTAL_HEALTH


@pytest.mark.parametrize("solution_dir", sorted(N021.glob("Solution_*")), ids=relative)
def test_n021w4_instance_size(solution_dir: Path) -> None:
    roster = read(N021_SCENARIO, solution_dir)

    assert 336 <= len(roster.duties) <= 344


def test_student_placement_covers_all_weeks() -> None:
    roster = read(N021_SCENARIO, N021 / "Solution_H_0-WD_5-4-1-2")

    assert roster.placements[0] == Placement("TR_16", "ward-7", MONDAY, date(2025, 3, 30))
    assert [placement.student for placement in roster.placements] == ["TR_16", "TR_17", "TR_18", "TR_19", "TR_20"]


def test_night_ends_next_morning() -> None:
    roster = read(N021_SCENARIO, N021 / "Solution_H_0-WD_5-4-1-2")
    night = roster.shifts["2025-03-03 Night"]

    assert night.starts_at == datetime(2025, 3, 3, 22, 30, tzinfo=LONDON)
    assert night.ends_at == datetime(2025, 3, 4, 6, 30, tzinfo=LONDON)
    assert night.hours == 8


def test_night_over_clock_change_lasts_nine_hours() -> None:
    # Clocks go back at 02:00 on Sunday 26 October 2025, during the night that starts on Saturday 25.
    roster = read(N021_SCENARIO, N021 / "Solution_H_0-WD_5-4-1-2", week0=date(2025, 10, 6))
    night = roster.shifts["2025-10-25 Night"]

    assert night.ends_at.date() == date(2025, 10, 26)
    assert night.hours == 9
    assert roster.shifts["2025-10-26 Night"].hours == 8


def test_week0_must_be_monday() -> None:
    problems = problems_of(N021_SCENARIO, N021 / "Solution_H_0-WD_5-4-1-2", week0=date(2025, 3, 4))

    assert [p.file for p in problems] == ["start date"]
    assert "2025-03-04 is a Tuesday" in problems[0].message
    assert "Monday 2025-03-03" in problems[0].message


def test_crlf_and_spaces_are_tolerated(tmp_path: Path) -> None:
    scenario, solution_dir = copy_instance(tmp_path)
    for path in [scenario, *solution_dir.glob("Sol-*.txt")]:
        lines = path.read_text().splitlines()
        path.write_bytes("\r\n".join(f"{line}  " for line in lines).encode() + b"\r\n\r\n\r\n")

    roster = read(scenario, solution_dir)

    assert roster.duties == read(N021_SCENARIO, N021 / "Solution_H_0-WD_5-4-1-2").duties


def test_custom_shift_times_are_used() -> None:
    shift_types = tuple(
        shift_type if shift_type.name != "Day" else type(shift_type)("Day", time(9, 0), time(17, 0))
        for shift_type in DEFAULT_SHIFT_TYPES
    )

    roster = read(N021_SCENARIO, N021 / "Solution_H_0-WD_5-4-1-2", shift_types=shift_types)

    assert roster.shifts["2025-03-03 Day"].starts_at == datetime(2025, 3, 3, 9, 0, tzinfo=LONDON)


def test_shift_without_clock_times_is_reported() -> None:
    shift_types = tuple(shift_type for shift_type in DEFAULT_SHIFT_TYPES if shift_type.name != "Day")

    problems = problems_of(N021_SCENARIO, N021 / "Solution_H_0-WD_5-4-1-2", shift_types=shift_types)

    assert [(p.file, p.line, p.field) for p in problems] == [("Sc-n021w4.txt", 13, "shift type")]
    assert "Day=" in problems[0].message


def test_other_scenario_is_reported(tmp_path: Path) -> None:
    scenario, solution_dir = copy_instance(tmp_path)
    replace_line(solution_dir / "Sol-n021w4-4-1.txt", 2, "1 n021w4_3")

    problems = problems_of(scenario, solution_dir)

    assert [(p.file, p.line, p.field) for p in problems] == [("Sol-n021w4-4-1.txt", 2, "scenario")]
    assert "'n021w4_3'" in problems[0].message


def test_repeated_and_missing_weeks_are_reported(tmp_path: Path) -> None:
    scenario, solution_dir = copy_instance(tmp_path)
    replace_line(solution_dir / "Sol-n021w4-2-3.txt", 2, "2 n021w4_2")

    problems = problems_of(scenario, solution_dir)

    repeated = find(problems, "Sol-n021w4-2-3.txt", 2, "week")
    missing = find(problems, "Solution_H_0-WD_5-4-1-2", None, None)
    assert repeated is not None
    assert "also in Sol-n021w4-1-2.txt" in repeated.message
    assert missing is not None
    assert "No solution file for week 3" in missing.message


def test_week_outside_horizon_is_reported(tmp_path: Path) -> None:
    scenario, solution_dir = copy_instance(tmp_path)
    (solution_dir / "Sol-n021w4-2-3.txt").rename(solution_dir / "Sol-n021w4-2-4.txt")
    replace_line(solution_dir / "Sol-n021w4-2-4.txt", 2, "4 n021w4_2")

    problems = problems_of(scenario, solution_dir)

    outside = find(problems, "Sol-n021w4-2-4.txt", 2, "week")
    assert outside is not None
    assert "outside the scenario's 4 weeks" in outside.message


def test_file_name_must_match_folder(tmp_path: Path) -> None:
    scenario, solution_dir = copy_instance(tmp_path)
    solution_dir = solution_dir.rename(tmp_path / "Solution_H_0-WD_5-4-1-3")

    problems = problems_of(scenario, solution_dir)

    assert [(p.file, p.line, p.field) for p in problems] == [("Sol-n021w4-2-3.txt", None, None)]
    assert "uses week data 3 in week 3" in problems[0].message


def test_file_name_week_must_match_content(tmp_path: Path) -> None:
    scenario, solution_dir = copy_instance(tmp_path, "Solution_H_1-WD_0-6-1-6")
    renamed = solution_dir.rename(tmp_path / "week files")
    (renamed / "Sol-n021w4-6-3.txt").rename(renamed / "Sol-n021w4-6-2.txt")

    problems = problems_of(scenario, renamed)

    problem = find(problems, "Sol-n021w4-6-2.txt", 2, "week")
    assert problem is not None
    assert "file name says week 2" in problem.message


def test_folder_without_week_data_form_is_accepted(tmp_path: Path) -> None:
    scenario, solution_dir = copy_instance(tmp_path)
    renamed = solution_dir.rename(tmp_path / "ward 7 March")

    roster = read(scenario, renamed)

    assert len(roster.duties) == 336


def test_mixed_skills_are_reported(tmp_path: Path) -> None:
    scenario, solution_dir = copy_instance(tmp_path)
    replace_line(scenario, 49, "TR_20 PartTime 2 Trainee Caretaker")

    problems = problems_of(scenario, solution_dir)

    assert [(p.file, p.line, p.field) for p in problems] == [("Sc-n021w4.txt", 49, "skills")]
    assert "Trainee Caretaker" in problems[0].message


# Each case: the text that replaces line 5 of Sol-n021w4-5-0.txt ("HN_0 Mon Night Caretaker"),
# then the field of the problem and a part of its message.
ASSIGNMENT_ERRORS = {
    "unknown nurse": ("XX_99 Mon Early Nurse", "nurse", "'XX_99'"),
    "unknown shift": ("HN_0 Mon Twilight Nurse", "shift", "'Twilight'"),
    "unknown skill": ("HN_0 Mon Early Doctor", "skill", "'Doctor'"),
    "unknown day": ("HN_0 Funday Early Nurse", "day", "'Funday'"),
    "skill not held": ("CT_11 Mon Early Nurse", "skill", "CT_11 does not have the skill Nurse"),
}


@pytest.mark.parametrize(("line", "field", "fragment"), ASSIGNMENT_ERRORS.values(), ids=ASSIGNMENT_ERRORS.keys())
def test_assignment_error_is_reported(tmp_path: Path, line: str, field: str, fragment: str) -> None:
    scenario, solution_dir = copy_instance(tmp_path)
    replace_line(solution_dir / "Sol-n021w4-5-0.txt", 5, line)

    problems = problems_of(scenario, solution_dir)

    problem = find(problems, "Sol-n021w4-5-0.txt", 5, field)
    assert problem is not None, "\n".join(str(p) for p in problems)
    assert fragment in problem.message


def test_nurse_twice_on_one_day_is_reported(tmp_path: Path) -> None:
    scenario, solution_dir = copy_instance(tmp_path)
    path = solution_dir / "Sol-n021w4-5-0.txt"
    first = path.read_text().splitlines()[4].split()
    other_shift = "Night" if first[2] != "Night" else "Early"
    replace_line(path, 6, f"{first[0]} {first[1]} {other_shift} Nurse")

    problems = problems_of(scenario, solution_dir)

    problem = find(problems, "Sol-n021w4-5-0.txt", 6, "day")
    assert problem is not None, "\n".join(str(p) for p in problems)
    assert "on line 5" in problem.message


def test_every_problem_is_reported(tmp_path: Path) -> None:
    scenario, solution_dir = copy_instance(tmp_path)
    replace_line(solution_dir / "Sol-n021w4-5-0.txt", 5, "XX_99 Mon Early Nurse")
    replace_line(solution_dir / "Sol-n021w4-1-2.txt", 7, "HN_0 Funday Early Nurse")
    replace_line(scenario, 49, "TR_20 PartTime 2 Trainee Nurse")

    problems = problems_of(scenario, solution_dir, week0=date(2025, 3, 5))

    assert [(p.file, p.line) for p in problems] == [
        ("Sc-n021w4.txt", 49),
        ("Sol-n021w4-1-2.txt", 7),
        ("Sol-n021w4-5-0.txt", 5),
        ("start date", None),
    ]


def test_missing_solution_folder_is_reported(tmp_path: Path) -> None:
    problems = problems_of(N021_SCENARIO, tmp_path / "Solution_H_0-WD_1-1-1-1")

    assert [(p.file, p.line) for p in problems] == [("Solution_H_0-WD_1-1-1-1", None)]
    assert "not found" in problems[0].message


def test_folder_without_solutions_is_reported(tmp_path: Path) -> None:
    problems = problems_of(N021_SCENARIO, tmp_path)

    assert [(p.file, p.line) for p in problems] == [(tmp_path.name, None)]
    assert "no Sol-*.txt" in problems[0].message
