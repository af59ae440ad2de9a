"""Checks across people.csv and shifts.csv, and building the Roster from their valid rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from clipbot.domain.people import Person, Registration
from clipbot.domain.roles import Placement, Role, RoleAssignment
from clipbot.domain.roster import Roster
from clipbot.domain.rules import RuleContext, check_policy, check_regulatory
from clipbot.domain.shifts import Duty, Leave, Shift, ShiftType, make_shift, shift_key
from clipbot.domain.ward import LearningEnvironment
from clipbot.rosters.errors import ProblemLog

PRESET_ROLES = {
    "practice_assessor": Role.PRACTICE_ASSESSOR,
    "named_supervisor": Role.NAMED_PRACTICE_SUPERVISOR,
    "academic_assessor": Role.ACADEMIC_ASSESSOR,
}


@dataclass(frozen=True)
class PersonEntry:
    """A valid people.csv row: the person, and the placement and roles the row sets for them."""

    line: int
    person: Person
    placement_start: date | None
    placement_end: date | None
    presets: dict[str, str]
    clinical_educator: bool


@dataclass(frozen=True)
class ShiftEntry:
    """A valid shifts.csv row. `shift_type` is None for a day of leave."""

    line: int
    day: date
    shift_type: ShiftType | None
    person: str
    in_charge: bool
    coach: str | None

    @property
    def is_leave(self) -> bool:
        return self.shift_type is None

    @property
    def label(self) -> str:
        return f"leave on {self.day:%d/%m/%Y}" if self.shift_type is None else (
            f"the {self.shift_type.name} shift on {self.day:%d/%m/%Y}"
        )


def describe_role(registration: Registration, academic: bool = False) -> str:
    """Describe a person's role for a message, with its article: "a student", "an academic assessor"."""
    if registration is Registration.STUDENT:
        return "a student"
    if registration is Registration.UNREGISTERED:
        return "a healthcare assistant"
    if registration is Registration.REGISTERED_PROFESSIONAL:
        return "a registered professional, not a nurse"
    return "an academic assessor" if academic else "a registered nurse"


def _who(person: Person) -> str:
    return f"{person.name} ({person.key})" if person.name != person.key else person.key


@dataclass
class _Files:
    people: str
    shifts: str
    problems: ProblemLog

    def people_problem(self, line: int, field: str | None, message: str) -> None:
        self.problems.add(self.people, line, field, message)

    def shifts_problem(self, line: int, field: str | None, message: str) -> None:
        self.problems.add(self.shifts, line, field, message)


def build_roster(
    ward: LearningEnvironment,
    people: Mapping[str, PersonEntry],
    listed: set[str],
    entries: Sequence[ShiftEntry],
    on_shifts_file: set[str] | None,
    *,
    people_file: str,
    shifts_file: str,
    problems: ProblemLog,
) -> Roster:
    """Check the two files against each other and build the Roster, adding every problem found.

    `people` contains the valid rows of people.csv and `listed` every id in it, so that a person
    whose own row is invalid is not reported again as missing. `on_shifts_file` contains every
    person id in shifts.csv, valid row or not, or is None when shifts.csv could not be read
    completely. A student missing from it needs placement dates in people.csv. The Roster is
    only meaningful when no problem was added.
    """
    files = _Files(people_file, shifts_file, problems)
    roster = Roster(ward=ward, people={key: entry.person for key, entry in people.items()})
    entries = _check_entries(files, roster.people, listed, entries)

    for entry in entries:
        if entry.shift_type is None:
            continue
        key = shift_key(entry.day, entry.shift_type.name)
        if key not in roster.shifts:
            roster.shifts[key] = make_shift(ward.key, entry.day, entry.shift_type, ward.policy.timezone)
        roster.duties.append(Duty(key, entry.person, entry.in_charge, entry.coach))
    roster.leave = _merge_leave(entry for entry in entries if entry.is_leave)
    _check_overlaps(files, roster, entries)

    on_shift: dict[str, set[str]] = defaultdict(set)
    for duty in roster.duties:
        on_shift[duty.shift_key].add(duty.person)
    # The context shares roster.assignments, so each preset is checked against those accepted before it.
    context = RuleContext(
        people=roster.people,
        assignments=roster.assignments,
        on_shift={key: frozenset(keys) for key, keys in on_shift.items()},
        policy=ward.policy,
    )

    _add_placements(files, roster, people, entries, on_shifts_file)
    _add_presets(files, roster, people, listed, entries, context)
    _check_coaches(files, roster, entries, context)
    return roster


def _check_overlaps(files: _Files, roster: Roster, entries: Sequence[ShiftEntry]) -> None:
    """Report a person rostered on two shifts whose times overlap, such as Early and Day."""
    by_person: dict[str, list[tuple[Shift, ShiftEntry]]] = defaultdict(list)
    for entry in entries:
        if entry.shift_type is not None:
            shift = roster.shifts[shift_key(entry.day, entry.shift_type.name)]
            by_person[entry.person].append((shift, entry))
    for person, shifts in by_person.items():
        shifts.sort(key=lambda item: (item[0].starts_at, item[1].line))
        for (earlier, first), (later, second) in zip(shifts, shifts[1:]):
            if later.starts_at < earlier.ends_at:
                files.shifts_problem(
                    second.line, "shift",
                    f"{_who(roster.people[person])} is on {second.label}, which overlaps {first.label} on line "
                    f"{first.line}. A person works one shift at a time: delete one of the two rows.",
                )


def _check_entries(
    files: _Files, people: Mapping[str, Person], listed: set[str], entries: Sequence[ShiftEntry]
) -> list[ShiftEntry]:
    """Report rows about unknown people, repeated rows and bad in-charge or coach values.

    Returns the rows that can go on the roster, without the coaches reported here.
    """
    usable: list[ShiftEntry] = []
    first_line: dict[tuple[str, date, str], int] = {}
    leave_line: dict[tuple[str, date], int] = {}
    duty_line: dict[tuple[str, date], int] = {}

    for entry in entries:
        person = people.get(entry.person)
        if person is None:
            if entry.person not in listed:
                files.shifts_problem(entry.line, "person", f"'{entry.person}' is not in {files.people}. Add them "
                                     f"to {files.people} or correct the id.")
            continue

        slot = (entry.person, entry.day, entry.shift_type.name if entry.shift_type else "")
        if slot in first_line:
            files.shifts_problem(entry.line, "shift", f"{_who(person)} is already on {entry.label} on line "
                                 f"{first_line[slot]}. Delete one of the two rows.")
            continue
        first_line[slot] = entry.line

        day_key = (entry.person, entry.day)
        clash = duty_line.get(day_key) if entry.is_leave else leave_line.get(day_key)
        if clash is not None:
            files.shifts_problem(entry.line, "shift", f"{_who(person)} is on leave and on a shift on "
                                 f"{entry.day:%d/%m/%Y} (lines {clash} and {entry.line}). Delete the wrong row.")
            continue
        (leave_line if entry.is_leave else duty_line).setdefault(day_key, entry.line)

        if entry.in_charge and not person.is_registered_nurse:
            files.shifts_problem(entry.line, "in_charge", f"{_who(person)} is "
                                 f"{describe_role(person.registration, person.academic)}. Only a registered "
                                 f"nurse can be in charge of the ward. Set in_charge to no.")

        # The row stays on the roster without its bad coach, so later checks do not report it again.
        if entry.coach and not person.is_student:
            files.shifts_problem(entry.line, "coach", f"Only a student's row can name a coach, and {_who(person)} "
                                 f"is {describe_role(person.registration, person.academic)}. Leave coach empty.")
            entry = replace(entry, coach=None)
        elif entry.coach and entry.coach not in people:
            if entry.coach not in listed:
                files.shifts_problem(entry.line, "coach", f"Coach '{entry.coach}' is not in {files.people}. Add "
                                     f"them to {files.people} or correct the id.")
            entry = replace(entry, coach=None)
        usable.append(entry)
    return usable


def _merge_leave(entries: Iterable[ShiftEntry]) -> list[Leave]:
    days_by_person: dict[str, set[date]] = defaultdict(set)
    for entry in entries:
        days_by_person[entry.person].add(entry.day)

    leave: list[Leave] = []
    for person in sorted(days_by_person):
        days = sorted(days_by_person[person])
        start = end = days[0]
        for day in days[1:]:
            if day == end + timedelta(days=1):
                end = day
                continue
            leave.append(Leave(person, start, end))
            start = end = day
        leave.append(Leave(person, start, end))
    return leave


def _add_placements(
    files: _Files,
    roster: Roster,
    people: Mapping[str, PersonEntry],
    entries: Sequence[ShiftEntry],
    on_shifts_file: set[str] | None,
) -> None:
    rows_by_person: dict[str, list[ShiftEntry]] = defaultdict(list)
    for entry in entries:
        rows_by_person[entry.person].append(entry)

    for key, person_entry in people.items():
        if not person_entry.person.is_student:
            continue
        rows = rows_by_person.get(key, [])
        start = person_entry.placement_start or min((row.day for row in rows), default=None)
        end = person_entry.placement_end or max((row.day for row in rows), default=None)
        if start is None or end is None:
            if on_shifts_file is None or key in on_shifts_file:
                continue  # shifts.csv is incomplete or the student's rows in it are invalid, as reported.
            files.people_problem(person_entry.line, "placement_start", f"{_who(person_entry.person)} has no "
                                 f"placement dates and no rows in {files.shifts}. Add placement_start and "
                                 f"placement_end, or the student's shifts.")
            continue
        if end < start:
            # Only possible when one date was given and the other came from shifts.csv.
            files.people_problem(person_entry.line, "placement_start", f"{_who(person_entry.person)}'s placement "
                                 f"would run from {start:%d/%m/%Y} to {end:%d/%m/%Y}. Correct placement_start "
                                 f"or placement_end.")
            continue
        roster.placements.append(Placement(key, roster.ward.key, start, end))

        for row in rows:
            if not start <= row.day <= end:
                files.shifts_problem(row.line, "date", f"{_who(person_entry.person)} is on {row.label}, outside "
                                     f"their placement from {start:%d/%m/%Y} to {end:%d/%m/%Y}. Correct the date "
                                     f"here or the placement dates in {files.people}.")


def _add_presets(
    files: _Files,
    roster: Roster,
    people: Mapping[str, PersonEntry],
    listed: set[str],
    entries: Sequence[ShiftEntry],
    context: RuleContext,
) -> None:
    """Check the roles people.csv sets, in file order, and keep those that break no rule."""
    placements = {placement.student: placement for placement in roster.placements}
    roster_days = [entry.day for entry in entries]

    for key, entry in people.items():
        placement = placements.get(key)
        for column, holder in entry.presets.items():
            if holder not in roster.people:
                if holder not in listed:
                    files.people_problem(entry.line, column, f"'{holder}' is not in {files.people}. Add them to "
                                         f"{files.people} or correct the id.")
                continue
            if placement is None:
                continue
            role = PRESET_ROLES[column]
            part = entry.person.programme_part if role is Role.ACADEMIC_ASSESSOR else None
            assignment = RoleAssignment(role, holder, placement.start, placement.end, student=key,
                                        programme_part=part)
            _accept(files.people_problem, entry.line, column, assignment, roster, context)

        if entry.clinical_educator and roster_days:
            assignment = RoleAssignment(Role.CLINICAL_EDUCATOR, key, min(roster_days), max(roster_days),
                                        ward=roster.ward.key)
            _accept(files.people_problem, entry.line, "clinical_educator", assignment, roster, context)


def _check_coaches(files: _Files, roster: Roster, entries: Sequence[ShiftEntry], context: RuleContext) -> None:
    """Check each coach shifts.csv names against the rules, after the roles from people.csv."""
    known = list(roster.assignments)
    coach_context = RuleContext(
        people=context.people, assignments=known, on_shift=context.on_shift, policy=context.policy
    )
    for entry in entries:
        coach = roster.people.get(entry.coach or "")
        if coach is None or entry.shift_type is None:
            continue
        key = shift_key(entry.day, entry.shift_type.name)
        assignment = RoleAssignment(Role.COACH, coach.key, entry.day, entry.day, student=entry.person, shift=key)
        violations = check_regulatory(assignment, coach_context) + check_policy(assignment, coach_context)
        for violation in violations:
            files.shifts_problem(
                entry.line, "coach", f"{violation.message} Name a registered nurse on the same shift, or leave coach empty."
            )
        if not violations and not coach.is_registered_nurse:
            files.shifts_problem(entry.line, "coach", f"{_who(coach)} is "
                                 f"{describe_role(coach.registration, coach.academic)}. A coach must be a "
                                 f"registered nurse on the same shift. Choose a registered nurse.")
        if not violations:
            known.append(assignment)


def _accept(
    report: Callable[[int, str | None, str], None],
    line: int,
    column: str,
    assignment: RoleAssignment,
    roster: Roster,
    context: RuleContext,
) -> None:
    violations = check_regulatory(assignment, context) + check_policy(assignment, context)
    for violation in violations:
        report(line, column, f"{violation.message} Name someone else in {column}, or leave it empty.")
    if not violations:
        roster.assignments.append(assignment)
