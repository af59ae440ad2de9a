from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from clipbot.domain.people import Person
from clipbot.domain.roles import Placement, RoleAssignment
from clipbot.domain.shifts import Duty, Leave, Shift
from clipbot.domain.ward import LearningEnvironment


@dataclass(slots=True)
class Roster:
    """One ward's people and shifts as read from a roster file, before anything is stored.

    Importers build it, storage writes it in one transaction, and matching and coach grouping read
    it. `assignments` are the roles the file itself names (for example a student's practice assessor
    chosen by the university); they are checked against the rules like any other assignment.
    """

    ward: LearningEnvironment
    people: dict[str, Person] = field(default_factory=dict)
    shifts: dict[str, Shift] = field(default_factory=dict)
    duties: list[Duty] = field(default_factory=list)
    leave: list[Leave] = field(default_factory=list)
    placements: list[Placement] = field(default_factory=list)
    assignments: list[RoleAssignment] = field(default_factory=list)

    def duties_by_shift(self) -> dict[str, list[Duty]]:
        grouped: dict[str, list[Duty]] = defaultdict(list)
        for duty in self.duties:
            grouped[duty.shift_key].append(duty)
        return grouped

    def shifts_in_order(self) -> list[Shift]:
        return sorted(self.shifts.values(), key=lambda shift: (shift.starts_at, shift.type))

    def students(self) -> list[Person]:
        return sorted((person for person in self.people.values() if person.is_student), key=lambda p: p.key)
