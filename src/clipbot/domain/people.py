from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FieldOfPractice(StrEnum):
    """The four fields of nursing practice in the NMC pre-registration standards."""

    ADULT = "adult"
    CHILDREN = "children"
    MENTAL_HEALTH = "mental health"
    LEARNING_DISABILITIES = "learning disabilities"


class Registration(StrEnum):
    """What a person's professional registration allows them to do for a student."""

    REGISTERED_NURSE = "registered nurse"
    # Any other registered health or social care professional: midwife, paramedic,
    # allied health professional, social worker. Can supervise, cannot assess a nursing student.
    REGISTERED_PROFESSIONAL = "registered professional"
    # Healthcare assistants and other unregistered staff: never a supervisor, coach or assessor.
    UNREGISTERED = "unregistered"
    STUDENT = "student"


@dataclass(frozen=True, slots=True)
class Person:
    """Anyone on a ward's roster, or a university's academic assessor.

    `key` is the roster's own id for the person (for example `TR_16`) and is unique within an
    organisation. `field` is the field of practice of a registered nurse or a nursing student.
    """

    key: str
    name: str
    registration: Registration
    field: FieldOfPractice | None = None
    email: str | None = None
    programme_part: int | None = None
    university: str | None = None
    academic: bool = False

    @property
    def is_student(self) -> bool:
        return self.registration is Registration.STUDENT

    @property
    def is_registered(self) -> bool:
        return self.registration in (Registration.REGISTERED_NURSE, Registration.REGISTERED_PROFESSIONAL)

    @property
    def is_registered_nurse(self) -> bool:
        return self.registration is Registration.REGISTERED_NURSE
