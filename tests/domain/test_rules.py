"""Each NMC rule and each enforced ward limit, with a case that passes and one that is rejected."""

from datetime import date

import pytest

from clipbot.domain import rules
from clipbot.domain.people import FieldOfPractice, Person, Registration
from clipbot.domain.roles import Role, RoleAssignment
from clipbot.domain.roster import Roster
from clipbot.domain.ward import LearningEnvironment, WardPolicy

START = date(2026, 3, 2)
END = date(2026, 3, 29)

PEOPLE = {
    person.key: person
    for person in [
        Person("S1", "Amira Khan", Registration.STUDENT, FieldOfPractice.ADULT, programme_part=2),
        Person("S2", "Ben Price", Registration.STUDENT, FieldOfPractice.ADULT, programme_part=2),
        Person("S3", "Cara Jones", Registration.STUDENT, FieldOfPractice.ADULT),
        Person("S4", "Dan Hill", Registration.STUDENT, FieldOfPractice.ADULT),
        Person("RN1", "Grace Obi", Registration.REGISTERED_NURSE, FieldOfPractice.ADULT),
        Person("RN2", "Hugh Bell", Registration.REGISTERED_NURSE, FieldOfPractice.CHILDREN),
        Person("PT1", "Iris Lee", Registration.REGISTERED_PROFESSIONAL),
        Person("HCA1", "Jo Wood", Registration.UNREGISTERED),
        Person("AA1", "Dr Kay Moss", Registration.REGISTERED_NURSE, academic=True),
        Person("AA2", "Dr Lee Ward", Registration.REGISTERED_NURSE, academic=True),
    ]
}


def assign(role: Role, person: str, student: str | None = "S1", **extra) -> RoleAssignment:
    return RoleAssignment(role=role, person=person, student=student, start=START, end=END, **extra)


def violated(new: RoleAssignment, existing=(), **context) -> set[str]:
    found = rules.check_regulatory(new, rules.RuleContext(PEOPLE, existing, **context))
    found += rules.check_policy(new, rules.RuleContext(PEOPLE, existing, **context))
    return {violation.rule for violation in found}


def test_valid_assessor_and_supervisor_accepted():
    assessor = assign(Role.PRACTICE_ASSESSOR, "RN1")
    assert violated(assessor) == set()
    assert violated(assign(Role.NAMED_PRACTICE_SUPERVISOR, "PT1"), [assessor]) == set()


def test_assessor_must_be_registered_nurse():
    assert rules.ASSESSOR_REGISTERED_NURSE in violated(assign(Role.PRACTICE_ASSESSOR, "PT1"))


def test_healthcare_assistant_never_supervises():
    for role in (Role.NAMED_PRACTICE_SUPERVISOR, Role.COACH, Role.PRACTICE_ASSESSOR):
        assert rules.SUPERVISOR_REGISTERED in violated(assign(role, "HCA1", shift="2026-03-02 Early"))


def test_student_never_supervises_or_coaches():
    for role in (Role.NAMED_PRACTICE_SUPERVISOR, Role.COACH, Role.PRACTICE_ASSESSOR):
        assert rules.SUPERVISOR_REGISTERED in violated(assign(role, "S2", shift="2026-03-02 Early"))


def test_student_rejection_names_rule_in_words():
    found = rules.check_regulatory(assign(Role.COACH, "S2"), rules.RuleContext(PEOPLE))
    assert "Ben Price (S2) is a student" in found[0].message
    assert "registered health or social care professionals" in found[0].message


def test_role_must_be_for_a_student():
    assert rules.STUDENT_IS_STUDENT in violated(assign(Role.PRACTICE_ASSESSOR, "RN1", student="RN2"))


def test_assessor_cannot_be_supervisor_over_same_dates():
    assessor = assign(Role.PRACTICE_ASSESSOR, "RN1")
    supervisor = assign(Role.NAMED_PRACTICE_SUPERVISOR, "RN1")
    coach = assign(Role.COACH, "RN1", shift="2026-03-03 Late")
    assert rules.ASSESSOR_NOT_SUPERVISOR in violated(supervisor, [assessor])
    assert rules.ASSESSOR_NOT_SUPERVISOR in violated(coach, [assessor])
    assert rules.ASSESSOR_NOT_SUPERVISOR in violated(assessor, [supervisor])


def test_assessor_may_supervise_after_dates_end():
    assessor = assign(Role.PRACTICE_ASSESSOR, "RN1")
    later = RoleAssignment(Role.NAMED_PRACTICE_SUPERVISOR, "RN1", date(2026, 4, 1), date(2026, 4, 30), student="S1")
    assert violated(later, [assessor]) == set()


def test_assessor_may_supervise_other_student():
    assessor = assign(Role.PRACTICE_ASSESSOR, "RN1")
    assert violated(assign(Role.NAMED_PRACTICE_SUPERVISOR, "RN1", student="S2"), [assessor]) == set()


def test_academic_assessor_cannot_assess_or_supervise():
    academic = assign(Role.ACADEMIC_ASSESSOR, "AA1", programme_part=2)
    # An academic is a registered nurse, so only the separation rule stops them.
    assert rules.ACADEMIC_ASSESSOR_SEPARATE in violated(assign(Role.PRACTICE_ASSESSOR, "AA1"), [academic])
    assert rules.ACADEMIC_ASSESSOR_SEPARATE in violated(assign(Role.NAMED_PRACTICE_SUPERVISOR, "AA1"), [academic])
    supervisor = assign(Role.NAMED_PRACTICE_SUPERVISOR, "AA1")
    assert rules.ACADEMIC_ASSESSOR_SEPARATE in violated(academic, [supervisor])


def test_academic_assessor_must_be_university_staff():
    assert rules.ACADEMIC_ASSESSOR_FROM_UNIVERSITY in violated(assign(Role.ACADEMIC_ASSESSOR, "RN1"))


def test_one_practice_assessor_per_placement():
    first = assign(Role.PRACTICE_ASSESSOR, "RN1")
    second = assign(Role.PRACTICE_ASSESSOR, "RN2")
    assert rules.ONE_PRACTICE_ASSESSOR in violated(second, [first])
    duplicate = assign(Role.PRACTICE_ASSESSOR, "RN1", change_reason="entered twice")
    assert rules.ONE_PRACTICE_ASSESSOR in violated(duplicate, [first])


def test_assessor_change_needs_recorded_reason():
    first = assign(Role.PRACTICE_ASSESSOR, "RN1")
    with_reason = assign(Role.PRACTICE_ASSESSOR, "RN2", change_reason="long-term sickness")
    blank_reason = assign(Role.PRACTICE_ASSESSOR, "RN2", change_reason="   ")
    assert violated(with_reason, [first]) == set()
    assert rules.ONE_PRACTICE_ASSESSOR in violated(blank_reason, [first])


def test_academic_assessor_changes_between_parts():
    part_one = assign(Role.ACADEMIC_ASSESSOR, "AA1", programme_part=1)
    same_again = RoleAssignment(Role.ACADEMIC_ASSESSOR, "AA1", date(2027, 3, 1), date(2027, 3, 28), student="S1", programme_part=2)
    different = RoleAssignment(Role.ACADEMIC_ASSESSOR, "AA2", date(2027, 3, 1), date(2027, 3, 28), student="S1", programme_part=2)
    part_three = RoleAssignment(Role.ACADEMIC_ASSESSOR, "AA1", date(2028, 3, 1), date(2028, 3, 28), student="S1", programme_part=3)
    assert rules.ACADEMIC_ASSESSOR_ROTATES in violated(same_again, [part_one])
    assert violated(different, [part_one]) == set()
    assert violated(part_three, [part_one]) == set()


def test_coach_must_be_on_shift():
    on_shift = {"2026-03-02 Early": frozenset({"RN1", "S1"})}
    assert violated(assign(Role.COACH, "RN1", shift="2026-03-02 Early"), on_shift=on_shift) == set()
    assert rules.COACH_ON_SHIFT in violated(assign(Role.COACH, "RN2", shift="2026-03-02 Early"), on_shift=on_shift)


def test_assessor_capacity_from_policy():
    existing = [assign(Role.PRACTICE_ASSESSOR, "RN1", student=key) for key in ("S1", "S2", "S3")]
    assert rules.POLICY_ASSESSOR_CAPACITY in violated(assign(Role.PRACTICE_ASSESSOR, "RN1", student="S4"), existing)
    roomy = WardPolicy(max_students_per_assessor=4)
    assert violated(assign(Role.PRACTICE_ASSESSOR, "RN1", student="S4"), existing, policy=roomy) == set()


def test_coach_capacity_per_shift():
    shift = "2026-03-02 Early"
    existing = [assign(Role.COACH, "RN1", student=key, shift=shift) for key in ("S1", "S2", "S3")]
    assert rules.POLICY_COACH_CAPACITY in violated(assign(Role.COACH, "RN1", student="S4", shift=shift), existing)
    assert violated(assign(Role.COACH, "RN1", student="S4", shift="2026-03-03 Early"), existing) == set()


def test_educator_ward_limit():
    existing = [assign(Role.CLINICAL_EDUCATOR, "RN1", student=None, ward=ward) for ward in ("W1", "W2")]
    third = assign(Role.CLINICAL_EDUCATOR, "RN1", student=None, ward="W3")
    assert rules.POLICY_EDUCATOR_WARDS in violated(third, existing)


def test_enforce_raises_with_every_violation():
    with pytest.raises(rules.AssignmentRejected) as raised:
        rules.enforce(assign(Role.PRACTICE_ASSESSOR, "HCA1", student="RN1"), rules.RuleContext(PEOPLE))
    codes = {violation.rule for violation in raised.value.violations}
    assert codes == {rules.STUDENT_IS_STUDENT, rules.SUPERVISOR_REGISTERED}


def test_ward_student_limit_reported():
    students = {f"S{i}": Person(f"S{i}", f"Student {i}", Registration.STUDENT) for i in range(3)}
    roster = Roster(ward=LearningEnvironment("W1", "Ward 1", WardPolicy(max_students=2)), people=students)
    assert [breach.rule for breach in rules.ward_breaches(roster)] == [rules.POLICY_WARD_STUDENTS]
