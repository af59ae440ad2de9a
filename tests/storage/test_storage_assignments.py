from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from storage_builders import FIRST_DAY, PLACEMENT_END, SHIFT_TYPES, STRICT_POLICY, sample_roster, shift_key_on

from clipbot.domain import rules
from clipbot.domain.roles import Role, RoleAssignment
from clipbot.domain.roster import Roster
from clipbot.domain.rules import AssignmentRejected
from clipbot.domain.shifts import Duty, make_shift
from clipbot.domain.ward import LearningEnvironment
from clipbot.storage.models import role_assignments
from clipbot.storage.repository import (
    NotFoundError,
    add_assignment,
    confirm_proposals,
    end_assignments,
    ensure_organisation,
    list_assignments,
    replace_proposals,
    save_roster,
)

ORG = "trust"


def role(kind: Role, person: str, student: str | None = None, **extra: object) -> RoleAssignment:
    """An assignment over the sample placement unless `start` and `end` are given."""
    start = extra.pop("start", FIRST_DAY)
    end = extra.pop("end", PLACEMENT_END)
    return RoleAssignment(kind, person, start, end, student=student, **extra)  # type: ignore[arg-type]


def coach(person: str, student: str, offset: int = 0, shift_type: str = "Early") -> RoleAssignment:
    day = FIRST_DAY + timedelta(days=offset)
    return RoleAssignment(Role.COACH, person, day, day, student=student, shift=shift_key_on(offset, shift_type))


def second_ward() -> Roster:
    ward = LearningEnvironment("W2", "Ward 2", STRICT_POLICY)
    roster = Roster(ward=ward, people={key: person for key, person in sample_roster().people.items() if key == "N3"})
    shift = make_shift("W2", FIRST_DAY, SHIFT_TYPES["Early"])
    roster.shifts[shift.key] = shift
    roster.duties.append(Duty(shift.key, "N3", in_charge=True))
    return roster


@pytest.fixture
async def stored(session: AsyncSession) -> AsyncSession:
    """The sample ward W1 with its presets, and ward W2 where N3 also works."""
    await ensure_organisation(session, ORG)
    await save_roster(session, ORG, sample_roster())
    await save_roster(session, ORG, second_ward())
    await session.commit()
    return session


async def assignment_rows(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(role_assignments)) or 0


REJECTED = [
    pytest.param(
        rules.ASSESSOR_REGISTERED_NURSE, [], role(Role.PRACTICE_ASSESSOR, "P1", "S2"), id="assessor-not-nurse"
    ),
    pytest.param(rules.SUPERVISOR_REGISTERED, [], role(Role.NAMED_PRACTICE_SUPERVISOR, "H1", "S2"), id="unregistered"),
    pytest.param(rules.STUDENT_IS_STUDENT, [], role(Role.NAMED_PRACTICE_SUPERVISOR, "N3", "N4"), id="not-a-student"),
    pytest.param(
        rules.ASSESSOR_NOT_SUPERVISOR, [], role(Role.NAMED_PRACTICE_SUPERVISOR, "N1", "S1"), id="assessor-supervises"
    ),
    pytest.param(
        rules.ACADEMIC_ASSESSOR_SEPARATE, [], role(Role.NAMED_PRACTICE_SUPERVISOR, "A1", "S1"), id="academic-supervises"
    ),
    pytest.param(
        rules.ACADEMIC_ASSESSOR_FROM_UNIVERSITY, [], role(Role.ACADEMIC_ASSESSOR, "N3", "S2", programme_part=1),
        id="academic-not-university",
    ),
    pytest.param(rules.ONE_PRACTICE_ASSESSOR, [], role(Role.PRACTICE_ASSESSOR, "N3", "S1"), id="second-assessor"),
    pytest.param(
        rules.ACADEMIC_ASSESSOR_ROTATES, [],
        role(Role.ACADEMIC_ASSESSOR, "A1", "S1", start=date(2025, 9, 1), end=date(2025, 12, 19), programme_part=3),
        id="academic-twice-running",
    ),
    pytest.param(rules.COACH_ON_SHIFT, [], coach("N2", "S1"), id="coach-off-shift"),
    pytest.param(rules.POLICY_ASSESSOR_CAPACITY, [], role(Role.PRACTICE_ASSESSOR, "N1", "S2"), id="assessor-capacity"),
    pytest.param(
        rules.POLICY_SUPERVISOR_CAPACITY, [], role(Role.NAMED_PRACTICE_SUPERVISOR, "N2", "S2"), id="supervisor-capacity"
    ),
    pytest.param(rules.POLICY_COACH_CAPACITY, [coach("N5", "S1")], coach("N5", "S2"), id="coach-capacity"),
    pytest.param(
        rules.POLICY_EDUCATOR_WARDS, [], role(Role.CLINICAL_EDUCATOR, "N3", ward="W2"), id="educator-wards"
    ),
]


@pytest.mark.parametrize(("rule", "before", "rejected"), REJECTED)
async def test_add_assignment_rejects_rule(
    stored: AsyncSession, rule: str, before: list[RoleAssignment], rejected: RoleAssignment
) -> None:
    for assignment in before:
        await add_assignment(stored, ORG, assignment)
    await stored.commit()
    rows_before = await assignment_rows(stored)

    with pytest.raises(AssignmentRejected) as raised:
        await add_assignment(stored, ORG, rejected)
    await stored.commit()

    assert rule in {violation.rule for violation in raised.value.violations}
    assert await assignment_rows(stored) == rows_before


async def test_add_assignment_stores_confirmed(stored: AsyncSession) -> None:
    new = role(Role.PRACTICE_ASSESSOR, "N3", "S2")
    added = await add_assignment(stored, ORG, new, reason="Shares 12 of 14 shifts")

    [listed] = await list_assignments(stored, ORG, student="S2")

    assert listed == added
    assert added.assignment == new
    assert added.status == "confirmed"
    assert added.reason == "Shares 12 of 14 shifts"


async def test_add_equal_assignment_returns_existing(stored: AsyncSession) -> None:
    first = await add_assignment(stored, ORG, role(Role.PRACTICE_ASSESSOR, "N3", "S2"))
    rows = await assignment_rows(stored)

    again = await add_assignment(stored, ORG, role(Role.PRACTICE_ASSESSOR, "N3", "S2"))

    assert again.id == first.id
    assert await assignment_rows(stored) == rows


async def test_coach_on_shift_accepted(stored: AsyncSession) -> None:
    added = await add_assignment(stored, ORG, coach("N5", "S1"))
    assert added.assignment.shift == shift_key_on(0, "Early")


async def test_change_reason_replaces_assessor(stored: AsyncSession) -> None:
    replacement = role(Role.PRACTICE_ASSESSOR, "N3", "S1", change_reason="Carys Jones on long-term sickness")
    added = await add_assignment(stored, ORG, replacement)
    assert added.status == "confirmed"


async def test_proposal_skips_capacity(stored: AsyncSession) -> None:
    added = await add_assignment(stored, ORG, role(Role.NAMED_PRACTICE_SUPERVISOR, "N2", "S2"), status="proposed")
    assert added.status == "proposed"


async def test_proposal_checks_nmc_rules(stored: AsyncSession) -> None:
    with pytest.raises(AssignmentRejected):
        await add_assignment(stored, ORG, role(Role.PRACTICE_ASSESSOR, "H1", "S2"), status="proposed")


async def test_add_with_ended_status_rejected(stored: AsyncSession) -> None:
    with pytest.raises(ValueError, match="'ended'"):
        await add_assignment(stored, ORG, role(Role.PRACTICE_ASSESSOR, "N3", "S2"), status="ended")


async def test_unknown_ward_not_found(stored: AsyncSession) -> None:
    with pytest.raises(NotFoundError, match="W9"):
        await add_assignment(stored, ORG, role(Role.CLINICAL_EDUCATOR, "N1", ward="W9"))


async def test_replace_proposals_stores_them(stored: AsyncSession) -> None:
    proposals = [
        (role(Role.PRACTICE_ASSESSOR, "N3", "S2"), "on 10 of your 14 shifts; children field"),
        (role(Role.NAMED_PRACTICE_SUPERVISOR, "P1", "S2"), "on 14 of your 14 shifts"),
    ]
    stored_proposals = await replace_proposals(stored, ORG, "W1", proposals)
    listed = await list_assignments(stored, ORG, ward="W1", statuses=("proposed",))

    assert listed == stored_proposals
    assert [item.reason for item in listed] == [reason for _, reason in proposals]


async def test_replace_proposals_deletes_old_ones(stored: AsyncSession) -> None:
    await replace_proposals(stored, ORG, "W1", [(role(Role.PRACTICE_ASSESSOR, "N3", "S2"), "first run")])
    await replace_proposals(stored, ORG, "W1", [(role(Role.NAMED_PRACTICE_SUPERVISOR, "P1", "S2"), "second run")])

    listed = await list_assignments(stored, ORG, ward="W1", statuses=("proposed",))

    assert [item.reason for item in listed] == ["second run"]


async def test_rejected_proposals_keep_old_ones(stored: AsyncSession) -> None:
    await replace_proposals(stored, ORG, "W1", [(role(Role.PRACTICE_ASSESSOR, "N3", "S2"), "first run")])
    await stored.commit()

    with pytest.raises(AssignmentRejected):
        await replace_proposals(stored, ORG, "W1", [(role(Role.PRACTICE_ASSESSOR, "H1", "S2"), "bad")])
    await stored.commit()
    listed = await list_assignments(stored, ORG, ward="W1", statuses=("proposed",))

    assert [item.reason for item in listed] == ["first run"]


async def test_proposals_checked_against_each_other(stored: AsyncSession) -> None:
    proposals = [
        (role(Role.PRACTICE_ASSESSOR, "N3", "S2"), "assessor"),
        (role(Role.NAMED_PRACTICE_SUPERVISOR, "N3", "S2"), "supervisor"),
    ]
    with pytest.raises(AssignmentRejected) as raised:
        await replace_proposals(stored, ORG, "W1", proposals)
    assert {violation.rule for violation in raised.value.violations} == {rules.ASSESSOR_NOT_SUPERVISOR}


async def test_proposal_for_student_not_placed(stored: AsyncSession) -> None:
    late = role(Role.PRACTICE_ASSESSOR, "N3", "S2", start=date(2025, 3, 3), end=date(2025, 4, 25))
    with pytest.raises(ValueError, match="no placement on ward W1"):
        await replace_proposals(stored, ORG, "W1", [(late, "later placement")])


async def test_proposal_for_other_ward(stored: AsyncSession) -> None:
    with pytest.raises(ValueError, match="names ward W2"):
        await replace_proposals(stored, ORG, "W1", [(role(Role.CLINICAL_EDUCATOR, "N3", ward="W2"), "other ward")])


async def test_duplicate_proposal_rejected(stored: AsyncSession) -> None:
    proposal = (role(Role.PRACTICE_ASSESSOR, "N3", "S2"), "twice")
    with pytest.raises(ValueError, match="listed twice"):
        await replace_proposals(stored, ORG, "W1", [proposal, proposal])


async def test_confirm_proposals_confirms_all(stored: AsyncSession) -> None:
    await replace_proposals(stored, ORG, "W1", [
        (role(Role.PRACTICE_ASSESSOR, "N3", "S2"), "assessor"),
        (role(Role.NAMED_PRACTICE_SUPERVISOR, "P1", "S2"), "supervisor"),
    ])

    confirmed = await confirm_proposals(stored, ORG, "W1")
    left = await list_assignments(stored, ORG, ward="W1", statuses=("proposed",))
    listed = await list_assignments(stored, ORG, student="S2")

    assert [item.status for item in confirmed] == ["confirmed", "confirmed"]
    assert left == []
    assert listed == confirmed


async def test_confirm_rechecks_capacity(stored: AsyncSession) -> None:
    await replace_proposals(stored, ORG, "W1", [
        (role(Role.PRACTICE_ASSESSOR, "N3", "S2"), "assessor"),
        (role(Role.NAMED_PRACTICE_SUPERVISOR, "N2", "S2"), "supervisor over the limit"),
    ])
    await stored.commit()

    with pytest.raises(AssignmentRejected) as raised:
        await confirm_proposals(stored, ORG, "W1")
    await stored.commit()

    assert {violation.rule for violation in raised.value.violations} == {rules.POLICY_SUPERVISOR_CAPACITY}
    assert len(await list_assignments(stored, ORG, ward="W1", statuses=("proposed",))) == 2
    assert await list_assignments(stored, ORG, student="S2") == []


async def test_confirm_drops_proposal_already_confirmed(stored: AsyncSession) -> None:
    existing = await add_assignment(stored, ORG, role(Role.PRACTICE_ASSESSOR, "N3", "S2"))
    await add_assignment(stored, ORG, role(Role.PRACTICE_ASSESSOR, "N3", "S2"), status="proposed")

    confirmed = await confirm_proposals(stored, ORG, "W1")

    assert confirmed == [existing]
    assert len(await list_assignments(stored, ORG, student="S2", statuses=("confirmed", "proposed"))) == 1


async def test_confirm_without_proposals(stored: AsyncSession) -> None:
    assert await confirm_proposals(stored, ORG, "W1") == []


async def test_end_assignment_sets_last_day(stored: AsyncSession) -> None:
    [assessor] = await list_assignments(stored, ORG, student="S1", roles=[Role.PRACTICE_ASSESSOR])
    last_day = FIRST_DAY + timedelta(days=9)

    await end_assignments(stored, ORG, [assessor.id], on=last_day, reason="Long-term sickness")
    [ended] = await list_assignments(stored, ORG, student="S1", roles=[Role.PRACTICE_ASSESSOR], statuses=("ended",))

    assert ended.assignment.end == last_day
    assert ended.reason == "Long-term sickness"


async def test_ended_assessor_can_be_replaced(stored: AsyncSession) -> None:
    [assessor] = await list_assignments(stored, ORG, student="S1", roles=[Role.PRACTICE_ASSESSOR])
    last_day = FIRST_DAY + timedelta(days=9)
    await end_assignments(stored, ORG, [assessor.id], on=last_day, reason="Long-term sickness")

    next_day = last_day + timedelta(days=1)
    added = await add_assignment(stored, ORG, role(Role.PRACTICE_ASSESSOR, "N3", "S1", start=next_day))
    current = await list_assignments(stored, ORG, student="S1", roles=[Role.PRACTICE_ASSESSOR], on=next_day)

    assert current == [added]


async def test_ended_academic_assessor_still_rotates(stored: AsyncSession) -> None:
    [academic] = await list_assignments(stored, ORG, student="S1", roles=[Role.ACADEMIC_ASSESSOR])
    await end_assignments(stored, ORG, [academic.id], on=PLACEMENT_END, reason="End of part 2")

    next_part = role(
        Role.ACADEMIC_ASSESSOR, "A1", "S1", start=date(2025, 9, 1), end=date(2025, 12, 19), programme_part=3
    )
    with pytest.raises(AssignmentRejected) as raised:
        await add_assignment(stored, ORG, next_part)
    assert {violation.rule for violation in raised.value.violations} == {rules.ACADEMIC_ASSESSOR_ROTATES}


async def test_end_unknown_assignment(stored: AsyncSession) -> None:
    with pytest.raises(NotFoundError, match="999999"):
        await end_assignments(stored, ORG, [999999], on=FIRST_DAY, reason="Moved ward")


async def test_end_proposal_rejected(stored: AsyncSession) -> None:
    proposal = await add_assignment(stored, ORG, role(Role.PRACTICE_ASSESSOR, "N3", "S2"), status="proposed")
    with pytest.raises(ValueError, match="proposals"):
        await end_assignments(stored, ORG, [proposal.id], on=FIRST_DAY, reason="Moved ward")


async def test_end_needs_reason(stored: AsyncSession) -> None:
    [assessor] = await list_assignments(stored, ORG, student="S1", roles=[Role.PRACTICE_ASSESSOR])
    with pytest.raises(ValueError, match="reason"):
        await end_assignments(stored, ORG, [assessor.id], on=FIRST_DAY, reason=" ")


async def test_list_by_person(stored: AsyncSession) -> None:
    listed = await list_assignments(stored, ORG, person="N3")
    assert [item.assignment.role for item in listed] == [Role.CLINICAL_EDUCATOR]


async def test_list_by_ward_includes_placed_students(stored: AsyncSession) -> None:
    listed = await list_assignments(stored, ORG, ward="W1")
    assert len(listed) == 4


async def test_list_other_ward_empty(stored: AsyncSession) -> None:
    assert await list_assignments(stored, ORG, ward="W2") == []


async def test_list_on_day_outside_dates(stored: AsyncSession) -> None:
    assert await list_assignments(stored, ORG, on=PLACEMENT_END + timedelta(days=1)) == []


async def test_list_unknown_status_rejected(stored: AsyncSession) -> None:
    with pytest.raises(ValueError, match="retired"):
        await list_assignments(stored, ORG, statuses=("retired",))


async def test_confirm_swap_ends_replaced_roles(stored: AsyncSession) -> None:
    # S1 has N1 as assessor and N2 as named supervisor; from day 5, N2 assesses and N5 supervises.
    from_day = FIRST_DAY + timedelta(days=5)
    await replace_proposals(stored, ORG, "W1", [
        (role(Role.PRACTICE_ASSESSOR, "N2", "S1", start=from_day, change_reason="re-matched"), "swap"),
        (role(Role.NAMED_PRACTICE_SUPERVISOR, "N5", "S1", start=from_day), "swap"),
    ])

    confirmed = await confirm_proposals(stored, ORG, "W1")
    ended = await list_assignments(
        stored, ORG, student="S1", roles=[Role.PRACTICE_ASSESSOR, Role.NAMED_PRACTICE_SUPERVISOR], statuses=("ended",)
    )
    current = await list_assignments(
        stored, ORG, student="S1", roles=[Role.PRACTICE_ASSESSOR, Role.NAMED_PRACTICE_SUPERVISOR], on=from_day
    )

    assert len(confirmed) == 2
    assert {item.assignment.person for item in ended} == {"N1", "N2"}
    assert {item.assignment.end for item in ended} == {from_day - timedelta(days=1)}
    assert {(item.assignment.role, item.assignment.person) for item in current} == {
        (Role.PRACTICE_ASSESSOR, "N2"), (Role.NAMED_PRACTICE_SUPERVISOR, "N5"),
    }


async def test_swap_without_replacing_supervisor_rejected(stored: AsyncSession) -> None:
    # N2 stays S1's named supervisor, so N2 cannot also become the assessor.
    proposal = role(Role.PRACTICE_ASSESSOR, "N2", "S1", start=FIRST_DAY + timedelta(days=5), change_reason="x")
    with pytest.raises(AssignmentRejected) as raised:
        await replace_proposals(stored, ORG, "W1", [(proposal, "swap")])
    assert {violation.rule for violation in raised.value.violations} == {rules.ASSESSOR_NOT_SUPERVISOR}
