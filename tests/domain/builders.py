"""Small builders for ward rosters in tests, so that each test states only the facts it needs.

Shifts are named by day number and type: `shift(0, "Early")` is the Early shift on the first day
of the roster, which starts on Monday 2 March 2026.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from clipbot.domain.people import FieldOfPractice, Person, Registration
from clipbot.domain.roles import Placement, RoleAssignment
from clipbot.domain.roster import Roster
from clipbot.domain.shifts import DEFAULT_SHIFT_TYPES, Duty, Leave, make_shift, shift_key
from clipbot.domain.ward import LearningEnvironment, WardPolicy

FIRST_DAY = date(2026, 3, 2)
ADULT = FieldOfPractice.ADULT
CHILDREN = FieldOfPractice.CHILDREN


def day(number: int) -> date:
    return FIRST_DAY + timedelta(days=number)


def shift(number: int, type_name: str = "Early") -> str:
    """Return the key of the `type_name` shift on day `number` of the roster."""
    return shift_key(day(number), type_name)


@dataclass
class WardBuilder:
    """A roster under construction: every shift type on each of `days` days, then people added."""

    days: int = 14
    policy: WardPolicy = field(default_factory=WardPolicy)
    key: str = "W1"
    name: str = "Ward 1"
    roster: Roster = field(init=False)

    def __post_init__(self) -> None:
        ward = LearningEnvironment(self.key, self.name, self.policy)
        self.roster = Roster(ward=ward)
        for number in range(self.days):
            for shift_type in DEFAULT_SHIFT_TYPES:
                new_shift = make_shift(ward.key, day(number), shift_type, self.policy.timezone)
                self.roster.shifts[new_shift.key] = new_shift

    def add(
        self,
        key: str,
        registration: Registration,
        *,
        on: Iterable[str] = (),
        field_of_practice: FieldOfPractice | None = ADULT,
        in_charge_on: Iterable[str] = (),
        coaches: Mapping[str, str] | None = None,
    ) -> Person:
        """Add a person rostered on the shifts `on`; `coaches` maps a shift key to a planned coach."""
        person = Person(key, f"Person {key}", registration, field_of_practice)
        self.roster.people[key] = person
        in_charge = set(in_charge_on)
        planned = dict(coaches or {})
        for shift_key_ in dict.fromkeys([*on, *in_charge]):
            self.roster.duties.append(Duty(
                shift_key_, key, in_charge=shift_key_ in in_charge, coach=planned.get(shift_key_),
            ))
        return person

    def student(
        self,
        key: str,
        *,
        on: Iterable[str] = (),
        field_of_practice: FieldOfPractice | None = ADULT,
        placement: tuple[int, int] | None = None,
        coaches: Mapping[str, str] | None = None,
    ) -> Person:
        """Add a student with a placement from day `placement[0]` to `placement[1]` (default: all days)."""
        person = self.add(key, Registration.STUDENT, on=on, field_of_practice=field_of_practice, coaches=coaches)
        first, last = placement if placement is not None else (0, self.days - 1)
        self.roster.placements.append(Placement(key, self.key, day(first), day(last)))
        return person

    def nurse(
        self,
        key: str,
        *,
        on: Iterable[str] = (),
        field_of_practice: FieldOfPractice | None = ADULT,
        in_charge_on: Iterable[str] = (),
    ) -> Person:
        return self.add(
            key, Registration.REGISTERED_NURSE, on=on, field_of_practice=field_of_practice, in_charge_on=in_charge_on
        )

    def professional(self, key: str, *, on: Iterable[str] = ()) -> Person:
        return self.add(key, Registration.REGISTERED_PROFESSIONAL, on=on, field_of_practice=None)

    def assistant(self, key: str, *, on: Iterable[str] = ()) -> Person:
        return self.add(key, Registration.UNREGISTERED, on=on, field_of_practice=None)

    def leave(self, person: str, first: int, last: int) -> None:
        self.roster.leave.append(Leave(person, day(first), day(last)))

    def assignment(self, assignment: RoleAssignment) -> None:
        self.roster.assignments.append(assignment)

    def build(self) -> Roster:
        return self.roster


def early_shifts(days: Iterable[int]) -> list[str]:
    return [shift(number) for number in days]
