"""Small Rosters built in code for the storage tests.

The sample ward runs for two weeks from Monday 21 October 2024, so it spans the end of British
Summer Time (clocks go back at 02:00 on Sunday 27 October): the night shift of Saturday 26 October
lasts nine hours.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from clipbot.domain.people import FieldOfPractice, Person, Registration
from clipbot.domain.roles import Placement, Role, RoleAssignment
from clipbot.domain.roster import Roster
from clipbot.domain.shifts import DEFAULT_SHIFT_TYPES, Duty, Leave, make_shift, shift_key
from clipbot.domain.ward import LearningEnvironment, WardPolicy

FIRST_DAY = date(2024, 10, 21)
DAYS = 14
LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)
CLOCK_CHANGE_NIGHT = date(2024, 10, 26)
PLACEMENT_END = FIRST_DAY + timedelta(days=27)

# Capacity limits of one, so that a single existing role is enough to reach each limit.
STRICT_POLICY = WardPolicy(
    max_students_per_coach=1,
    max_wards_per_educator=1,
    max_students_per_assessor=1,
    max_students_per_named_supervisor=1,
    quiet_hours_start=WardPolicy().quiet_hours_start.replace(hour=22, minute=15),
)

SHIFT_TYPES = {shift_type.name: shift_type for shift_type in DEFAULT_SHIFT_TYPES}


def sample_people(*, suffix: str = "") -> dict[str, Person]:
    people = [
        Person("S1", f"Asha Patel{suffix}", Registration.STUDENT, FieldOfPractice.ADULT, programme_part=2,
               university="University of Leeds"),
        Person("S2", f"Ben Okafor{suffix}", Registration.STUDENT, FieldOfPractice.CHILDREN, programme_part=1),
        Person("N1", f"Carys Jones{suffix}", Registration.REGISTERED_NURSE, FieldOfPractice.ADULT,
               email="carys.jones@example.nhs.uk"),
        Person("N2", f"Dev Sharma{suffix}", Registration.REGISTERED_NURSE, FieldOfPractice.ADULT),
        Person("N3", f"Ella Brown{suffix}", Registration.REGISTERED_NURSE, FieldOfPractice.CHILDREN),
        Person("N4", f"Iris Moore{suffix}", Registration.REGISTERED_NURSE, FieldOfPractice.MENTAL_HEALTH),
        Person("N5", f"Kate Lewis{suffix}", Registration.REGISTERED_NURSE, FieldOfPractice.ADULT),
        Person("P1", f"Femi Adeyemi{suffix}", Registration.REGISTERED_PROFESSIONAL),
        Person("H1", f"Gill Hart{suffix}", Registration.UNREGISTERED),
        Person("A1", f"Harriet Cole{suffix}", Registration.REGISTERED_NURSE, FieldOfPractice.ADULT,
               university="University of Leeds", academic=True),
    ]
    return {person.key: person for person in people}


def sample_roster(ward_key: str = "W1", *, suffix: str = "", presets: bool = True) -> Roster:
    """Two weeks of Early, Late and Night shifts; N4 is on leave throughout and has no shifts."""
    ward = LearningEnvironment(ward_key, f"Ward {ward_key}{suffix}", STRICT_POLICY)
    roster = Roster(ward=ward, people=sample_people(suffix=suffix))
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        for type_name, crew in (
            ("Early", [("N1", True, None), ("N5", False, None), ("S1", False, "N5"), ("H1", False, None)]),
            ("Late", [("N2", True, None), ("S2", False, "N2"), ("P1", False, None)]),
            ("Night", [("N3", True, None)]),
        ):
            shift = make_shift(ward_key, day, SHIFT_TYPES[type_name], ward.policy.timezone)
            roster.shifts[shift.key] = shift
            roster.duties.extend(Duty(shift.key, person, in_charge, coach) for person, in_charge, coach in crew)

    roster.leave = [
        Leave("N4", FIRST_DAY, LAST_DAY),
        Leave("H1", FIRST_DAY - timedelta(days=7), FIRST_DAY - timedelta(days=1)),
    ]
    roster.placements = [
        Placement("S1", ward_key, FIRST_DAY, PLACEMENT_END),
        Placement("S2", ward_key, FIRST_DAY, PLACEMENT_END),
    ]
    if presets:
        roster.assignments = [
            RoleAssignment(Role.PRACTICE_ASSESSOR, "N1", FIRST_DAY, PLACEMENT_END, student="S1"),
            RoleAssignment(Role.NAMED_PRACTICE_SUPERVISOR, "N2", FIRST_DAY, PLACEMENT_END, student="S1"),
            RoleAssignment(Role.ACADEMIC_ASSESSOR, "A1", FIRST_DAY, PLACEMENT_END, student="S1", programme_part=2),
            RoleAssignment(Role.CLINICAL_EDUCATOR, "N3", FIRST_DAY, PLACEMENT_END, ward=ward_key),
        ]
    return roster


def copy_roster(roster: Roster) -> Roster:
    return dataclasses.replace(
        roster,
        people=dict(roster.people),
        shifts=dict(roster.shifts),
        duties=list(roster.duties),
        leave=list(roster.leave),
        placements=list(roster.placements),
        assignments=list(roster.assignments),
    )


def shift_key_on(offset: int, type_name: str) -> str:
    return shift_key(FIRST_DAY + timedelta(days=offset), type_name)
