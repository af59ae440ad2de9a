from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Role(StrEnum):
    """Roles a person can hold for a student, in the NMC SSSA terms (CLiP terms in the comments)."""

    PRACTICE_ASSESSOR = "practice assessor"  # formerly the sign-off mentor
    NAMED_PRACTICE_SUPERVISOR = "named practice supervisor"  # the named mentor
    ACADEMIC_ASSESSOR = "academic assessor"  # usually the link lecturer's role
    CLINICAL_EDUCATOR = "clinical educator"
    COACH = "coach"  # a practice supervisor for one shift


SUPERVISING_ROLES = frozenset({Role.NAMED_PRACTICE_SUPERVISOR, Role.COACH})


@dataclass(frozen=True, slots=True)
class RoleAssignment:
    """A dated role: `person` holds `role` for `student` (or, for an educator, for `ward`).

    Dates are inclusive. A coach assignment also names its shift. `change_reason` records why a
    practice assessor replaced an earlier one, which the NMC rules require.
    """

    role: Role
    person: str
    start: date
    end: date
    student: str | None = None
    ward: str | None = None
    shift: str | None = None
    programme_part: int | None = None
    change_reason: str | None = None

    def overlaps(self, other: RoleAssignment) -> bool:
        return self.start <= other.end and other.start <= self.end


@dataclass(frozen=True, slots=True)
class Placement:
    """A student's placement on one ward, with inclusive dates."""

    student: str
    ward: str
    start: date
    end: date
