from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time


@dataclass(frozen=True, slots=True)
class WardPolicy:
    """Limits a learning environment sets for itself; the defaults are those of the CLiP pilots.

    Unlike the NMC rules, these are local choices: each ward can change them.
    """

    max_students: int = 20
    max_students_per_coach: int = 3
    max_wards_per_educator: int = 2
    max_patients_per_student: int = 3
    protected_minutes_per_week: int = 60
    # The NMC sets no number of students per practice assessor; three is clipbot's default.
    max_students_per_assessor: int = 3
    max_students_per_named_supervisor: int = 3
    quiet_hours_start: time = time(21, 0)
    quiet_hours_end: time = time(8, 0)
    timezone: str = "Europe/London"


@dataclass(frozen=True, slots=True)
class LearningEnvironment:
    """A ward (or other clinical area) hosting a cohort of students, with its own policy."""

    key: str
    name: str
    policy: WardPolicy = field(default_factory=WardPolicy)
