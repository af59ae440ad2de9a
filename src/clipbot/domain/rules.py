"""The NMC rules for student supervision and assessment, and the ward policy limits.

Regulatory rules come from the NMC "Standards for student supervision and assessment" (2018) and
are checked on every assignment, whoever makes it. Ward policy limits are local settings
(`WardPolicy`): capacity limits are enforced on assignment, ward-wide limits are reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from clipbot.domain.people import Person, Registration
from clipbot.domain.roles import SUPERVISING_ROLES, Role, RoleAssignment
from clipbot.domain.roster import Roster
from clipbot.domain.ward import WardPolicy

ASSESSOR_REGISTERED_NURSE = "assessor-registered-nurse"
SUPERVISOR_REGISTERED = "supervisor-registered"
STUDENT_IS_STUDENT = "student-is-student"
ASSESSOR_NOT_SUPERVISOR = "assessor-not-supervisor"
ACADEMIC_ASSESSOR_SEPARATE = "academic-assessor-separate"
ACADEMIC_ASSESSOR_FROM_UNIVERSITY = "academic-assessor-from-university"
ONE_PRACTICE_ASSESSOR = "one-practice-assessor"
ACADEMIC_ASSESSOR_ROTATES = "academic-assessor-rotates"
COACH_ON_SHIFT = "coach-on-shift"

POLICY_ASSESSOR_CAPACITY = "policy-assessor-capacity"
POLICY_SUPERVISOR_CAPACITY = "policy-supervisor-capacity"
POLICY_COACH_CAPACITY = "policy-coach-capacity"
POLICY_EDUCATOR_WARDS = "policy-educator-wards"
POLICY_WARD_STUDENTS = "policy-ward-students"


@dataclass(frozen=True, slots=True)
class RuleViolation:
    """A broken rule: `rule` is a stable code, `message` states it in plain words for ward staff."""

    rule: str
    message: str


class AssignmentRejected(ValueError):
    """An assignment broke one or more rules; nothing was assigned."""

    def __init__(self, assignment: RoleAssignment, violations: Sequence[RuleViolation]) -> None:
        self.assignment = assignment
        self.violations = tuple(violations)
        super().__init__(" ".join(violation.message for violation in violations))


@dataclass(slots=True)
class RuleContext:
    """The facts the rules are checked against: the people and the assignments already made.

    `on_shift` maps a shift key to the people rostered on it; coach assignments are checked
    against it when it is given.
    """

    people: Mapping[str, Person]
    assignments: Sequence[RoleAssignment] = ()
    on_shift: Mapping[str, frozenset[str]] | None = None
    policy: WardPolicy = field(default_factory=WardPolicy)


def _name(people: Mapping[str, Person], key: str | None) -> str:
    person = people.get(key) if key else None
    return f"{person.name} ({person.key})" if person and person.name != person.key else str(key)


def check_regulatory(new: RoleAssignment, context: RuleContext) -> list[RuleViolation]:
    """Return every NMC rule that `new` would break, given the assignments already made."""
    people = context.people
    person = people.get(new.person)
    violations: list[RuleViolation] = []
    who = _name(people, new.person)
    student_name = _name(people, new.student)

    if person is None:
        return [RuleViolation(SUPERVISOR_REGISTERED, f"{who} is not on the roster, so cannot be given a role.")]

    if new.role is not Role.CLINICAL_EDUCATOR:
        student = people.get(new.student) if new.student else None
        if student is None or not student.is_student:
            violations.append(RuleViolation(
                STUDENT_IS_STUDENT,
                f"A {new.role} is assigned to a student, and {student_name} is not a student on the roster.",
            ))

    if not person.is_registered:
        kind = "a student" if person.is_student else "not a registered professional"
        if new.role is Role.CLINICAL_EDUCATOR:
            rule = "A clinical educator must be a registered nurse: choose one of the ward's registered nurses."
        else:
            rule = "Practice supervisors, coaches and assessors must be registered health or social care professionals."
        violations.append(RuleViolation(SUPERVISOR_REGISTERED, f"{who} is {kind}. {rule}"))
    elif new.role is Role.PRACTICE_ASSESSOR and person.registration is not Registration.REGISTERED_NURSE:
        violations.append(RuleViolation(
            ASSESSOR_REGISTERED_NURSE,
            f"{who} is not a registered nurse. A nursing student's practice assessor must be a registered nurse.",
        ))

    if new.role is Role.ACADEMIC_ASSESSOR and not person.academic:
        violations.append(RuleViolation(
            ACADEMIC_ASSESSOR_FROM_UNIVERSITY,
            f"{who} is not university staff. An academic assessor is nominated by the student's university.",
        ))

    if new.student is not None:
        violations.extend(_check_separation(new, context, who, student_name))
    if new.role is Role.COACH and context.on_shift is not None:
        on_duty = context.on_shift.get(new.shift or "", frozenset())
        if new.person not in on_duty:
            violations.append(RuleViolation(
                COACH_ON_SHIFT, f"{who} is not on the {new.shift} shift, so cannot coach on it."
            ))
    return violations


def _check_separation(
    new: RoleAssignment, context: RuleContext, who: str, student_name: str
) -> Iterable[RuleViolation]:
    same_student = [a for a in context.assignments if a.student == new.student and a != new]

    for existing in same_student:
        if existing.person != new.person:
            continue
        roles = {new.role, existing.role}
        if Role.ACADEMIC_ASSESSOR in roles and len(roles) == 2:
            yield RuleViolation(
                ACADEMIC_ASSESSOR_SEPARATE,
                f"{who} is {student_name}'s {existing.role}. An academic assessor cannot also be the "
                f"same student's practice supervisor or practice assessor.",
            )
        elif (
            Role.PRACTICE_ASSESSOR in roles
            and roles & SUPERVISING_ROLES
            and existing.overlaps(new)
        ):
            yield RuleViolation(
                ASSESSOR_NOT_SUPERVISOR,
                f"{who} is already {student_name}'s {existing.role} from {existing.start:%d %b %Y}. "
                f"The same person cannot be a student's practice assessor and practice supervisor at once.",
            )

    if new.role is Role.PRACTICE_ASSESSOR:
        current = [a for a in same_student if a.role is Role.PRACTICE_ASSESSOR and a.overlaps(new)]
        if any(a.person == new.person for a in current):
            yield RuleViolation(
                ONE_PRACTICE_ASSESSOR, f"{who} is already {student_name}'s practice assessor for these dates."
            )
        elif current and not (new.change_reason or "").strip():
            yield RuleViolation(
                ONE_PRACTICE_ASSESSOR,
                f"{student_name} already has a practice assessor, {_name(context.people, current[0].person)}. "
                f"A student has one practice assessor per placement; record a reason for the change "
                f"(for example long-term sickness) to replace them.",
            )

    if new.role is Role.ACADEMIC_ASSESSOR and new.programme_part is not None:
        for existing in same_student:
            if (
                existing.role is Role.ACADEMIC_ASSESSOR
                and existing.person == new.person
                and existing.programme_part is not None
                and abs(existing.programme_part - new.programme_part) == 1
            ):
                yield RuleViolation(
                    ACADEMIC_ASSESSOR_ROTATES,
                    f"{who} was {student_name}'s academic assessor for part {existing.programme_part}. "
                    f"A student needs a different academic assessor for each consecutive part of the programme.",
                )


def check_policy(new: RoleAssignment, context: RuleContext) -> list[RuleViolation]:
    """Return the ward policy capacity limits that `new` would exceed."""
    policy = context.policy
    who = _name(context.people, new.person)
    others = [a for a in context.assignments if a.person == new.person and a.role is new.role and a != new]

    if new.role is Role.PRACTICE_ASSESSOR:
        students = {a.student for a in others if a.overlaps(new)} - {new.student}
        if len(students) >= policy.max_students_per_assessor:
            return [RuleViolation(
                POLICY_ASSESSOR_CAPACITY,
                f"{who} is already practice assessor for {len(students)} students, the ward's limit "
                f"of {policy.max_students_per_assessor}.",
            )]
    if new.role is Role.NAMED_PRACTICE_SUPERVISOR:
        students = {a.student for a in others if a.overlaps(new)} - {new.student}
        if len(students) >= policy.max_students_per_named_supervisor:
            return [RuleViolation(
                POLICY_SUPERVISOR_CAPACITY,
                f"{who} is already named practice supervisor for {len(students)} students, the ward's "
                f"limit of {policy.max_students_per_named_supervisor}.",
            )]
    if new.role is Role.COACH:
        students = {a.student for a in others if a.shift == new.shift} - {new.student}
        if len(students) >= policy.max_students_per_coach:
            return [RuleViolation(
                POLICY_COACH_CAPACITY,
                f"{who} already coaches {len(students)} students on the {new.shift} shift, the ward's "
                f"limit of {policy.max_students_per_coach}.",
            )]
    if new.role is Role.CLINICAL_EDUCATOR:
        wards = {a.ward for a in others if a.overlaps(new)} - {new.ward}
        if len(wards) >= policy.max_wards_per_educator:
            return [RuleViolation(
                POLICY_EDUCATOR_WARDS,
                f"{who} is already clinical educator for {len(wards)} wards, the limit of "
                f"{policy.max_wards_per_educator}.",
            )]
    return []


def enforce(new: RoleAssignment, context: RuleContext) -> None:
    """Raise AssignmentRejected, naming every broken rule, unless `new` may be made."""
    violations = check_regulatory(new, context) + check_policy(new, context)
    if violations:
        raise AssignmentRejected(new, violations)


def ward_breaches(roster: Roster) -> list[RuleViolation]:
    """Report the ward-wide policy limits a roster exceeds; they are shown, not enforced."""
    policy = roster.ward.policy
    breaches: list[RuleViolation] = []
    students = roster.students()
    if len(students) > policy.max_students:
        breaches.append(RuleViolation(
            POLICY_WARD_STUDENTS,
            f"{roster.ward.name} has {len(students)} students, more than its limit of {policy.max_students}.",
        ))
    return breaches
