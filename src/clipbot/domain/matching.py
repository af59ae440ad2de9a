"""Choose each student's practice assessor and named practice supervisor on one ward.

`match_ward` solves one minimum-cost assignment per role with
`scipy.optimize.linear_sum_assignment`. Rows are the students who still need the role and columns
are the free capacity slots of the ward's staff. Assessors are chosen first, then named
supervisors with each student's assessor excluded. The cost of giving a student a person, lower
being better, is:

- 1 - shared / student_shifts, the share of the student's shifts that the person is not on;
- plus 0.5 when the person's field of practice is not the student's;
- for a practice assessor only, plus 2 x sole / student_shifts, where `sole` counts the student's
  shifts on which the person is the only registered nurse. The NMC rules bar an assessor from also
  coaching their student, so each such shift would become a supervision gap;
- plus a penalty larger than any total of the terms above when the person held the same role for
  the student on the previous placement, so a repeat is chosen only when nobody else is free;
- plus a term below 1e-9 that grows with the person's key, so equal costs go to the lower key.

An ineligible pair costs more than all of that together, so the solver first matches as many
students as it can, and such a pair is never returned.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from clipbot.domain.people import Person
from clipbot.domain.roles import Placement, Role, RoleAssignment
from clipbot.domain.roster import Roster
from clipbot.domain.rules import RuleContext, check_regulatory
from clipbot.domain.shifts import Leave

logger = logging.getLogger(__name__)

FIELD_MISMATCH_PENALTY = 0.5
SOLE_NURSE_PENALTY = 2.0
TIE_BREAK_SCALE = 1e-9
MATCHED_ROLES = (Role.PRACTICE_ASSESSOR, Role.NAMED_PRACTICE_SUPERVISOR)


@dataclass(frozen=True)
class Pairing:
    """A proposed role for a student, with the reason shown to the student."""

    student: str
    role: Role
    person: str
    reason: str
    shared_shifts: int
    student_shifts: int


@dataclass(frozen=True)
class Unmatched:
    """A student left without a person in `role`, and why, in words the student can act on."""

    student: str
    role: Role
    reason: str


@dataclass
class MatchResult:
    """The roles proposed for one ward, and every student role left without a person."""

    pairs: list[Pairing] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)


@dataclass(slots=True)
class _Need:
    """A student placement on the ward and the shifts the student works during it."""

    placement: Placement
    student: Person
    shifts: frozenset[str]
    shared: dict[str, int]
    # Staff key -> how many of the student's shifts that person is the only registered nurse on.
    sole: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _WardView:
    """The facts about one ward that both matching stages read, computed once."""

    people: Mapping[str, Person]
    staff: list[Person]
    rank: dict[str, int]
    needs: list[_Need]
    confirmed_roles: dict[tuple[str, Role], str]
    context_by_student: dict[str, list[RoleAssignment]]
    chosen_by_student: dict[str, list[RoleAssignment]]
    load_assignments: list[RoleAssignment]
    previous: dict[tuple[str, Role], set[str]]


def match_ward(
    roster: Roster,
    *,
    existing: Sequence[RoleAssignment] = (),
    previous: Sequence[RoleAssignment] = (),
    keep: Sequence[RoleAssignment] = (),
) -> MatchResult:
    """Propose a practice assessor and a named practice supervisor for each student placement.

    `existing` are confirmed assignments elsewhere (other wards included) that use up capacity.
    `keep` are confirmed assignments for this ward's students: those roles are not proposed again
    and count against capacity. The roster's own practice assessor and named supervisor
    assignments are kept in the same way. `previous` are the students' roles on their last
    placement, which are repeated only when nobody else is free. Every student who gets no
    person for a role is listed in `unmatched` with the reason.
    """
    view = _build_view(roster, existing, keep, previous)
    result = MatchResult()
    _report_unplaced(roster, view, result)

    assessors = _match_role(roster, view, Role.PRACTICE_ASSESSOR, result)
    for student, person in assessors.items():
        view.confirmed_roles[(student, Role.PRACTICE_ASSESSOR)] = person
    _match_role(roster, view, Role.NAMED_PRACTICE_SUPERVISOR, result)

    role_order = {role: index for index, role in enumerate(MATCHED_ROLES)}
    result.pairs.sort(key=lambda pair: (pair.student, role_order[pair.role]))
    result.unmatched.sort(key=lambda gap: (gap.student, role_order[gap.role]))
    logger.debug(
        "Matched ward %s: %d roles proposed, %d left unmatched",
        roster.ward.key, len(result.pairs), len(result.unmatched),
    )
    return result


def _build_view(
    roster: Roster,
    existing: Sequence[RoleAssignment],
    keep: Sequence[RoleAssignment],
    previous: Sequence[RoleAssignment],
) -> _WardView:
    people = roster.people
    worked = _shifts_worked(roster)
    staff = sorted(
        (person for person in people.values() if person.is_registered and not person.is_student),
        key=lambda person: person.key,
    )
    staff_shifts = {person.key: worked.get(person.key, frozenset()) for person in staff}
    nurses_on: dict[str, list[str]] = defaultdict(list)
    for person in staff:
        if person.is_registered_nurse:
            for key in staff_shifts[person.key]:
                nurses_on[key].append(person.key)

    # Roles the roster file itself names are confirmed, so they are kept like `keep`.
    presets = [a for a in roster.assignments if a.role in MATCHED_ROLES and a.student in people]
    kept_assignments = list(dict.fromkeys([*keep, *presets]))
    confirmed_roles = {(a.student, a.role): a.person for a in kept_assignments if a.student is not None}

    needs: list[_Need] = []
    for placement in sorted(roster.placements, key=lambda p: (p.student, p.start, p.end)):
        student = people.get(placement.student)
        if placement.ward != roster.ward.key or student is None or not student.is_student:
            # _report_unplaced lists these, so nobody is dropped without a reason.
            continue
        shifts = frozenset(
            key for key in worked.get(student.key, frozenset())
            if placement.start <= roster.shifts[key].day <= placement.end
        )
        shared = {}
        for person in staff:
            count = len(shifts & staff_shifts[person.key])
            if count:
                shared[person.key] = count
        sole: dict[str, int] = defaultdict(int)
        for key in shifts:
            if len(nurses_on[key]) == 1:
                sole[nurses_on[key][0]] += 1
        needs.append(_Need(placement, student, shifts, shared, dict(sole)))

    context_by_student: dict[str, list[RoleAssignment]] = defaultdict(list)
    for assignment in dict.fromkeys([*existing, *kept_assignments]):
        if assignment.student is not None:
            context_by_student[assignment.student].append(assignment)

    previous_people: dict[tuple[str, Role], set[str]] = defaultdict(set)
    for assignment in previous:
        if assignment.student is not None:
            previous_people[(assignment.student, assignment.role)].add(assignment.person)

    return _WardView(
        people=people,
        staff=staff,
        rank={person.key: index for index, person in enumerate(staff)},
        needs=needs,
        confirmed_roles=confirmed_roles,
        context_by_student=context_by_student,
        chosen_by_student=defaultdict(list),
        load_assignments=list(dict.fromkeys([*existing, *kept_assignments])),
        previous=previous_people,
    )


def _shifts_worked(roster: Roster) -> dict[str, frozenset[str]]:
    """Map each person to the shift keys they are rostered on and not on leave for."""
    leave_by_person: dict[str, list[Leave]] = defaultdict(list)
    for leave in roster.leave:
        leave_by_person[leave.person].append(leave)

    worked: dict[str, set[str]] = defaultdict(set)
    unknown = 0
    for duty in roster.duties:
        shift = roster.shifts.get(duty.shift_key)
        if shift is None:
            unknown += 1
            continue
        leaves = leave_by_person.get(duty.person)
        if leaves and any(leave.covers(shift.day) for leave in leaves):
            continue
        worked[duty.person].add(duty.shift_key)
    if unknown:
        logger.warning("Ward %s: ignored %d duties on shifts missing from the roster", roster.ward.key, unknown)
    return {person: frozenset(keys) for person, keys in worked.items()}


def _report_unplaced(roster: Roster, view: _WardView, result: MatchResult) -> None:
    """List students with no usable placement on this ward, once for each role they lack."""
    ward_name = roster.ward.name
    reasons: dict[str, str] = {}
    for placement in roster.placements:
        student = roster.people.get(placement.student)
        if placement.ward == roster.ward.key and (student is None or not student.is_student):
            reasons[placement.student] = (
                f"you are not on the {ward_name} roster as a student; ask the ward to correct the roster"
            )
    placed = {need.student.key for need in view.needs}
    for student in roster.students():
        if student.key not in placed:
            reasons[student.key] = f"there are no placement dates for you on {ward_name}; ask the ward to add them"

    for student_key, reason in reasons.items():
        for role in MATCHED_ROLES:
            if (student_key, role) not in view.confirmed_roles:
                result.unmatched.append(Unmatched(student_key, role, reason))


def _match_role(roster: Roster, view: _WardView, role: Role, result: MatchResult) -> dict[str, str]:
    """Solve one role for every placement still needing it and return student -> chosen person."""
    other_role = Role.NAMED_PRACTICE_SUPERVISOR if role is Role.PRACTICE_ASSESSOR else Role.PRACTICE_ASSESSOR
    needs = [need for need in view.needs if (need.student.key, role) not in view.confirmed_roles]
    if not needs:
        return {}

    capacity = _capacity_left(roster, view, role, needs)
    qualified = [person for person in view.staff if _qualifies(person, role)]
    blocked: list[dict[str, str]] = [{} for _ in needs]
    eligible: list[list[str]] = []
    for row, need in enumerate(needs):
        excluded = view.confirmed_roles.get((need.student.key, other_role))
        candidates = []
        for person in qualified:
            if person.key == excluded or person.key not in need.shared:
                continue
            violation = _rule_violation(view, role, need, person.key)
            if violation:
                blocked[row][person.key] = violation
            elif capacity[person.key] > 0:
                candidates.append(person.key)
        eligible.append(candidates)

    chosen = _solve(view, role, needs, eligible, capacity)

    picked: dict[str, str] = {}
    for row, need in enumerate(needs):
        person_key = chosen.get(row)
        if person_key is None:
            reason = _unmatched_reason(roster, view, role, need, qualified, blocked[row])
            result.unmatched.append(Unmatched(need.student.key, role, reason))
            continue

        # Final guard: the same NMC check any other assignment gets, with this round's picks.
        violation = _rule_violation(view, role, need, person_key, final=True)
        if violation:
            result.unmatched.append(Unmatched(need.student.key, role, violation))
            continue
        view.chosen_by_student[need.student.key].append(_assignment(role, need, person_key))
        picked[need.student.key] = person_key
        result.pairs.append(Pairing(
            student=need.student.key,
            role=role,
            person=person_key,
            reason=_pair_reason(view, role, need, person_key),
            shared_shifts=need.shared[person_key],
            student_shifts=len(need.shifts),
        ))
    return picked


def _qualifies(person: Person, role: Role) -> bool:
    if role is Role.PRACTICE_ASSESSOR:
        return person.is_registered_nurse
    return person.is_registered


def _capacity_left(roster: Roster, view: _WardView, role: Role, needs: list[_Need]) -> dict[str, int]:
    """Count each staff member's free places for `role` over the placements being matched.

    NOTE: an assignment overlapping any of these placements uses a place for all of them. That is
    exact when the placements overlap each other (the usual case), and cautious when they do not.
    """
    policy = roster.ward.policy
    limit = policy.max_students_per_assessor if role is Role.PRACTICE_ASSESSOR else policy.max_students_per_named_supervisor
    matching = {need.student.key for need in needs}
    students_by_person: dict[str, set[str]] = defaultdict(set)
    for assignment in view.load_assignments:
        if assignment.role is not role or assignment.person not in view.rank or assignment.student in matching:
            continue
        if any(assignment.start <= need.placement.end and need.placement.start <= assignment.end for need in needs):
            students_by_person[assignment.person].add(assignment.student or "")
    return {person.key: max(0, limit - len(students_by_person[person.key])) for person in view.staff}


def _rule_violation(
    view: _WardView, role: Role, need: _Need, person_key: str, *, final: bool = False
) -> str | None:
    """Return the NMC rule messages that giving `person_key` the role would break, if any.

    check_regulatory compares only assignments for the same student, so the context holds just
    this student's confirmed assignments, plus this run's picks for the final guard. Candidates
    are checked against confirmed assignments only: against this run's picks they could break
    only the assessor-is-not-supervisor rule, which eligibility already excludes.
    """
    student = need.student.key
    context = view.context_by_student.get(student, [])
    if final:
        context = [*context, *view.chosen_by_student.get(student, ())]
    elif not context:
        return None
    violations = check_regulatory(
        _assignment(role, need, person_key), RuleContext(people=view.people, assignments=context)
    )
    if not violations:
        return None
    return " ".join(violation.message for violation in violations)


def _assignment(role: Role, need: _Need, person_key: str) -> RoleAssignment:
    placement = need.placement
    return RoleAssignment(
        role=role, person=person_key, start=placement.start, end=placement.end,
        student=placement.student, ward=placement.ward,
    )


def _solve(
    view: _WardView, role: Role, needs: list[_Need], eligible: list[list[str]], capacity: dict[str, int]
) -> dict[int, str]:
    """Run the minimum-cost assignment and return row -> person for the feasible pairs chosen."""
    columns = sorted({key for candidates in eligible for key in candidates}, key=view.rank.__getitem__)
    if not columns:
        return {}
    rows = len(needs)
    base_limit = 1.0 + FIELD_MISMATCH_PENALTY + SOLE_NURSE_PENALTY + 1.0
    repeat_penalty = base_limit * (rows + 1)
    infeasible = (repeat_penalty + base_limit) * (rows + 1)

    column_index = {key: index for index, key in enumerate(columns)}
    costs = np.full((rows, len(columns)), infeasible)
    for row, need in enumerate(needs):
        repeats = view.previous.get((need.student.key, role), ())
        for key in eligible[row]:
            cost = _base_cost(need, view.people[key], role)
            if key in repeats:
                cost += repeat_penalty
            costs[row, column_index[key]] = cost + TIE_BREAK_SCALE * view.rank[key] / len(view.rank)

    # One column per free place; nobody needs more places than there are rows.
    slots = np.array([min(capacity[key], rows) for key in columns])
    slot_owner = np.repeat(np.arange(len(columns)), slots)
    row_indices, slot_indices = linear_sum_assignment(costs[:, slot_owner])

    chosen: dict[int, str] = {}
    for row, slot in zip(row_indices.tolist(), slot_indices.tolist()):
        column = int(slot_owner[slot])
        if costs[row, column] < infeasible:
            chosen[row] = columns[column]
    return chosen


def _base_cost(need: _Need, person: Person, role: Role) -> float:
    cost = 1.0 - need.shared[person.key] / len(need.shifts)
    if need.student.field is not None and person.field != need.student.field:
        cost += FIELD_MISMATCH_PENALTY
    if role is Role.PRACTICE_ASSESSOR:
        cost += SOLE_NURSE_PENALTY * need.sole.get(person.key, 0) / len(need.shifts)
    return cost


def _pair_reason(view: _WardView, role: Role, need: _Need, person_key: str) -> str:
    person = view.people[person_key]
    parts = [f"on {need.shared[person_key]} of your {len(need.shifts)} shifts"]
    if not person.is_registered_nurse:
        parts.append("registered professional, not a nurse")
    elif person.field is None:
        parts.append("field of practice not recorded")
    elif need.student.field is None or person.field == need.student.field:
        parts.append(f"{person.field} field")
    else:
        parts.append(f"field differs: {person.field}")
    sole = need.sole.get(person_key, 0)
    if role is Role.PRACTICE_ASSESSOR and sole:
        parts.append(f"the only nurse on {sole} of them")
    if person_key in view.previous.get((need.student.key, role), ()):
        parts.append(f"was your {role} on your last placement, nobody else was free")
    return "; ".join(parts)


def _unmatched_reason(
    roster: Roster,
    view: _WardView,
    role: Role,
    need: _Need,
    qualified: Iterable[Person],
    blocked: Mapping[str, str],
) -> str:
    """Explain, in the student's terms, why nobody was found for `role`."""
    policy = roster.ward.policy
    noun = "registered nurse" if role is Role.PRACTICE_ASSESSOR else "registered professional"
    limit = policy.max_students_per_assessor if role is Role.PRACTICE_ASSESSOR else policy.max_students_per_named_supervisor
    other_role = Role.NAMED_PRACTICE_SUPERVISOR if role is Role.PRACTICE_ASSESSOR else Role.PRACTICE_ASSESSOR

    if not need.shifts:
        return f"you have no shifts on the {roster.ward.name} roster during your placement"
    sharing = [person.key for person in qualified if person.key in need.shared]
    if not sharing:
        return f"no {noun} shares a shift with you"
    excluded = view.confirmed_roles.get((need.student.key, other_role))
    others = [key for key in sharing if key != excluded]
    if not others:
        return f"the only {noun} who shares your shifts is your {other_role}, who cannot also be your {role}"
    free = [key for key in others if key not in blocked]
    if not free:
        return f"no {noun} who shares your shifts can take this role: {blocked[others[0]]}"
    return f"every eligible {noun} already has {limit} {_students(limit)}"


def _students(count: int) -> str:
    return "student" if count == 1 else "students"

