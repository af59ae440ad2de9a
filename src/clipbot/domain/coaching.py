"""Plan each shift's coach groups: which registered nurse coaches which students on that shift.

The rules, in priority order:

1. Every student on the shift gets one coach: a registered nurse on the same shift and not on
   leave. A coach takes at most `WardPolicy.max_students_per_coach` students. A student who
   cannot get a coach is recorded as a `SupervisionGap`.
2. The nurse in charge coaches only the students whom nobody else can take.
3. The fewest coaches, ceil(n / max), with group sizes as even as possible (4 -> 2+2, 5 -> 3+2).
4. Each student keeps the coach of their previous shift, or else gets their named supervisor.
5. A coach that the roster names on the student's duty is kept when the rules above allow it.

A student's practice assessor never coaches them, because the NMC rules forbid one person being a
student's practice assessor and practice supervisor at once.

Rules 1-3 fix how many coaches there are and how big each group is. Preferences 4 and 5 are then
granted greedily, in that order and by student key, within those sizes. NOTE: that greedy step can
grant fewer preferences than the best possible arrangement when preferences compete for one coach.
Each shift is a handful of students and nurses, so this is plain Python without numpy.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from clipbot.domain.people import Person
from clipbot.domain.roles import Role, RoleAssignment
from clipbot.domain.roster import Roster
from clipbot.domain.shifts import Duty, Leave, Shift

logger = logging.getLogger(__name__)

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class CoachGroup:
    """A coach and the students they coach on one shift."""

    coach: str
    students: tuple[str, ...]


@dataclass(frozen=True)
class SupervisionGap:
    """A student on a shift with no coach, and why."""

    student: str
    reason: str


@dataclass(frozen=True)
class ShiftPlan:
    """The coach groups and supervision gaps of one shift, with the nurses in charge on it."""

    shift: Shift
    groups: tuple[CoachGroup, ...]
    gaps: tuple[SupervisionGap, ...]
    in_charge: tuple[str, ...]


def plan_coach_groups(
    roster: Roster,
    *,
    named_supervisors: Mapping[str, str] = _EMPTY,
    previous_coaches: Mapping[str, str] = _EMPTY,
    assessors: Mapping[str, str] = _EMPTY,
    start: date | None = None,
    end: date | None = None,
) -> list[ShiftPlan]:
    """Plan coach groups for every shift with students on duty, in start-time order.

    Only shifts starting from `start` to `end` (inclusive dates) are planned when they are given.
    `named_supervisors` and `assessors` map a student to their named practice supervisor and
    practice assessor; the roster's own practice assessor assignments are honoured too.
    `previous_coaches` maps a student to the coach of their last shift before the first shift
    planned, and each shift's coach then carries forward to the student's next shift.
    """
    kinds = {key: _kind(person) for key, person in roster.people.items()}
    leave_by_person: dict[str, list[Leave]] = defaultdict(list)
    for leave in roster.leave:
        leave_by_person[leave.person].append(leave)
    roster_assessors: dict[str, list[RoleAssignment]] = defaultdict(list)
    for assignment in roster.assignments:
        if assignment.role is Role.PRACTICE_ASSESSOR and assignment.student:
            roster_assessors[assignment.student].append(assignment)
    duties_by_shift = roster.duties_by_shift()
    limit = roster.ward.policy.max_students_per_coach

    current = dict(previous_coaches)
    plans: list[ShiftPlan] = []
    for shift in roster.shifts_in_order():
        if (start is not None and shift.day < start) or (end is not None and shift.day > end):
            continue
        duties = duties_by_shift.get(shift.key)
        if not duties:
            continue
        on_duty = _on_duty(duties, kinds, leave_by_person, shift.day)
        if not on_duty.students:
            continue

        forbidden = _assessors_on(on_duty.students, assessors, roster_assessors, shift.day)
        problem = _ShiftProblem(
            students=on_duty.students,
            free=on_duty.free_nurses,
            in_charge=on_duty.in_charge_nurses,
            limit=limit,
            preferences=[
                current,
                named_supervisors,
                on_duty.roster_coaches,
            ],
            forbidden=forbidden,
        )
        groups, gaps = problem.solve()
        for group in groups:
            for student in group.students:
                current[student] = group.coach
        plans.append(ShiftPlan(shift, groups, gaps, tuple(on_duty.in_charge_nurses)))
    return plans


@dataclass(slots=True)
class _OnDuty:
    students: list[str] = field(default_factory=list)
    free_nurses: list[str] = field(default_factory=list)
    in_charge_nurses: list[str] = field(default_factory=list)
    roster_coaches: dict[str, str] = field(default_factory=dict)


_STUDENT, _NURSE, _OTHER = 0, 1, 2


def _kind(person: Person) -> int:
    if person.is_student:
        return _STUDENT
    return _NURSE if person.is_registered_nurse else _OTHER


def _on_duty(
    duties: Iterable[Duty], kinds: Mapping[str, int], leave_by_person: Mapping[str, list[Leave]], day: date
) -> _OnDuty:
    """Sort one shift's duties into students and registered nurses, leaving out anyone on leave."""
    students: set[str] = set()
    nurses: set[str] = set()
    in_charge: set[str] = set()
    roster_coaches: dict[str, str] = {}
    for duty in duties:
        kind = kinds.get(duty.person, _OTHER)
        if kind == _OTHER:
            continue
        leaves = leave_by_person.get(duty.person)
        if leaves and any(leave.covers(day) for leave in leaves):
            continue
        if kind == _NURSE:
            nurses.add(duty.person)
            if duty.in_charge:
                in_charge.add(duty.person)
            continue
        students.add(duty.person)
        if duty.coach is not None:
            # Duplicate duties could name two coaches; the lowest key wins, whatever the order.
            known = roster_coaches.get(duty.person)
            roster_coaches[duty.person] = duty.coach if known is None else min(known, duty.coach)

    return _OnDuty(
        students=sorted(students),
        free_nurses=sorted(nurses - in_charge),
        in_charge_nurses=sorted(in_charge),
        roster_coaches=roster_coaches,
    )


def _assessors_on(
    students: Iterable[str],
    assessors: Mapping[str, str],
    roster_assessors: Mapping[str, list[RoleAssignment]],
    day: date,
) -> dict[str, set[str]]:
    """Map each student to the practice assessors who may not coach them on `day`."""
    forbidden: dict[str, set[str]] = {}
    for student in students:
        barred = {assessors[student]} if student in assessors else set()
        barred.update(a.person for a in roster_assessors.get(student, ()) if a.start <= day <= a.end)
        if barred:
            forbidden[student] = barred
    return forbidden


@dataclass(slots=True)
class _Pool:
    """Nurses of one kind (not in charge, or in charge) with the groups they must form."""

    nurses: list[str]
    groups: int
    size: int
    larger: int
    counts: dict[str, int] = field(default_factory=dict)
    at_larger: int = 0

    def can_take(self, nurse: str) -> bool:
        count = self.counts.get(nurse, 0)
        if count == 0 and len(self.counts) >= self.groups:
            return False
        if count + 1 > self.size + 1:
            return False
        return count + 1 <= self.size or self.at_larger < self.larger

    def take(self, nurse: str) -> None:
        count = self.counts.get(nurse, 0) + 1
        self.counts[nurse] = count
        if count == self.size + 1:
            self.at_larger += 1


def _even_pool(nurses: list[str], students: int, limit: int) -> _Pool:
    """Return a pool that forms the fewest groups of at most `limit` students, sized as evenly as possible."""
    if students == 0:
        return _Pool(nurses, groups=0, size=0, larger=0)
    groups = -(-students // limit)
    size, larger = divmod(students, groups)
    return _Pool(nurses, groups=groups, size=size, larger=larger)


@dataclass(slots=True)
class _ShiftProblem:
    """One shift's students and nurses, with each student's preferred coaches in priority order."""

    students: list[str]
    free: list[str]
    in_charge: list[str]
    limit: int
    preferences: list[Mapping[str, str]]
    forbidden: Mapping[str, set[str]]

    def solve(self) -> tuple[tuple[CoachGroup, ...], tuple[SupervisionGap, ...]]:
        count = len(self.students)
        free_capacity = len(self.free) * self.limit
        to_free = min(count, free_capacity)
        to_in_charge = min(count - to_free, len(self.in_charge) * self.limit)
        if to_in_charge:
            # Everyone not in charge takes a full group before the nurse in charge takes anyone.
            free_pool = _Pool(self.free, groups=len(self.free), size=self.limit, larger=0)
        else:
            free_pool = _even_pool(self.free, to_free, self.limit)
        pools = (free_pool, _even_pool(self.in_charge, to_in_charge, self.limit))
        pool_of = {nurse: pool for pool in pools for nurse in pool.nurses}

        coach_of: dict[str, str] = {}
        for preference in self.preferences:
            for student in self.students:
                preferred = preference.get(student)
                if student in coach_of or preferred is None:
                    continue
                pool = pool_of.get(preferred)
                if pool is not None and self._allowed(student, preferred) and pool.can_take(preferred):
                    pool.take(preferred)
                    coach_of[student] = preferred

        for pool in pools:
            self._fill(pool, coach_of)
        gaps = self._place_leftovers(pools, coach_of)
        return self._groups(coach_of), gaps

    def _allowed(self, student: str, nurse: str) -> bool:
        barred = self.forbidden.get(student)
        return barred is None or nurse not in barred

    def _fill(self, pool: _Pool, coach_of: dict[str, str]) -> None:
        """Open the pool's remaining groups and fill every group to its planned size."""
        if pool.groups == 0:
            return
        for nurse in pool.nurses:
            if len(pool.counts) >= pool.groups:
                break
            pool.counts.setdefault(nurse, 0)

        # The fullest groups get the larger size, then each group is topped up to its target.
        by_count = sorted(pool.counts, key=lambda nurse: (-pool.counts[nurse], nurse))
        larger_left = pool.larger - pool.at_larger
        targets: dict[str, int] = {}
        for nurse in by_count:
            if pool.counts[nurse] == pool.size + 1:
                targets[nurse] = pool.size + 1
            elif larger_left > 0:
                targets[nurse] = pool.size + 1
                larger_left -= 1
            else:
                targets[nurse] = pool.size

        for student in self.students:
            if student in coach_of:
                continue
            room = [nurse for nurse in by_count if pool.counts[nurse] < targets[nurse] and self._allowed(student, nurse)]
            if not room:
                continue
            nurse = min(room, key=lambda key: (pool.counts[key] - targets[key], key))
            pool.counts[nurse] += 1
            coach_of[student] = nurse

    def _place_leftovers(self, pools: tuple[_Pool, _Pool], coach_of: dict[str, str]) -> tuple[SupervisionGap, ...]:
        """Place students the planned groups could not take, else record each as a gap."""
        gaps: list[SupervisionGap] = []
        counts = {nurse: pool.counts.get(nurse, 0) for pool in pools for nurse in pool.nurses}
        order = [nurse for pool in pools for nurse in sorted(pool.nurses, key=lambda key: (counts[key] == 0, key))]
        for student in self.students:
            if student in coach_of:
                continue
            allowed = [nurse for nurse in order if self._allowed(student, nurse)]
            nurse = next((key for key in allowed if counts[key] < self.limit), None)
            if nurse is None:
                gaps.append(SupervisionGap(student, self._gap_reason(allowed)))
                continue
            counts[nurse] += 1
            coach_of[student] = nurse
        return tuple(gaps)

    def _gap_reason(self, allowed: list[str]) -> str:
        if not self.free and not self.in_charge:
            return "no registered nurse on this shift"
        if not allowed:
            return "the only registered nurse on this shift is your practice assessor, who cannot also coach you"
        noun = "student" if self.limit == 1 else "students"
        return f"all registered nurses on this shift already coach {self.limit} {noun}"

    @staticmethod
    def _groups(coach_of: Mapping[str, str]) -> tuple[CoachGroup, ...]:
        members: dict[str, list[str]] = defaultdict(list)
        for student in sorted(coach_of):
            members[coach_of[student]].append(student)
        return tuple(CoachGroup(coach, tuple(members[coach])) for coach in sorted(members))
