"""Ward 6 West: one week of shifts with two students, for the handler and adapter tests."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from clipbot.domain.people import FieldOfPractice, Person, Registration
from clipbot.domain.roles import Placement
from clipbot.domain.roster import Roster
from clipbot.domain.shifts import DEFAULT_SHIFT_TYPES, Duty, make_shift
from clipbot.domain.ward import LearningEnvironment

LONDON = ZoneInfo("Europe/London")
MONDAY = date(2026, 3, 2)
SHIFT_TYPES = {shift_type.name: shift_type for shift_type in DEFAULT_SHIFT_TYPES}
ORGANISATION = "st-elsewhere"


def six_west() -> Roster:
    ward = LearningEnvironment("6-west", "6 West")
    people = [
        Person("S1", "Amira Khan", Registration.STUDENT, FieldOfPractice.ADULT, programme_part=2),
        Person("S2", "Ben Price", Registration.STUDENT, FieldOfPractice.ADULT, programme_part=1),
        Person("RN1", "Grace Obi", Registration.REGISTERED_NURSE, FieldOfPractice.ADULT),
        Person("RN2", "Hugh Bell", Registration.REGISTERED_NURSE, FieldOfPractice.ADULT),
        Person("RN3", "Ivy Ross", Registration.REGISTERED_NURSE, FieldOfPractice.CHILDREN),
        Person("HN1", "Jane Fox", Registration.REGISTERED_NURSE, FieldOfPractice.ADULT),
        Person("HCA1", "Jo Wood", Registration.UNREGISTERED),
    ]
    roster = Roster(ward=ward, people={person.key: person for person in people})
    for offset in range(5):
        day = MONDAY + timedelta(days=offset)
        early = make_shift(ward.key, day, SHIFT_TYPES["Early"])
        late = make_shift(ward.key, day, SHIFT_TYPES["Late"])
        roster.shifts[early.key] = early
        roster.shifts[late.key] = late
        roster.duties += [Duty(early.key, key) for key in ("S1", "S2", "RN1", "RN2", "HCA1")]
        roster.duties.append(Duty(early.key, "HN1", in_charge=True))
        roster.duties += [Duty(late.key, key) for key in ("RN3", "HCA1")]
    roster.placements = [Placement(key, ward.key, MONDAY, MONDAY + timedelta(days=27)) for key in ("S1", "S2")]
    return roster


