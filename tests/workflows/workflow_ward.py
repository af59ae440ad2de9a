"""Ward 4 North, built in code for the workflow tests, around the two clock changes of 2026.

Week 13 runs from Monday 23 March; the clocks go forward at 01:00 on Sunday 29 March. Week 43 runs
from Monday 19 October; the clocks go back at 02:00 on Sunday 25 October. Each roster covers eight
days, Monday to the next Monday, so that it crosses the change.

Amira (S1) has Grace (PA1) as practice assessor and Hugh (NS1) as named supervisor; Ben (S2) has
Ivy (PA2) as practice assessor. Sam (CE1) is the clinical educator. On every weekday Early shift
S1, S2, PA1, PA2 and the nurse in charge (RN4) work together; NS1 works the Night shifts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clipbot.domain.people import FieldOfPractice, Person, Registration
from clipbot.domain.roles import Placement, Role, RoleAssignment
from clipbot.domain.roster import Roster
from clipbot.domain.shifts import DEFAULT_SHIFT_TYPES, Duty, Leave, make_shift
from clipbot.domain.ward import LearningEnvironment

LONDON = ZoneInfo("Europe/London")
ORGANISATION = "north-trust"
WARD = "4-north"
MARCH_MONDAY = date(2026, 3, 23)
OCTOBER_MONDAY = date(2026, 10, 19)
TYPES = {shift_type.name: shift_type for shift_type in DEFAULT_SHIFT_TYPES}


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def people(suffix: str = "") -> list[Person]:
    """The ward's people; a `suffix` is added to every key and name but the educator's, for a second ward."""
    found = [
        Person("S1", "Amira Khan", Registration.STUDENT, FieldOfPractice.ADULT, programme_part=2,
               email="amira.khan@example.ac.uk"),
        Person("S2", "Ben Price", Registration.STUDENT, FieldOfPractice.ADULT, programme_part=1),
        Person("PA1", "Grace Obi", Registration.REGISTERED_NURSE, FieldOfPractice.ADULT,
               email="grace.obi@example.nhs.uk"),
        Person("NS1", "Hugh Bell", Registration.REGISTERED_NURSE, FieldOfPractice.ADULT),
        Person("PA2", "Ivy Ross", Registration.REGISTERED_NURSE, FieldOfPractice.ADULT),
        Person("RN4", "Jane Fox", Registration.REGISTERED_NURSE, FieldOfPractice.ADULT),
        Person("CE1", "Sam Carter", Registration.REGISTERED_NURSE, FieldOfPractice.ADULT),
    ]
    if not suffix:
        return found
    return [
        person if person.key == "CE1" else replace(person, key=person.key + suffix, name=f"{person.name} {suffix}")
        for person in found
    ]


def ward_roster(
    monday: date, *, ward: str = WARD, name: str = "4 North", leave: Sequence[Leave] = (),
    student_nights: Sequence[date] = (), suffix: str = "",
) -> Roster:
    """Eight days of shifts from `monday`: weekday Earlies with both students, and nightly Nights.

    With a `suffix`, every person key except the educator's ends with it, for a second ward.
    """
    staff = {person.key: person for person in people(suffix)}
    key = {base: base + suffix for base in ("S1", "S2", "PA1", "NS1", "PA2", "RN4")}
    roster = Roster(ward=LearningEnvironment(ward, name), people=staff)
    for offset in range(8):
        day = monday + timedelta(days=offset)
        night = make_shift(ward, day, TYPES["Night"])
        roster.shifts[night.key] = night
        roster.duties.append(Duty(night.key, key["NS1"], in_charge=True))
        if day in student_nights:
            roster.duties.append(Duty(night.key, key["S1"]))
        if day.weekday() >= 5:
            continue
        early = make_shift(ward, day, TYPES["Early"])
        roster.shifts[early.key] = early
        roster.duties += [Duty(early.key, key[base]) for base in ("S1", "S2", "PA1", "PA2")]
        roster.duties.append(Duty(early.key, key["RN4"], in_charge=True))
    end = monday + timedelta(days=27)
    roster.placements = [Placement(key[base], ward, monday, end) for base in ("S1", "S2")]
    roster.leave = list(leave)
    roster.assignments = assignments(monday, ward=ward, suffix=suffix)
    return roster


def assignments(monday: date, *, ward: str = WARD, suffix: str = "") -> list[RoleAssignment]:
    end = monday + timedelta(days=27)
    return [
        RoleAssignment(Role.PRACTICE_ASSESSOR, "PA1" + suffix, monday, end, student="S1" + suffix),
        RoleAssignment(Role.NAMED_PRACTICE_SUPERVISOR, "NS1" + suffix, monday, end, student="S1" + suffix),
        RoleAssignment(Role.PRACTICE_ASSESSOR, "PA2" + suffix, monday, end, student="S2" + suffix),
        RoleAssignment(Role.CLINICAL_EDUCATOR, "CE1", monday - timedelta(days=60), date.max, ward=ward),
    ]
