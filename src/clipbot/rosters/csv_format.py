"""The clipbot roster CSV format: people.csv and shifts.csv.

Both files are what a spreadsheet exports as CSV. They are read as UTF-8, with or without a byte
order mark, with CRLF or LF line endings. The delimiter is a comma or a semicolon, whichever the
header line uses more. Header names ignore case, and spaces, hyphens and underscores in them are
alike (`Placement Start`, `placement-start` and `placement_start` are one column). Values have
surrounding spaces removed, and blank lines (or lines of empty cells) are skipped. Dates are
YYYY-MM-DD or DD/MM/YYYY. Yes/no values are yes/no, y/n, true/false or 1/0 in any case, and an empty
cell means no.

people.csv has one row per person:

| column | required | values |
| --- | --- | --- |
| id | yes | unique person id, for example a staff number |
| name | yes | display name |
| role | yes | student, registered nurse, registered professional, healthcare assistant (also unregistered or hca), academic assessor (university staff who are registered nurses) |
| field | for students | adult, children, mental health, learning disabilities |
| email | no | email address |
| programme_part | no | 1, 2 or 3, for students only |
| university | no | the student's or academic assessor's university |
| placement_start, placement_end | no | a student's placement dates; by default the first and last day the student appears in shifts.csv |
| practice_assessor, named_supervisor, academic_assessor | no | person ids of the roles already chosen for a student, held over the placement dates (the academic assessor for the student's programme part) |
| clinical_educator | no | yes/no: this person is the ward's clinical educator for the dates in shifts.csv |

shifts.csv has one row per person per shift:

| column | required | values |
| --- | --- | --- |
| date | yes | the day the shift starts |
| shift | yes | a shift type name (Early, Day, Late, Night unless other shift times are set; any case), or Leave for a day of leave |
| person | yes | an id from people.csv |
| in_charge | no | yes/no: the nurse in charge of the ward on that shift, who must be a registered nurse |
| coach | no | on a student's row, the id of the coach the ward has planned: a registered nurse on the same shift |

Consecutive days of leave for one person become one period of leave. Every preset role (the
assessor and supervisor columns, clinical_educator and coach) is checked against the NMC rules
and the ward's policy limits, and a broken rule is reported with its own explanation. Students
are supernumerary, so no staffing numbers are checked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from clipbot.domain.people import FieldOfPractice, Person, Registration
from clipbot.domain.roster import Roster
from clipbot.domain.shifts import DEFAULT_SHIFT_TYPES, ShiftType
from clipbot.domain.ward import LearningEnvironment
from clipbot.rosters.csv_checks import PersonEntry, ShiftEntry, build_roster, describe_role
from clipbot.rosters.csv_table import CsvRow, normalise_word, parse_date, parse_yes_no, read_table
from clipbot.rosters.errors import ProblemLog
from clipbot.rosters.shift_times import LEAVE, find_shift_type

logger = logging.getLogger(__name__)

PEOPLE_COLUMNS = (
    "id", "name", "role", "field", "email", "programme_part", "university", "placement_start",
    "placement_end", "practice_assessor", "named_supervisor", "academic_assessor", "clinical_educator",
)
PEOPLE_REQUIRED = ("id", "name", "role")
SHIFTS_COLUMNS = ("date", "shift", "person", "in_charge", "coach")
SHIFTS_REQUIRED = ("date", "shift", "person")
PRESET_COLUMNS = ("practice_assessor", "named_supervisor", "academic_assessor")

# Role names as written in people.csv, after normalise_word: registration and academic flag.
ROLES: dict[str, tuple[Registration, bool]] = {
    "student": (Registration.STUDENT, False),
    "registered nurse": (Registration.REGISTERED_NURSE, False),
    "registered professional": (Registration.REGISTERED_PROFESSIONAL, False),
    "healthcare assistant": (Registration.UNREGISTERED, False),
    "health care assistant": (Registration.UNREGISTERED, False),
    "unregistered": (Registration.UNREGISTERED, False),
    "hca": (Registration.UNREGISTERED, False),
    "academic assessor": (Registration.REGISTERED_NURSE, True),
}
_ROLE_CHOICES = "student, registered nurse, registered professional, healthcare assistant, academic assessor"
_FIELD_CHOICES = ", ".join(field.value for field in FieldOfPractice)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _looks_swapped(people_path: Path, shifts_path: Path) -> bool:
    """Tell whether the two files were given the wrong way round, judged by their header lines."""
    def header(path: Path) -> set[str]:
        try:
            with path.open(encoding="utf-8-sig", errors="replace") as file:
                line = file.readline()
        except OSError:
            return set()
        delimiter = ";" if line.count(";") > line.count(",") else ","
        return {normalise_word(cell).replace(" ", "_") for cell in line.strip().split(delimiter)}

    people_header, shifts_header = header(people_path), header(shifts_path)
    return set(SHIFTS_REQUIRED) <= people_header and set(PEOPLE_REQUIRED) <= shifts_header


def read_csv_roster(
    people_path: Path,
    shifts_path: Path,
    *,
    ward: LearningEnvironment,
    shift_types: Sequence[ShiftType] = DEFAULT_SHIFT_TYPES,
) -> Roster:
    """Read people.csv and shifts.csv into one ward's Roster.

    Raises RosterError listing every problem in both files, so a Roster is returned only when
    both files are entirely valid.
    """
    problems = ProblemLog()
    if _looks_swapped(people_path, shifts_path):
        problems.add(people_path.name, 1, None, f"{people_path.name} has the columns of a shifts file and "
                     f"{shifts_path.name} those of a people file. Give the people file first, then the shifts file.")
        problems.raise_if_any([people_path.name, shifts_path.name])
    people_table = read_table(people_path, PEOPLE_COLUMNS, PEOPLE_REQUIRED, problems)
    shifts_table = read_table(shifts_path, SHIFTS_COLUMNS, SHIFTS_REQUIRED, problems)

    people, listed = _read_people(people_path.name, people_table.rows if people_table else [], problems)
    entries = _read_shifts(shifts_path.name, shifts_table.rows if shifts_table else [], shift_types, problems)
    if shifts_table is not None and not shifts_table.rows:
        problems.add(shifts_path.name, None, None, "The file has a header but no shifts. Add one row per "
                     "person per shift.")

    # Cross-file checks need a readable people.csv, or every person would be reported as unknown.
    # Placement dates are only taken from a complete shifts.csv, for the same reason.
    roster = Roster(ward=ward)
    if people_table is not None and people_table.has_columns(PEOPLE_REQUIRED):
        on_shifts_file: set[str] | None = None
        if shifts_table is not None and shifts_table.rows and shifts_table.has_columns(SHIFTS_REQUIRED):
            on_shifts_file = {row.text("person") for row in shifts_table.rows}
        roster = build_roster(
            ward, people, listed, entries, on_shifts_file,
            people_file=people_path.name, shifts_file=shifts_path.name, problems=problems,
        )

    if problems:
        logger.info("Rejected roster files %s and %s for ward %s: %d problems",
                    people_path.name, shifts_path.name, ward.key, len(problems))
    problems.raise_if_any([people_path.name, shifts_path.name])
    logger.info("Read roster for ward %s from %s and %s: %d people, %d shifts, %d duties, %d presets",
                ward.key, people_path.name, shifts_path.name, len(roster.people), len(roster.shifts),
                len(roster.duties), len(roster.assignments))
    return roster


def _read_people(
    file: str, rows: list[CsvRow], problems: ProblemLog
) -> tuple[dict[str, PersonEntry], set[str]]:
    """Return the valid people by id, and every id listed (valid or not) to avoid repeat reports."""
    people: dict[str, PersonEntry] = {}
    first_line: dict[str, int] = {}

    for row in rows:
        key = row.text("id")
        entry = _read_person(file, row, problems)
        if key in first_line:
            problems.add(file, row.line, "id", f"Person id '{key}' is already used on line {first_line[key]}. "
                         f"Give each person one row and a unique id.")
            continue
        if key:
            first_line[key] = row.line
        if entry is not None:
            people[entry.person.key] = entry
    return people, set(first_line)


def _read_person(file: str, row: CsvRow, problems: ProblemLog) -> PersonEntry | None:
    count_before = len(problems)
    for column in PEOPLE_REQUIRED:
        if row.get(column) == "":
            problems.add(file, row.line, column, f"The {column} is empty. Fill it in.")

    role_text = row.text("role")
    role = ROLES.get(normalise_word(role_text))
    if role_text and role is None:
        problems.add(file, row.line, "role", f"'{role_text}' is not a role. Use one of: {_ROLE_CHOICES}.")
    registration, academic = role or (None, False)
    is_student = registration is Registration.STUDENT

    field_text = row.text("field")
    field = _parse_field(field_text)
    if field_text and field is None:
        problems.add(file, row.line, "field", f"'{field_text}' is not a field of practice. "
                     f"Use one of: {_FIELD_CHOICES}.")
    elif is_student and not field_text:
        problems.add(file, row.line, "field", f"A student needs a field of practice. Use one of: {_FIELD_CHOICES}.")

    email = row.text("email") or None
    if email and not _EMAIL.fullmatch(email):
        problems.add(file, row.line, "email", f"'{email}' is not an email address. Correct it or leave it empty.")

    programme_part = _read_programme_part(file, row, is_student, registration is not None, problems)
    placement_start = _read_date(file, row, "placement_start", problems)
    placement_end = _read_date(file, row, "placement_end", problems)
    if placement_start and placement_end and placement_end < placement_start:
        problems.add(file, row.line, "placement_end", f"The placement ends on {placement_end:%d/%m/%Y}, before "
                     f"it starts on {placement_start:%d/%m/%Y}. Correct one of the dates.")

    presets = {column: row.text(column) for column in PRESET_COLUMNS if row.text(column)}
    if registration is not None and not is_student:
        for column in ("placement_start", "placement_end", *presets):
            if row.text(column):
                problems.add(file, row.line, column, f"{column} applies to students only, and this person is "
                             f"{describe_role(registration, academic)}. Leave it empty.")

    educator_text = row.text("clinical_educator")
    clinical_educator = parse_yes_no(educator_text)
    if clinical_educator is None:
        problems.add(file, row.line, "clinical_educator", f"'{educator_text}' is not yes or no. "
                     f"Write yes or no (or leave it empty for no).")

    if len(problems) > count_before or registration is None or not row.text("id") or not row.text("name"):
        return None
    person = Person(
        key=row.text("id"),
        name=row.text("name"),
        registration=registration,
        field=field,
        email=email,
        programme_part=programme_part,
        university=row.text("university") or None,
        academic=academic,
    )
    return PersonEntry(row.line, person, placement_start, placement_end, presets, bool(clinical_educator))


def _parse_field(text: str) -> FieldOfPractice | None:
    try:
        return FieldOfPractice(normalise_word(text))
    except ValueError:
        return None


def _read_programme_part(
    file: str, row: CsvRow, is_student: bool, role_known: bool, problems: ProblemLog
) -> int | None:
    text = row.text("programme_part")
    if not text:
        return None
    if text not in ("1", "2", "3"):
        problems.add(file, row.line, "programme_part", f"'{text}' is not a programme part. Use 1, 2 or 3.")
        return None
    if role_known and not is_student:
        problems.add(file, row.line, "programme_part", "programme_part applies to students only. Leave it empty.")
        return None
    return int(text)


def _read_date(file: str, row: CsvRow, column: str, problems: ProblemLog) -> date | None:
    text = row.text(column)
    if not text:
        return None
    day = parse_date(text)
    if day is None:
        problems.add(file, row.line, column, f"'{text}' is not a date. Write it as YYYY-MM-DD or DD/MM/YYYY, "
                     f"for example 2025-03-31 or 31/03/2025.")
    return day


def _read_shifts(
    file: str, rows: list[CsvRow], shift_types: Sequence[ShiftType], problems: ProblemLog
) -> list[ShiftEntry]:
    entries: list[ShiftEntry] = []
    type_names = ", ".join(shift_type.name for shift_type in shift_types)

    for row in rows:
        count_before = len(problems)
        for column in SHIFTS_REQUIRED:
            if row.get(column) == "":
                problems.add(file, row.line, column, f"The {column} is empty. Fill it in.")

        day = _read_date(file, row, "date", problems)

        shift_text = row.text("shift")
        is_leave = shift_text.strip().casefold() == LEAVE
        shift_type = None if is_leave else find_shift_type(shift_types, shift_text)
        if shift_text and not is_leave and shift_type is None:
            problems.add(file, row.line, "shift", f"'{shift_text}' is not a shift type. Use one of: "
                         f"{type_names}, or Leave for a day of leave.")

        in_charge_text = row.text("in_charge")
        in_charge = parse_yes_no(in_charge_text)
        if in_charge is None:
            problems.add(file, row.line, "in_charge", f"'{in_charge_text}' is not yes or no. "
                         f"Write yes or no (or leave it empty for no).")
        elif in_charge and is_leave:
            problems.add(file, row.line, "in_charge", "A day of leave cannot be in charge of the ward. "
                         "Leave in_charge empty on a Leave row.")

        coach = row.text("coach") or None
        if coach and is_leave:
            problems.add(file, row.line, "coach", "A day of leave has no coach. Leave coach empty on a Leave row.")

        if len(problems) > count_before or day is None or not row.text("person"):
            continue
        if not is_leave and shift_type is None:
            continue
        entries.append(ShiftEntry(row.line, day, shift_type, row.text("person"), bool(in_charge), coach))
    return entries
