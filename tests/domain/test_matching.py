"""Practice assessor and named supervisor matching: unit cases, and brute force on random wards."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clipbot
from builders import ADULT, CHILDREN, WardBuilder, day, early_shifts, shift
from clipbot.domain.matching import MatchResult, Pairing, match_ward
from clipbot.domain.people import Registration
from clipbot.domain.roles import Role, RoleAssignment
from clipbot.domain.roster import Roster
from clipbot.domain.rules import RuleContext, check_policy, check_regulatory
from clipbot.domain.ward import LearningEnvironment, WardPolicy
from clipbot.rosters import read_inrc2_roster

PA = Role.PRACTICE_ASSESSOR
NPS = Role.NAMED_PRACTICE_SUPERVISOR


def paired(result: MatchResult, student: str, role: Role) -> Pairing | None:
    return next((pair for pair in result.pairs if pair.student == student and pair.role is role), None)


def person_for(result: MatchResult, student: str, role: Role) -> str | None:
    pair = paired(result, student, role)
    return pair.person if pair else None


def reason_unmatched(result: MatchResult, student: str, role: Role) -> str | None:
    return next((gap.reason for gap in result.unmatched if gap.student == student and gap.role is role), None)


def confirmed(role: Role, person: str, student: str, first: int = 0, last: int = 13) -> RoleAssignment:
    return RoleAssignment(role, person, day(first), day(last), student=student, ward="W1")


# Unit cases


def busy_colleague(ward: WardBuilder, days: range = range(10)) -> list[RoleAssignment]:
    """Add RN9, on every shift but already full as assessor and supervisor elsewhere.

    With RN9 on duty no other nurse is ever the only nurse on a shift, so the sole-nurse cost
    stays out of tests about other terms. Returns the assignments that fill RN9's places.
    """
    ward.nurse("RN9", on=early_shifts(days))
    return [
        RoleAssignment(role, "RN9", day(0), day(60), student=f"Y{number}", ward="W9")
        for role in (PA, NPS)
        for number in range(3)
    ]


def test_assessor_prefers_more_shared_shifts():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(4)))
    ward.nurse("RN2", on=early_shifts(range(9)))
    result = match_ward(ward.build(), existing=busy_colleague(ward))
    assert person_for(result, "S1", PA) == "RN2"
    assert paired(result, "S1", PA).reason == "on 9 of your 10 shifts; adult field"
    assert paired(result, "S1", PA).shared_shifts == 9
    assert paired(result, "S1", PA).student_shifts == 10


def test_assessor_avoids_being_only_nurse():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(4)))
    ward.nurse("RN2", on=early_shifts(range(9)))
    result = match_ward(ward.build())
    # As assessor RN2 could not coach on the 5 shifts where nobody else is on, so RN1 assesses.
    assert person_for(result, "S1", PA) == "RN1"
    assert paired(result, "S1", PA).reason == "on 4 of your 10 shifts; adult field"


def test_assessor_prefers_same_field():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)), field_of_practice=CHILDREN)
    ward.nurse("RN1", on=early_shifts(range(10)))
    ward.nurse("RN2", on=early_shifts(range(8)), field_of_practice=CHILDREN)
    result = match_ward(ward.build())
    assert person_for(result, "S1", PA) == "RN2"
    assert paired(result, "S1", PA).reason == "on 8 of your 10 shifts; children field"


def test_field_mismatch_stated_in_reason():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(6)), field_of_practice=CHILDREN)
    result = match_ward(ward.build())
    assert paired(result, "S1", PA).reason == "on 6 of your 10 shifts; field differs: children; the only nurse on 6 of them"


def test_assessor_must_be_registered_nurse():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.professional("PT1", on=early_shifts(range(10)))
    ward.assistant("HCA1", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(2)))
    result = match_ward(ward.build())
    assert person_for(result, "S1", PA) == "RN1"
    assert person_for(result, "S1", NPS) == "PT1"
    assert paired(result, "S1", NPS).reason == "on 10 of your 10 shifts; registered professional, not a nurse"


def test_supervisor_differs_from_assessor():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(10)))
    ward.nurse("RN2", on=early_shifts(range(3)))
    result = match_ward(ward.build(), existing=busy_colleague(ward))
    assert person_for(result, "S1", PA) == "RN1"
    assert person_for(result, "S1", NPS) == "RN2"


def test_supervisor_unmatched_when_only_assessor_shares():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(10)))
    ward.assistant("HCA1", on=early_shifts(range(10)))
    result = match_ward(ward.build())
    assert person_for(result, "S1", PA) == "RN1"
    assert reason_unmatched(result, "S1", NPS) == (
        "the only registered professional who shares your shifts is your practice assessor, "
        "who cannot also be your named practice supervisor"
    )


def test_whole_ward_assignment_beats_greedy_order():
    # Taking S1's best nurse first would leave S2 with nobody, because each nurse takes one student.
    ward = WardBuilder(policy=WardPolicy(max_students_per_assessor=1))
    ward.student("S1", on=early_shifts(range(10)))
    ward.student("S2", on=early_shifts(range(5)))
    ward.nurse("RN1", on=early_shifts(range(10)))
    ward.nurse("RN2", on=early_shifts(range(5, 10)))
    result = match_ward(ward.build())
    assert person_for(result, "S1", PA) == "RN2"
    assert person_for(result, "S2", PA) == "RN1"


def test_existing_assignments_use_capacity():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(10)))
    ward.nurse("RN2", on=early_shifts(range(3)))
    elsewhere = [
        RoleAssignment(PA, "RN1", day(0), day(13), student=f"X{number}", ward="W9") for number in range(3)
    ]
    result = match_ward(ward.build(), existing=elsewhere)
    assert person_for(result, "S1", PA) == "RN2"


def test_existing_outside_placement_dates_ignored():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)), placement=(0, 9))
    ward.nurse("RN1", on=early_shifts(range(10)))
    ward.nurse("RN2", on=early_shifts(range(3)))
    later = [RoleAssignment(PA, "RN1", day(10), day(20), student=f"X{number}", ward="W9") for number in range(3)]
    result = match_ward(ward.build(), existing=later + busy_colleague(ward))
    assert person_for(result, "S1", PA) == "RN1"


def test_full_capacity_reason():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(10)))
    ward.professional("PT1", on=early_shifts(range(10)))
    elsewhere = [RoleAssignment(PA, "RN1", day(0), day(13), student=f"X{number}") for number in range(3)]
    result = match_ward(ward.build(), existing=elsewhere)
    assert reason_unmatched(result, "S1", PA) == "every eligible registered nurse already has 3 students"
    assert person_for(result, "S1", NPS) == "RN1"


def test_capacity_shared_within_ward():
    policy = WardPolicy(max_students_per_assessor=2)
    ward = WardBuilder(policy=policy)
    for number in range(3):
        ward.student(f"S{number}", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(10)))
    result = match_ward(ward.build())
    assessed = [pair.student for pair in result.pairs if pair.role is PA]
    assert assessed == ["S0", "S1"]
    assert reason_unmatched(result, "S2", PA) == "every eligible registered nurse already has 2 students"


def test_kept_assignment_not_proposed_again():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(10)))
    ward.nurse("RN2", on=early_shifts(range(2)))
    result = match_ward(ward.build(), keep=[confirmed(PA, "RN2", "S1")])
    assert paired(result, "S1", PA) is None
    assert reason_unmatched(result, "S1", PA) is None
    assert person_for(result, "S1", NPS) == "RN1"


def test_kept_assessor_never_also_supervisor():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(10)))
    result = match_ward(ward.build(), keep=[confirmed(PA, "RN1", "S1")])
    assert person_for(result, "S1", NPS) is None
    assert reason_unmatched(result, "S1", NPS) is not None


def test_kept_assignment_uses_capacity():
    policy = WardPolicy(max_students_per_assessor=1)
    ward = WardBuilder(policy=policy)
    ward.student("S1", on=early_shifts(range(10)))
    ward.student("S2", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(10)))
    ward.nurse("RN2", on=early_shifts(range(4)))
    result = match_ward(ward.build(), keep=[confirmed(PA, "RN1", "S1")])
    assert person_for(result, "S2", PA) == "RN2"


def test_roster_assignments_are_kept():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(10)))
    ward.nurse("RN2", on=early_shifts(range(2)))
    ward.assignment(confirmed(PA, "RN2", "S1"))
    result = match_ward(ward.build())
    assert paired(result, "S1", PA) is None
    assert person_for(result, "S1", NPS) == "RN1"


def test_previous_assessor_avoided():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(10)))
    ward.nurse("RN2", on=early_shifts(range(2)), field_of_practice=CHILDREN)
    last_time = [RoleAssignment(PA, "RN1", day(-90), day(-60), student="S1")]
    result = match_ward(ward.build(), previous=last_time)
    assert person_for(result, "S1", PA) == "RN2"


def test_previous_assessor_repeated_when_nobody_else():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(10)))
    last_time = [RoleAssignment(PA, "RN1", day(-90), day(-60), student="S1")]
    result = match_ward(ward.build(), previous=last_time)
    assert paired(result, "S1", PA).reason == (
        "on 10 of your 10 shifts; adult field; the only nurse on 10 of them; "
        "was your practice assessor on your last placement, nobody else was free"
    )


def test_leave_removes_shared_shifts():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(10)))
    ward.nurse("RN2", on=early_shifts(range(7)))
    ward.leave("RN1", 0, 4)
    result = match_ward(ward.build(), existing=busy_colleague(ward))
    assert person_for(result, "S1", PA) == "RN2"
    assert paired(result, "S1", NPS).shared_shifts == 5


def test_staff_on_leave_all_placement_excluded():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(10)))
    ward.leave("RN1", 0, 13)
    result = match_ward(ward.build())
    assert reason_unmatched(result, "S1", PA) == "no registered nurse shares a shift with you"


def test_student_leave_days_not_counted():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(10)))
    ward.leave("S1", 0, 3)
    result = match_ward(ward.build())
    assert paired(result, "S1", PA).reason == "on 6 of your 6 shifts; adult field; the only nurse on 6 of them"


def test_shifts_outside_placement_not_counted():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)), placement=(5, 13))
    ward.nurse("RN1", on=early_shifts(range(5)))
    result = match_ward(ward.build())
    assert reason_unmatched(result, "S1", PA) == "no registered nurse shares a shift with you"


def test_student_without_shifts_told_so():
    ward = WardBuilder()
    ward.student("S1")
    ward.nurse("RN1", on=early_shifts(range(10)))
    result = match_ward(ward.build())
    assert reason_unmatched(result, "S1", PA) == "you have no shifts on the Ward 1 roster during your placement"
    assert reason_unmatched(result, "S1", NPS) == "you have no shifts on the Ward 1 roster during your placement"


def test_only_unregistered_staff_reason():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.assistant("HCA1", on=early_shifts(range(10)))
    ward.nurse("RN1", on=[shift(0, "Night")])
    result = match_ward(ward.build())
    assert reason_unmatched(result, "S1", PA) == "no registered nurse shares a shift with you"
    assert reason_unmatched(result, "S1", NPS) == "no registered professional shares a shift with you"


def test_student_without_placement_listed():
    ward = WardBuilder()
    ward.add("S1", Registration.STUDENT, on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(10)))
    result = match_ward(ward.build())
    expected = "there are no placement dates for you on Ward 1; ask the ward to add them"
    assert reason_unmatched(result, "S1", PA) == expected
    assert reason_unmatched(result, "S1", NPS) == expected


def test_nmc_rule_blocks_academic_assessor():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(10)))
    academic = RoleAssignment(Role.ACADEMIC_ASSESSOR, "RN1", day(0), day(13), student="S1", programme_part=2)
    result = match_ward(ward.build(), existing=[academic])
    reason = reason_unmatched(result, "S1", PA)
    assert reason is not None
    assert "cannot also be the same student's practice supervisor or practice assessor" in reason


def test_every_student_paired_or_unmatched():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.student("S2", on=[shift(0, "Night")])
    ward.student("S3")
    ward.nurse("RN1", on=early_shifts(range(10)))
    ward.professional("PT1", on=early_shifts(range(4)))
    result = match_ward(ward.build())
    for student in ("S1", "S2", "S3"):
        for role in (PA, NPS):
            outcomes = [paired(result, student, role), reason_unmatched(result, student, role)]
            assert sum(outcome is not None for outcome in outcomes) == 1


def build_busy_ward(seed: int, *, shuffle: bool) -> Roster:
    rng = random.Random(seed)
    ward = WardBuilder()
    keys = [shift(number, name) for number in range(14) for name in ("Early", "Late", "Night")]
    for number in range(6):
        ward.student(f"S{number}", on=rng.sample(keys, 10), field_of_practice=rng.choice([ADULT, CHILDREN]))
    for number in range(5):
        ward.nurse(f"RN{number}", on=rng.sample(keys, 12), field_of_practice=rng.choice([ADULT, CHILDREN]))
    ward.professional("PT1", on=rng.sample(keys, 12))
    roster = ward.build()
    if shuffle:
        shuffler = random.Random(seed + 1)
        shuffler.shuffle(roster.duties)
        people = list(roster.people.items())
        shuffler.shuffle(people)
        roster.people = dict(people)
    return roster


def test_matching_deterministic():
    first = match_ward(build_busy_ward(7, shuffle=False))
    again = match_ward(build_busy_ward(7, shuffle=False))
    shuffled = match_ward(build_busy_ward(7, shuffle=True))
    assert first == again
    assert first == shuffled


def test_equal_candidates_go_to_lower_key():
    ward = WardBuilder()
    ward.student("S1", on=early_shifts(range(10)))
    ward.nurse("RN2", on=early_shifts(range(10)))
    ward.nurse("RN1", on=early_shifts(range(10)))
    result = match_ward(ward.build())
    assert person_for(result, "S1", PA) == "RN1"


# Brute force on small random wards


SHIFT_KEYS = [shift(number, name) for number in range(3) for name in ("Early", "Late")]
FIELDS = [ADULT, CHILDREN]


@dataclass
class RandomWard:
    roster: Roster
    existing: list[RoleAssignment]
    previous: list[RoleAssignment]


@st.composite
def random_wards(draw: st.DrawFn) -> RandomWard:
    policy = WardPolicy(
        max_students_per_assessor=draw(st.integers(1, 3)),
        max_students_per_named_supervisor=draw(st.integers(1, 3)),
    )
    ward = WardBuilder(days=3, policy=policy)
    # Staff work more shifts than students, so that most draws have people to choose between.
    student_shifts = st.lists(st.sampled_from(SHIFT_KEYS), unique=True, max_size=len(SHIFT_KEYS))
    staff_shifts = st.lists(st.sampled_from(SHIFT_KEYS), unique=True, min_size=2, max_size=len(SHIFT_KEYS))
    students = [f"S{number}" for number in range(draw(st.integers(1, 4)))]
    staff = [f"P{number}" for number in range(draw(st.integers(1, 5)))]

    for key in students:
        ward.student(key, on=draw(student_shifts), field_of_practice=draw(st.sampled_from(FIELDS)))
        if draw(st.integers(0, 3)) == 0:
            ward.leave(key, draw(st.integers(0, 2)), 2)

    existing: list[RoleAssignment] = []
    for key in staff:
        registration = draw(st.sampled_from([
            Registration.REGISTERED_NURSE, Registration.REGISTERED_NURSE,
            Registration.REGISTERED_PROFESSIONAL, Registration.UNREGISTERED,
        ]))
        field_of_practice = draw(st.sampled_from(FIELDS)) if registration is Registration.REGISTERED_NURSE else None
        ward.add(key, registration, on=draw(staff_shifts), field_of_practice=field_of_practice)
        if draw(st.integers(0, 3)) == 0:
            first = draw(st.integers(0, 2))
            ward.leave(key, first, draw(st.integers(first, 2)))
        for role in (PA, NPS):
            for number in range(draw(st.integers(0, 1))):
                existing.append(RoleAssignment(role, key, day(0), day(2), student=f"X-{key}-{role.name}-{number}"))

    previous = [
        RoleAssignment(role, draw(st.sampled_from(staff)), day(-60), day(-30), student=student)
        for student in students
        for role in (PA, NPS)
        if draw(st.booleans())
    ]
    return RandomWard(ward.build(), existing, previous)


def on_leave(roster: Roster, person: str, key: str) -> bool:
    shift_day = roster.shifts[key].day
    return any(leave.person == person and leave.start <= shift_day <= leave.end for leave in roster.leave)


def worked(roster: Roster, person: str) -> set[str]:
    return {duty.shift_key for duty in roster.duties if duty.person == person and not on_leave(roster, person, duty.shift_key)}


def sole_nurse_shifts(roster: Roster, shifts: set[str], person: str) -> int:
    """Count the shifts in `shifts` on which `person` is the only registered nurse at work."""
    count = 0
    for key in shifts:
        nurses = {
            duty.person for duty in roster.duties
            if duty.shift_key == key
            and roster.people[duty.person].registration is Registration.REGISTERED_NURSE
            and not on_leave(roster, duty.person, key)
        }
        count += nurses == {person}
    return count


@dataclass(frozen=True)
class Option:
    person: str
    cost: float
    repeat: bool


def options(ward: RandomWard, role: Role, student: str, barred: str | None) -> list[Option]:
    """List who may take `role` for `student`, costed as the matching module documents."""
    roster = ward.roster
    student_person = roster.people[student]
    student_shifts = worked(roster, student)
    limit = (
        roster.ward.policy.max_students_per_assessor if role is PA else roster.ward.policy.max_students_per_named_supervisor
    )
    found = []
    for person in roster.people.values():
        if person.is_student or not person.is_registered or person.key == barred:
            continue
        if role is PA and person.registration is not Registration.REGISTERED_NURSE:
            continue
        if sum(a.person == person.key and a.role is role for a in ward.existing) >= limit:
            continue
        shared = len(student_shifts & worked(roster, person.key))
        if shared == 0:
            continue
        cost = 1 - shared / len(student_shifts) + (0.5 if person.field != student_person.field else 0.0)
        if role is PA:
            cost += 2.0 * sole_nurse_shifts(roster, student_shifts, person.key) / len(student_shifts)
        repeat = any(
            a.student == student and a.role is role and a.person == person.key for a in ward.previous
        )
        found.append(Option(person.key, cost, repeat))
    return found


def capacity_left(ward: RandomWard, role: Role) -> dict[str, int]:
    policy = ward.roster.ward.policy
    limit = policy.max_students_per_assessor if role is PA else policy.max_students_per_named_supervisor
    return {
        key: limit - sum(a.person == key and a.role is role for a in ward.existing) for key in ward.roster.people
    }


def best_objective(choices: Sequence[Sequence[Option]], capacity: dict[str, int]) -> tuple[int, int, float]:
    """Return (matched, repeats, cost) of the best assignment: most matched, then fewest repeats, then cheapest."""
    best: tuple[int, int, float] | None = None
    for combination in itertools.product(*[[None, *choice] for choice in choices]):
        chosen = [option for option in combination if option is not None]
        used: dict[str, int] = {}
        for option in chosen:
            used[option.person] = used.get(option.person, 0) + 1
        if any(count > capacity[person] for person, count in used.items()):
            continue
        objective = (-len(chosen), sum(option.repeat for option in chosen), sum(option.cost for option in chosen))
        if best is None or objective[:2] < best[:2] or (objective[:2] == best[:2] and objective[2] < best[2] - 1e-12):
            best = objective
    assert best is not None
    return best


def result_objective(choices: dict[str, list[Option]], pairs: list[Pairing]) -> tuple[int, int, float]:
    selected = [next(option for option in choices[pair.student] if option.person == pair.person) for pair in pairs]
    return -len(selected), sum(option.repeat for option in selected), sum(option.cost for option in selected)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_wards())
def test_matching_equals_brute_force(ward: RandomWard):
    result = match_ward(ward.roster, existing=ward.existing, previous=ward.previous)
    students = [person.key for person in ward.roster.students()]

    assessor_choices = {student: options(ward, PA, student, None) for student in students}
    assessor_pairs = [pair for pair in result.pairs if pair.role is PA]
    for pair in assessor_pairs:
        assert pair.person in {option.person for option in assessor_choices[pair.student]}
    brute = best_objective([assessor_choices[student] for student in students], capacity_left(ward, PA))
    found = result_objective(assessor_choices, assessor_pairs)
    assert found[:2] == brute[:2]
    assert math.isclose(found[2], brute[2], abs_tol=1e-6)

    assessor_of = {pair.student: pair.person for pair in assessor_pairs}
    supervisor_choices = {student: options(ward, NPS, student, assessor_of.get(student)) for student in students}
    supervisor_pairs = [pair for pair in result.pairs if pair.role is NPS]
    for pair in supervisor_pairs:
        assert pair.person in {option.person for option in supervisor_choices[pair.student]}
    brute = best_objective([supervisor_choices[student] for student in students], capacity_left(ward, NPS))
    found = result_objective(supervisor_choices, supervisor_pairs)
    assert found[:2] == brute[:2]
    assert math.isclose(found[2], brute[2], abs_tol=1e-6)


@settings(max_examples=200, deadline=None)
@given(random_wards())
def test_random_pairs_pass_rules(ward: RandomWard):
    result = match_ward(ward.roster, existing=ward.existing, previous=ward.previous)
    proposed = [
        RoleAssignment(pair.role, pair.person, day(0), day(2), student=pair.student, ward="W1") for pair in result.pairs
    ]
    for assignment in proposed:
        context = RuleContext(ward.roster.people, [*ward.existing, *proposed], policy=ward.roster.ward.policy)
        assert check_regulatory(assignment, context) == []
        assert check_policy(assignment, context) == []


@settings(max_examples=200, deadline=None)
@given(random_wards())
def test_random_students_never_dropped(ward: RandomWard):
    result = match_ward(ward.roster, existing=ward.existing, previous=ward.previous)
    outcomes = [(pair.student, pair.role) for pair in result.pairs]
    outcomes += [(gap.student, gap.role) for gap in result.unmatched]
    expected = [(person.key, role) for person in ward.roster.students() for role in (PA, NPS)]
    assert sorted(outcomes) == sorted(expected)
    for gap in result.unmatched:
        assert gap.reason



# A real ward roster from the INRC-II benchmark


def test_inrc2_ward_fully_matched():
    folder = Path(clipbot.__file__).parent / "data" / "inrc2" / "n021w4"
    roster = read_inrc2_roster(
        folder / "Sc-n021w4.txt",
        folder / "Solution_H_0-WD_5-4-1-2",
        week0=date(2026, 3, 2),
        ward=LearningEnvironment("n021w4", "Ward n021w4"),
    )
    result = match_ward(roster)
    students = [person.key for person in roster.students()]
    assert len(students) == 5
    assert result.unmatched == []
    assert sorted((pair.student, pair.role) for pair in result.pairs) == sorted(
        (student, role) for student in students for role in (PA, NPS)
    )
    proposed = [
        RoleAssignment(pair.role, pair.person, date(2026, 3, 2), date(2026, 3, 29), student=pair.student)
        for pair in result.pairs
    ]
    for assignment in proposed:
        context = RuleContext(roster.people, proposed, policy=roster.ward.policy)
        assert check_regulatory(assignment, context) == []
        assert check_policy(assignment, context) == []
