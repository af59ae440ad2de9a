"""Per-shift coach groups: coverage, limits, the nurse in charge, group sizes and continuity."""

from __future__ import annotations

import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from builders import WardBuilder, day, shift
from clipbot.domain.coaching import ShiftPlan, plan_coach_groups
from clipbot.domain.people import Registration
from clipbot.domain.roles import Role, RoleAssignment
from clipbot.domain.roster import Roster
from clipbot.domain.rules import RuleContext, check_regulatory
from clipbot.domain.ward import WardPolicy

EARLY = shift(0)


def students_on(ward: WardBuilder, count: int, shifts: list[str] | None = None) -> list[str]:
    keys = [f"S{number}" for number in range(count)]
    for key in keys:
        ward.student(key, on=shifts or [EARLY])
    return keys


def sizes(plan: ShiftPlan) -> list[int]:
    return sorted((len(group.students) for group in plan.groups), reverse=True)


def coach_of(plan: ShiftPlan, student: str) -> str | None:
    return next((group.coach for group in plan.groups if student in group.students), None)


def only_plan(roster: Roster, **options) -> ShiftPlan:
    plans = plan_coach_groups(roster, **options)
    assert len(plans) == 1
    return plans[0]


def test_group_sizes_even_and_fewest():
    expected = {1: [1], 2: [2], 3: [3], 4: [2, 2], 5: [3, 2], 6: [3, 3], 7: [3, 2, 2], 10: [3, 3, 2, 2]}
    for count, expected_sizes in expected.items():
        ward = WardBuilder(days=1)
        students_on(ward, count)
        for number in range(6):
            ward.nurse(f"RN{number}", on=[EARLY])
        assert sizes(only_plan(ward.build())) == expected_sizes, count


def test_smaller_coach_limit_from_policy():
    ward = WardBuilder(days=1, policy=WardPolicy(max_students_per_coach=2))
    students_on(ward, 5)
    for number in range(4):
        ward.nurse(f"RN{number}", on=[EARLY])
    assert sizes(only_plan(ward.build())) == [2, 2, 1]


def test_every_student_covered_once():
    ward = WardBuilder(days=1)
    students = students_on(ward, 5)
    ward.nurse("RN1", on=[EARLY])
    ward.nurse("RN2", on=[EARLY])
    plan = only_plan(ward.build())
    coached = [student for group in plan.groups for student in group.students]
    assert sorted(coached) == students
    assert plan.gaps == ()


def test_coaches_are_nurses_on_shift():
    ward = WardBuilder(days=2)
    students_on(ward, 4)
    ward.nurse("RN1", on=[EARLY])
    ward.nurse("RN2", on=[shift(1)])
    ward.professional("PT1", on=[EARLY])
    ward.assistant("HCA1", on=[EARLY])
    ward.nurse("RN3", on=[EARLY])
    ward.leave("RN3", 0, 0)
    roster = ward.build()
    plan = only_plan(roster)
    assert [group.coach for group in plan.groups] == ["RN1"]
    assert sizes(plan) == [3]
    assert [gap.student for gap in plan.gaps] == ["S3"]


def test_coach_assignments_pass_rules():
    ward = WardBuilder(days=1)
    students_on(ward, 5)
    ward.nurse("RN1", on=[EARLY])
    ward.nurse("RN2", on=[EARLY])
    roster = ward.build()
    plan = only_plan(roster)
    on_shift = {EARLY: frozenset(duty.person for duty in roster.duties)}
    for group in plan.groups:
        for student in group.students:
            coach = RoleAssignment(Role.COACH, group.coach, day(0), day(0), student=student, shift=EARLY)
            assert check_regulatory(coach, RuleContext(roster.people, on_shift=on_shift)) == []


def test_gap_when_no_nurse():
    ward = WardBuilder(days=1)
    students_on(ward, 2)
    ward.assistant("HCA1", on=[EARLY])
    plan = only_plan(ward.build())
    assert plan.groups == ()
    assert [gap.reason for gap in plan.gaps] == ["no registered nurse on this shift"] * 2


def test_gap_when_nurses_full():
    ward = WardBuilder(days=1)
    students_on(ward, 5)
    ward.nurse("RN1", on=[EARLY])
    plan = only_plan(ward.build())
    assert sizes(plan) == [3]
    assert [gap.student for gap in plan.gaps] == ["S3", "S4"]
    assert plan.gaps[0].reason == "all registered nurses on this shift already coach 3 students"


def test_in_charge_unused_when_others_cover():
    ward = WardBuilder(days=1)
    students_on(ward, 3)
    ward.nurse("RN1", on=[EARLY])
    ward.nurse("RN9", in_charge_on=[EARLY])
    plan = only_plan(ward.build())
    assert [group.coach for group in plan.groups] == ["RN1"]
    assert plan.in_charge == ("RN9",)


def test_in_charge_takes_only_overflow():
    ward = WardBuilder(days=1)
    students_on(ward, 4)
    ward.nurse("RN1", on=[EARLY])
    ward.nurse("RN9", in_charge_on=[EARLY])
    plan = only_plan(ward.build())
    assert [(group.coach, len(group.students)) for group in plan.groups] == [("RN1", 3), ("RN9", 1)]


def test_in_charge_coaches_when_alone():
    ward = WardBuilder(days=1)
    students_on(ward, 2)
    ward.nurse("RN9", in_charge_on=[EARLY])
    plan = only_plan(ward.build())
    assert [group.coach for group in plan.groups] == ["RN9"]


def test_in_charge_not_kept_from_previous_shift():
    ward = WardBuilder(days=1)
    students_on(ward, 2)
    ward.nurse("RN1", on=[EARLY])
    ward.nurse("RN9", in_charge_on=[EARLY])
    plan = only_plan(ward.build(), previous_coaches={"S0": "RN9"})
    assert coach_of(plan, "S0") == "RN1"


def test_continuity_over_consecutive_shifts():
    ward = WardBuilder(days=2)
    both_days = [shift(0), shift(1)]
    students_on(ward, 4, both_days)
    for number in range(4):
        ward.nurse(f"RN{number}", on=both_days)
    roster = ward.build()
    seeded = {"S0": "RN3", "S1": "RN2", "S2": "RN3", "S3": "RN2"}
    first, second = plan_coach_groups(roster, previous_coaches=seeded)
    for student, coach in seeded.items():
        assert coach_of(first, student) == coach
        assert coach_of(second, student) == coach


def test_continuity_follows_student_not_shift():
    # S0 works days 0 and 2; the day-1 plan in between must not reset S0's coach.
    ward = WardBuilder(days=3)
    ward.student("S0", on=[shift(0), shift(2)])
    ward.student("S1", on=[shift(1)])
    for number in range(3):
        ward.nurse(f"RN{number}", on=[shift(0), shift(1), shift(2)])
    roster = ward.build()
    plans = plan_coach_groups(roster, previous_coaches={"S0": "RN2"})
    assert [coach_of(plan, "S0") for plan in plans] == ["RN2", None, "RN2"]


def test_continuity_yields_to_even_groups():
    ward = WardBuilder(days=1)
    students_on(ward, 4)
    ward.nurse("RN1", on=[EARLY])
    ward.nurse("RN2", on=[EARLY])
    plan = only_plan(ward.build(), previous_coaches={"S0": "RN1", "S1": "RN1", "S2": "RN1"})
    assert sizes(plan) == [2, 2]
    assert coach_of(plan, "S0") == "RN1"
    assert coach_of(plan, "S1") == "RN1"


def test_named_supervisor_preferred():
    ward = WardBuilder(days=1)
    students_on(ward, 2)
    ward.nurse("RN1", on=[EARLY])
    ward.nurse("RN2", on=[EARLY])
    plan = only_plan(ward.build(), named_supervisors={"S0": "RN2", "S1": "RN2"})
    assert [group.coach for group in plan.groups] == ["RN2"]


def test_previous_coach_beats_named_supervisor():
    ward = WardBuilder(days=1)
    students_on(ward, 1)
    ward.nurse("RN1", on=[EARLY])
    ward.nurse("RN2", on=[EARLY])
    plan = only_plan(ward.build(), named_supervisors={"S0": "RN2"}, previous_coaches={"S0": "RN1"})
    assert coach_of(plan, "S0") == "RN1"


def test_roster_coach_kept_when_valid():
    ward = WardBuilder(days=1)
    ward.student("S0", on=[EARLY], coaches={EARLY: "RN2"})
    ward.nurse("RN1", on=[EARLY])
    ward.nurse("RN2", on=[EARLY])
    plan = only_plan(ward.build())
    assert coach_of(plan, "S0") == "RN2"


def test_roster_coach_replaced_when_invalid():
    ward = WardBuilder(days=1)
    ward.student("S0", on=[EARLY], coaches={EARLY: "HCA1"})
    ward.student("S1", on=[EARLY], coaches={EARLY: "RN5"})
    ward.assistant("HCA1", on=[EARLY])
    ward.nurse("RN1", on=[EARLY])
    plan = only_plan(ward.build())
    assert coach_of(plan, "S0") == "RN1"
    assert coach_of(plan, "S1") == "RN1"


def test_assessor_never_coaches_own_student():
    ward = WardBuilder(days=1)
    students_on(ward, 2)
    ward.nurse("RN1", on=[EARLY])
    ward.nurse("RN2", on=[EARLY])
    plan = only_plan(ward.build(), assessors={"S0": "RN1"})
    assert coach_of(plan, "S0") == "RN2"


def test_roster_assessor_never_coaches_own_student():
    ward = WardBuilder(days=1)
    students_on(ward, 1)
    ward.nurse("RN1", on=[EARLY])
    ward.assignment(RoleAssignment(Role.PRACTICE_ASSESSOR, "RN1", day(0), day(13), student="S0"))
    plan = only_plan(ward.build())
    assert plan.groups == ()
    assert plan.gaps[0].reason == (
        "the only registered nurse on this shift is your practice assessor, who cannot also coach you"
    )


def test_plans_in_start_order_within_dates():
    ward = WardBuilder(days=4)
    keys = [shift(3, "Night"), shift(1, "Late"), shift(1, "Early"), shift(0, "Day"), shift(2, "Day")]
    ward.student("S0", on=keys)
    ward.nurse("RN1", on=keys)
    roster = ward.build()
    every = [plan.shift.key for plan in plan_coach_groups(roster)]
    assert every == [shift(0, "Day"), shift(1, "Early"), shift(1, "Late"), shift(2, "Day"), shift(3, "Night")]
    window = [plan.shift.key for plan in plan_coach_groups(roster, start=day(1), end=day(2))]
    assert window == [shift(1, "Early"), shift(1, "Late"), shift(2, "Day")]


def test_shifts_without_students_skipped():
    ward = WardBuilder(days=2)
    ward.student("S0", on=[shift(0), shift(1)])
    ward.leave("S0", 1, 1)
    ward.nurse("RN1", on=[shift(0), shift(1), shift(0, "Late")])
    assert [plan.shift.key for plan in plan_coach_groups(ward.build())] == [shift(0)]


def build_busy_shift_roster(seed: int, *, shuffle: bool) -> Roster:
    rng = random.Random(seed)
    ward = WardBuilder(days=7)
    keys = [shift(number, name) for number in range(7) for name in ("Early", "Late")]
    for number in range(8):
        ward.student(f"S{number}", on=rng.sample(keys, 6))
    for number in range(6):
        ward.nurse(f"RN{number}", on=rng.sample(keys, 6), in_charge_on=[keys[number]])
    roster = ward.build()
    if shuffle:
        shuffler = random.Random(seed + 1)
        shuffler.shuffle(roster.duties)
        people = list(roster.people.items())
        shuffler.shuffle(people)
        roster.people = dict(people)
    return roster


def test_coach_groups_deterministic():
    named = {"S0": "RN3", "S4": "RN1"}
    first = plan_coach_groups(build_busy_shift_roster(3, shuffle=False), named_supervisors=named)
    again = plan_coach_groups(build_busy_shift_roster(3, shuffle=False), named_supervisors=named)
    shuffled = plan_coach_groups(build_busy_shift_roster(3, shuffle=True), named_supervisors=named)
    assert first == again
    assert first == shuffled


@st.composite
def random_shift_rosters(draw: st.DrawFn) -> Roster:
    limit = draw(st.integers(1, 4))
    ward = WardBuilder(days=2, policy=WardPolicy(max_students_per_coach=limit))
    keys = [shift(0), shift(0, "Late"), shift(1)]
    shift_sets = st.lists(st.sampled_from(keys), unique=True, min_size=1)
    for number in range(draw(st.integers(1, 10))):
        ward.student(f"S{number}", on=draw(shift_sets))
    for number in range(draw(st.integers(0, 6))):
        registration = draw(st.sampled_from(list(Registration)))
        on = draw(shift_sets)
        in_charge = draw(st.lists(st.sampled_from(on))) if registration is Registration.REGISTERED_NURSE else []
        ward.add(f"P{number}", registration, on=on, in_charge_on=in_charge)
        if draw(st.booleans()):
            ward.leave(f"P{number}", draw(st.integers(0, 1)), 1)
    return ward.build()


@settings(max_examples=300, deadline=None)
@given(random_shift_rosters())
def test_random_coverage_and_limits(roster: Roster):
    limit = roster.ward.policy.max_students_per_coach
    for plan in plan_coach_groups(roster):
        on_duty = [
            duty for duty in roster.duties
            if duty.shift_key == plan.shift.key
            and not any(leave.person == duty.person and leave.covers(plan.shift.day) for leave in roster.leave)
        ]
        students = {duty.person for duty in on_duty if roster.people[duty.person].is_student}
        nurses = {duty.person for duty in on_duty if roster.people[duty.person].is_registered_nurse}
        in_charge = {duty.person for duty in on_duty if duty.in_charge and duty.person in nurses}
        coached = [student for group in plan.groups for student in group.students]
        gapped = [gap.student for gap in plan.gaps]

        assert sorted(coached + gapped) == sorted(students)
        for group in plan.groups:
            assert group.coach in nurses
            assert 1 <= len(group.students) <= limit
        loads = {group.coach: len(group.students) for group in plan.groups}
        if gapped:
            assert all(loads.get(nurse, 0) == limit for nurse in nurses)
        if any(nurse in in_charge for nurse in loads):
            assert all(loads.get(nurse, 0) == limit for nurse in nurses - in_charge)
        else:
            assert len(plan.groups) == math.ceil(len(coached) / limit)
