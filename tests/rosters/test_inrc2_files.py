from __future__ import annotations

import re
from pathlib import Path

import pytest

import clipbot
from clipbot.rosters import (
    Inrc2Contract,
    Inrc2NurseHistory,
    Inrc2Requirement,
    Inrc2ShiftOffRequest,
    Inrc2ShiftType,
    RosterError,
    RosterProblem,
    parse_inrc2_history,
    parse_inrc2_scenario,
    parse_inrc2_solution,
    parse_inrc2_week_data,
)

DATA = Path(clipbot.__file__).parent / "data" / "inrc2"
SCENARIOS = sorted(DATA.glob("*/Sc-*.txt"))
HISTORIES = sorted(DATA.glob("*/H0-*.txt"))
WEEK_DATA = sorted(DATA.glob("*/WD-*.txt"))
SOLUTIONS = sorted(DATA.glob("*/Solution_*/Sol-*.txt"))


def relative(path: Path) -> str:
    return str(path.relative_to(DATA))


def scenario_id_of(dataset: Path) -> str:
    return parse_inrc2_scenario(next(dataset.glob("Sc-*.txt"))).id


def problems_of(parse: object, path: Path) -> list[RosterProblem]:
    with pytest.raises(RosterError) as raised:
        parse(path)  # type: ignore[operator]
    return raised.value.problems


def test_data_folder_has_every_kind() -> None:
    assert len(SCENARIOS) == 3
    assert len(HISTORIES) == 9
    assert len(WEEK_DATA) == 30
    assert len(SOLUTIONS) == 24


@pytest.mark.parametrize("path", SCENARIOS, ids=relative)
def test_scenario_parses(path: Path) -> None:
    scenario = parse_inrc2_scenario(path)
    declared = int(re.search(r"NURSES = (\d+)", path.read_text())[1])  # type: ignore[index]

    assert scenario.weeks == 4
    assert len(scenario.nurses) == declared
    assert {"Early", "Late", "Night"} <= {shift_type.name for shift_type in scenario.shift_types}


@pytest.mark.parametrize("path", HISTORIES, ids=relative)
def test_history_parses(path: Path) -> None:
    history = parse_inrc2_history(path)
    scenario = parse_inrc2_scenario(next(path.parent.glob("Sc-*.txt")))

    assert history.week == 0
    assert history.scenario_id == scenario.id
    assert [nurse.nurse for nurse in history.nurses] == [nurse.id for nurse in scenario.nurses]


@pytest.mark.parametrize("path", WEEK_DATA, ids=relative)
def test_week_data_parses(path: Path) -> None:
    week_data = parse_inrc2_week_data(path)
    declared = int(re.search(r"SHIFT_OFF_REQUESTS = (\d+)", path.read_text())[1])  # type: ignore[index]

    assert week_data.scenario_id == scenario_id_of(path.parent)
    assert len(week_data.shift_off_requests) == declared
    assert all(len(requirement.minimum) == 7 for requirement in week_data.requirements)


@pytest.mark.parametrize("path", SOLUTIONS, ids=relative)
def test_solution_parses(path: Path) -> None:
    solution = parse_inrc2_solution(path)
    declared = int(re.search(r"ASSIGNMENTS = (\d+)", path.read_text())[1])  # type: ignore[index]

    assert solution.scenario_id == scenario_id_of(path.parent.parent)
    assert solution.week == int(path.stem.rsplit("-", 1)[1])
    assert len(solution.assignments) == declared


def test_crlf_scenario_reads_like_lf() -> None:
    scenario = parse_inrc2_scenario(DATA / "n005w4" / "Sc-n005w4.txt")

    assert scenario.id == "n005w4"
    assert scenario.skills == ("HeadNurse", "Nurse")
    assert scenario.nurses[0].skills == ("HeadNurse", "Nurse")
    assert scenario.forbidden_successions == {"Early": (), "Late": ("Early",), "Night": ("Early", "Late")}
    assert scenario.shift_types[2] == Inrc2ShiftType("Night", 4, 5)
    assert scenario.contracts[1] == Inrc2Contract("PartTime", 7, 11, 3, 5, 3, 5, 2, True)


def test_scenario_id_may_differ_from_folder() -> None:
    scenario = parse_inrc2_scenario(DATA / "n021w4" / "Sc-n021w4.txt")

    assert scenario.id == "n021w4_2"


def test_trailer_after_assignments_is_ignored() -> None:
    solution = parse_inrc2_solution(DATA / "n005w4" / "Solution_H_0-WD_1-2-3-3" / "Sol-n005w4-2-1.txt")

    assert len(solution.assignments) == 26
    assert solution.assignments[-1].nurse == "Nguyen"
    assert solution.assignments[-1].day == 6


def test_history_values_are_read() -> None:
    history = parse_inrc2_history(DATA / "n005w4" / "H0-n005w4-0.txt")

    assert history.nurses[0] == Inrc2NurseHistory("Patrick", 0, 0, "Night", 1, 4, 0)
    assert history.nurses[2].last_shift is None


def test_week_data_values_are_read() -> None:
    week_data = parse_inrc2_week_data(DATA / "n005w4" / "WD-n005w4-1.txt")

    assert week_data.requirements[0] == Inrc2Requirement(
        "Early", "HeadNurse", (0, 0, 1, 0, 1, 0, 0), (0, 0, 1, 0, 1, 0, 0)
    )
    assert week_data.shift_off_requests[0] == Inrc2ShiftOffRequest("Andrea", None, 1)
    assert week_data.shift_off_requests[4] == Inrc2ShiftOffRequest("Sara", "Late", 5)


SCENARIO = """SCENARIO = tiny
WEEKS = 1

SKILLS = 2
Nurse
Trainee

SHIFT_TYPES = 2
Early (2,5)
Night (4,5)

FORBIDDEN_SHIFT_TYPES_SUCCESSIONS
Early 0
Night 1 Early

CONTRACTS = 1
FullTime (15,22) (3,5) (2,3) 2 1

NURSES = 2
NU_1 FullTime 1 Nurse
TR_2 FullTime 1 Trainee
"""

SOLUTION = """SOLUTION
0 tiny

ASSIGNMENTS = 2
NU_1 Mon Early Nurse
TR_2 Mon Early Trainee
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_small_files_parse(tmp_path: Path) -> None:
    scenario = parse_inrc2_scenario(write(tmp_path, "Sc-tiny.txt", SCENARIO))
    solution = parse_inrc2_solution(write(tmp_path, "Sol-tiny-0-0.txt", SOLUTION))

    assert scenario.nurses[1].skills == ("Trainee",)
    assert scenario.nurses[1].line == 21
    assert solution.assignments[1].line == 6


# Each case: a change to SCENARIO, then where the problem is and a part of its message.
SCENARIO_ERRORS = {
    "count too high": (("SKILLS = 2", "SKILLS = 3"), (4, "SKILLS"), "SKILLS = 3, but 2 skills follow"),
    "count not a number": (("NURSES = 2", "NURSES = two"), (19, "NURSES"), "'two' is not a number"),
    "weeks not a number": (("WEEKS = 1", "WEEKS = 0"), (2, "WEEKS"), "'0' is not a number of weeks"),
    "bad shift type": (("Early (2,5)", "Early 2 5"), (9, "shift type"), "'Early 2 5'"),
    "unknown succession": (("Night 1 Early", "Night 1 Late"), (14, "shift type"), "'Late'"),
    "bad contract": (("2 1\n", "2 7\n"), (17, "contract"), "weekends 0|1"),
    "unknown skill": (("TR_2 FullTime 1 Trainee", "TR_2 FullTime 1 Student"), (21, "skills"), "'Student'"),
    "unknown contract": (("NU_1 FullTime", "NU_1 Casual"), (20, "contract"), "'Casual'"),
    "skill count wrong": (("NU_1 FullTime 1 Nurse", "NU_1 FullTime 2 Nurse"), (20, "nurse"), "number of skills"),
    "nurse twice": (("TR_2 FullTime 1 Trainee", "NU_1 FullTime 1 Trainee"), (21, "nurse"), "line 20"),
    "missing section": (("CONTRACTS = 1\nFullTime (15,22) (3,5) (2,3) 2 1\n", ""), (None, None), "CONTRACTS"),
    "text before sections": (("SCENARIO = tiny", "Hello\nSCENARIO = tiny"), (1, None), "'Hello'"),
}


@pytest.mark.parametrize(("change", "where", "fragment"), SCENARIO_ERRORS.values(), ids=SCENARIO_ERRORS.keys())
def test_scenario_error_is_reported(
    tmp_path: Path, change: tuple[str, str], where: tuple[int | None, str | None], fragment: str
) -> None:
    assert change[0] in SCENARIO
    path = write(tmp_path, "Sc-tiny.txt", SCENARIO.replace(*change))

    problems = problems_of(parse_inrc2_scenario, path)

    problem = next((p for p in problems if (p.line, p.field) == where), None)
    assert problem is not None, "\n".join(str(p) for p in problems)
    assert fragment in problem.message


SOLUTION_ERRORS = {
    "too few assignments": (("ASSIGNMENTS = 2", "ASSIGNMENTS = 3"), (4, "ASSIGNMENTS"), "but 2 assignments"),
    "bad day": (("TR_2 Mon", "TR_2 Mom"), (6, "day"), "'Mom'"),
    "short line": (("TR_2 Mon Early Trainee", "TR_2 Mon Early"), (6, None), "'TR_2 Mon Early'"),
    "bad week": (("0 tiny", "first tiny"), (2, "week"), "'first'"),
    "week line without id": (("0 tiny", "0"), (2, "week"), "scenario id"),
}


@pytest.mark.parametrize(("change", "where", "fragment"), SOLUTION_ERRORS.values(), ids=SOLUTION_ERRORS.keys())
def test_solution_error_is_reported(
    tmp_path: Path, change: tuple[str, str], where: tuple[int | None, str | None], fragment: str
) -> None:
    assert change[0] in SOLUTION
    path = write(tmp_path, "Sol-tiny-0-0.txt", SOLUTION.replace(*change))

    problems = problems_of(parse_inrc2_solution, path)

    problem = next((p for p in problems if (p.line, p.field) == where), None)
    assert problem is not None, "\n".join(str(p) for p in problems)
    assert fragment in problem.message


def test_history_bad_number_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "H0-tiny-0.txt", "HISTORY\n0 tiny\n\nNURSE_HISTORY\nNU_1 0 x None 0 0 3\n")

    problems = problems_of(parse_inrc2_history, path)

    assert [(p.file, p.line, p.field) for p in problems] == [("H0-tiny-0.txt", 5, "nurse")]
    assert "'x'" in problems[0].message


def test_week_data_bad_requirement_is_reported(tmp_path: Path) -> None:
    text = "WEEK_DATA\ntiny\nREQUIREMENTS\nEarly Nurse (1,1) (1,1)\nSHIFT_OFF_REQUESTS = 1\nNU_1 Any Fri\n"
    path = write(tmp_path, "WD-tiny-0.txt", text)

    problems = problems_of(parse_inrc2_week_data, path)

    assert [(p.line, p.field) for p in problems] == [(4, "requirement")]


def test_missing_file_is_reported(tmp_path: Path) -> None:
    problems = problems_of(parse_inrc2_solution, tmp_path / "Sol-tiny-0-0.txt")

    assert [(p.file, p.line) for p in problems] == [("Sol-tiny-0-0.txt", None)]
    assert "not found" in problems[0].message
