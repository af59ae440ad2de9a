"""Importing an INRC-II benchmark roster (a scenario and one solution folder) as a ward's Roster.

INRC-II has no dates and no clock times. Week 0 is placed on a Monday the caller gives, day
`7 * week + weekday` is that many days later, and clock times come from the shift types passed in.
Staff whose only skill is Trainee become students, staff with the Nurse or HeadNurse skill
registered nurses, and staff whose only skill is Caretaker healthcare assistants. An assignment
covering the HeadNurse skill marks the nurse in charge of that shift.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from clipbot.domain.people import FieldOfPractice, Person, Registration
from clipbot.domain.roles import Placement
from clipbot.domain.roster import Roster
from clipbot.domain.shifts import DEFAULT_SHIFT_TYPES, Duty, ShiftType, make_shift, shift_key
from clipbot.domain.ward import LearningEnvironment
from clipbot.rosters.errors import ProblemLog
from clipbot.rosters.inrc2_files import (
    DAY_NAMES,
    Inrc2Assignment,
    Inrc2Nurse,
    Inrc2Scenario,
    Inrc2Solution,
    read_scenario,
    read_solution,
)
from clipbot.rosters.shift_times import find_shift_type

logger = logging.getLogger(__name__)

STUDENT_SKILL = "Trainee"
NURSE_SKILLS = frozenset({"Nurse", "HeadNurse"})
ASSISTANT_SKILL = "Caretaker"
IN_CHARGE_SKILL = "HeadNurse"

# The folder name of a solved instance: initial history h, then the week data used in each week.
_SOLUTION_FOLDER = re.compile(r"Solution_H_(\d+)-WD_(\d+(?:-\d+)*)")
# A solution file name: Sol-<scenario>-<week data>-<week>.txt.
_SOLUTION_FILE = re.compile(r"Sol-(.+)-(\d+)-(\d+)\.txt")


def read_inrc2_roster(
    scenario_path: Path,
    solution_dir: Path,
    *,
    week0: date,
    ward: LearningEnvironment,
    shift_types: Sequence[ShiftType] = DEFAULT_SHIFT_TYPES,
    student_field: FieldOfPractice = FieldOfPractice.ADULT,
    nurse_field: FieldOfPractice = FieldOfPractice.ADULT,
) -> Roster:
    """Read a scenario file and the `Sol-*.txt` week files of one solution folder into a Roster.

    `week0` must be a Monday. The solution files must all name the scenario's id and cover weeks
    0 to WEEKS-1 exactly once. Other files in the folder, such as a validator report, are ignored.
    Raises RosterError listing every problem in every file.
    """
    problems = ProblemLog()
    if week0.weekday() != 0:
        monday = week0 - timedelta(days=week0.weekday())
        problems.add("start date", None, None, f"Week 0 (the --start date) must be a Monday, but {week0:%Y-%m-%d} is a "
                     f"{week0:%A}. Use Monday {monday:%Y-%m-%d} or Monday {monday + timedelta(days=7):%Y-%m-%d}.")

    scenario = read_scenario(scenario_path, problems)
    solutions, all_parsed = _read_solution_folder(solution_dir, problems)

    roster = Roster(ward=ward)
    if scenario is not None:
        _check_folder(solution_dir, scenario, solutions, all_parsed, problems)
        _add_people(roster, scenario, student_field, nurse_field, problems)
        types_by_name = _match_shift_types(scenario, shift_types, problems)
        # A file of another scenario is reported once above rather than once per line.
        matching = [solution for solution in solutions if solution.scenario_id == scenario.id]
        for solution in sorted(matching, key=lambda solution: solution.week):
            _add_week(roster, scenario, solution, week0, types_by_name, problems)

        last_day = week0 + timedelta(days=7 * scenario.weeks - 1)
        for student in roster.students():
            roster.placements.append(Placement(student.key, ward.key, week0, last_day))

    # Solution files and the folder follow in name order.
    file_order = ["week0", scenario_path.name]
    if problems:
        logger.info("Rejected INRC-II roster %s with %s for ward %s: %d problems",
                    scenario_path.name, solution_dir.name, ward.key, len(problems))
    problems.raise_if_any(file_order)
    logger.info("Read INRC-II roster %s with %s for ward %s: %d people, %d shifts, %d duties",
                scenario_path.name, solution_dir.name, ward.key, len(roster.people), len(roster.shifts),
                len(roster.duties))
    return roster


def _read_solution_folder(solution_dir: Path, problems: ProblemLog) -> tuple[list[Inrc2Solution], bool]:
    """Parse every Sol-*.txt file in the folder. The flag is False if any of them has problems."""
    if not solution_dir.is_dir():
        problems.add(solution_dir.name, None, None, f"Solution folder not found at {solution_dir}. "
                     f"Give the folder that holds the Sol-*.txt files.")
        return [], False
    paths = sorted(solution_dir.glob("Sol-*.txt"))
    if not paths:
        problems.add(solution_dir.name, None, None, "The folder has no Sol-*.txt solution files. "
                     "Give the folder that holds one solution file per week.")

    solutions: list[Inrc2Solution] = []
    for path in paths:
        solution = read_solution(path, problems)
        if solution is not None:
            solutions.append(solution)
    return solutions, len(solutions) == len(paths)


def _check_folder(
    solution_dir: Path,
    scenario: Inrc2Scenario,
    solutions: list[Inrc2Solution],
    all_parsed: bool,
    problems: ProblemLog,
) -> None:
    """Check scenario ids and week numbers, and that file names agree with the folder name."""
    folder = _SOLUTION_FOLDER.fullmatch(solution_dir.name)
    week_data = [int(number) for number in folder[2].split("-")] if folder else None
    if week_data is not None and len(week_data) != scenario.weeks:
        problems.add(solution_dir.name, None, None, f"The folder name lists week data for {len(week_data)} "
                     f"weeks, but the scenario has {scenario.weeks} weeks. Check that the folder belongs to "
                     f"{scenario.file}.")

    first_file: dict[int, str] = {}
    for solution in solutions:
        if solution.scenario_id != scenario.id:
            problems.add(solution.file, solution.week_line, "scenario", f"The file is for scenario "
                         f"'{solution.scenario_id}', but {scenario.file} is scenario '{scenario.id}'. Use the "
                         f"solution folder of this scenario.")
        if solution.week >= scenario.weeks:
            problems.add(solution.file, solution.week_line, "week", f"Week {solution.week} is outside the "
                         f"scenario's {scenario.weeks} weeks (0 to {scenario.weeks - 1}).")
        elif solution.week in first_file:
            problems.add(solution.file, solution.week_line, "week", f"Week {solution.week} is also in "
                         f"{first_file[solution.week]}. Keep one solution file per week.")
        else:
            first_file[solution.week] = solution.file
        _check_file_name(solution_dir.name, solution, week_data, problems)

    # A week in a file that could not be parsed is unknown, so it is not reported as missing.
    missing = [str(week) for week in range(scenario.weeks) if week not in first_file]
    if missing and solutions and all_parsed:
        problems.add(solution_dir.name, None, None, f"No solution file for week {', '.join(missing)}. The "
                     f"scenario has {scenario.weeks} weeks (0 to {scenario.weeks - 1}), one file each.")


def _check_file_name(
    folder: str, solution: Inrc2Solution, week_data: list[int] | None, problems: ProblemLog
) -> None:
    name = _SOLUTION_FILE.fullmatch(solution.file)
    if name is None:
        if week_data is not None:
            problems.add(solution.file, None, None, f"The file name is not of the form "
                         f"Sol-<scenario>-<week data>-<week>.txt, so it cannot be checked against the folder "
                         f"name {folder}. Rename the file.")
        return

    data_index, week = int(name[2]), int(name[3])
    if week != solution.week:
        problems.add(solution.file, solution.week_line, "week", f"The file name says week {week}, but the file "
                     f"is for week {solution.week}. Rename the file or correct the week.")
    if week_data is not None and week < len(week_data) and week_data[week] != data_index:
        problems.add(solution.file, None, None, f"The folder name {folder} uses week data {week_data[week]} in "
                     f"week {week}, but the file name says week data {data_index}. Rename the file or the folder.")


def _add_people(
    roster: Roster,
    scenario: Inrc2Scenario,
    student_field: FieldOfPractice,
    nurse_field: FieldOfPractice,
    problems: ProblemLog,
) -> None:
    for nurse in scenario.nurses:
        skills = set(nurse.skills)
        field: FieldOfPractice | None
        if skills == {STUDENT_SKILL}:
            registration, field = Registration.STUDENT, student_field
        elif skills & NURSE_SKILLS and STUDENT_SKILL not in skills:
            registration, field = Registration.REGISTERED_NURSE, nurse_field
        elif skills == {ASSISTANT_SKILL}:
            registration, field = Registration.UNREGISTERED, None
        else:
            problems.add(scenario.file, nurse.line, "skills", f"Nurse {nurse.id} has the skills "
                         f"{' '.join(nurse.skills) or '(none)'}, which match no clipbot role. Trainee alone makes "
                         f"a student, Nurse or HeadNurse a registered nurse, Caretaker alone a healthcare assistant.")
            continue
        roster.people[nurse.id] = Person(key=nurse.id, name=nurse.id, registration=registration, field=field)


def _match_shift_types(
    scenario: Inrc2Scenario, shift_types: Sequence[ShiftType], problems: ProblemLog
) -> dict[str, ShiftType]:
    """Map each scenario shift type to the shift type with its clock times, reporting any missing."""
    matched: dict[str, ShiftType] = {}
    for inrc2_type in scenario.shift_types:
        found = find_shift_type(shift_types, inrc2_type.name)
        if found is None:
            problems.add(scenario.file, scenario.shift_type_lines[inrc2_type.name], "shift type", f"Shift type "
                         f"'{inrc2_type.name}' has no clock times. Add them to the shift times, for example "
                         f"{inrc2_type.name}=07:00-15:00.")
            continue
        matched[inrc2_type.name] = found
    return matched


def _add_week(
    roster: Roster,
    scenario: Inrc2Scenario,
    solution: Inrc2Solution,
    week0: date,
    types_by_name: dict[str, ShiftType],
    problems: ProblemLog,
) -> None:
    nurses = {nurse.id: nurse for nurse in scenario.nurses}
    shift_names = {shift_type.name for shift_type in scenario.shift_types}
    worked: dict[tuple[str, int], int] = {}

    for assignment in solution.assignments:
        day_key = (assignment.nurse, assignment.day)
        problem = _assignment_problem(
            assignment, nurses.get(assignment.nurse), scenario, shift_names, worked.get(day_key)
        )
        if problem is not None:
            problems.add(solution.file, assignment.line, *problem)
            continue
        worked[day_key] = assignment.line

        # Nurses with unusable skills and shift types without clock times were reported already.
        shift_type = types_by_name.get(assignment.shift)
        if shift_type is None or assignment.nurse not in roster.people or solution.week >= scenario.weeks:
            continue
        day = week0 + timedelta(days=7 * solution.week + assignment.day)
        key = shift_key(day, shift_type.name)
        if key not in roster.shifts:
            roster.shifts[key] = make_shift(roster.ward.key, day, shift_type, roster.ward.policy.timezone)
        roster.duties.append(Duty(key, assignment.nurse, in_charge=assignment.skill == IN_CHARGE_SKILL))


def _assignment_problem(
    assignment: Inrc2Assignment,
    nurse: Inrc2Nurse | None,
    scenario: Inrc2Scenario,
    shift_names: set[str],
    earlier_line: int | None,
) -> tuple[str, str] | None:
    """Return the field and message of the first problem with a solution line, or None.

    `earlier_line` is the line of another assignment of the same nurse on the same day, if any.
    """
    if nurse is None:
        return "nurse", f"'{assignment.nurse}' is not one of the NURSES in {scenario.file}."
    if assignment.shift not in shift_names:
        return "shift", f"'{assignment.shift}' is not one of the SHIFT_TYPES in {scenario.file}."
    if assignment.skill not in scenario.skills:
        return "skill", f"'{assignment.skill}' is not one of the SKILLS in {scenario.file}."
    if assignment.skill not in nurse.skills:
        return "skill", (f"{nurse.id} does not have the skill {assignment.skill} (their skills are "
                         f"{' '.join(nurse.skills)}), so cannot cover it.")
    if earlier_line is not None:
        return "day", (f"{nurse.id} already works on {DAY_NAMES[assignment.day]} on line {earlier_line}. "
                       f"A nurse works at most one shift a day.")
    return None
