"""Two organisations with the same ward and person keys never see each other's rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from storage_builders import FIRST_DAY, PLACEMENT_END, sample_roster

from clipbot.domain.roles import Role, RoleAssignment
from clipbot.domain.rules import AssignmentRejected
from clipbot.storage.repository import (
    NotFoundError,
    add_assignment,
    confirm_proposals,
    end_assignments,
    ensure_organisation,
    find_people,
    find_person,
    list_assignments,
    list_wards,
    load_roster,
    replace_proposals,
    save_roster,
)


@pytest.fixture
async def two_trusts(session: AsyncSession) -> AsyncSession:
    """Trusts "leeds" and "york", each with a ward W1 whose people have the same keys."""
    await ensure_organisation(session, "leeds", "Leeds Teaching Hospitals")
    await ensure_organisation(session, "york", "York and Scarborough")
    await save_roster(session, "leeds", sample_roster(suffix=" (Leeds)"))
    await save_roster(session, "york", sample_roster(suffix=" (York)", presets=False))
    await session.commit()
    return session


async def test_load_roster_sees_own_people(two_trusts: AsyncSession) -> None:
    loaded = await load_roster(two_trusts, "york", "W1")
    assert {person.name.endswith("(York)") for person in loaded.people.values()} == {True}


async def test_load_roster_sees_own_assignments(two_trusts: AsyncSession) -> None:
    loaded = await load_roster(two_trusts, "york", "W1")
    assert loaded.assignments == []


async def test_duty_count_not_doubled(two_trusts: AsyncSession) -> None:
    loaded = await load_roster(two_trusts, "leeds", "W1")
    assert len(loaded.duties) == len(sample_roster().duties)


async def test_list_wards_own_only(two_trusts: AsyncSession) -> None:
    assert [ward.name for ward in await list_wards(two_trusts, "york")] == ["Ward W1 (York)"]


async def test_find_person_own_only(two_trusts: AsyncSession) -> None:
    person = await find_person(two_trusts, "york", "N1")
    assert person is not None
    assert person.name == "Carys Jones (York)"


async def test_find_people_by_name_own_only(two_trusts: AsyncSession) -> None:
    assert [person.name for person in await find_people(two_trusts, "york", "carys")] == ["Carys Jones (York)"]


async def test_list_assignments_own_only(two_trusts: AsyncSession) -> None:
    assert await list_assignments(two_trusts, "york") == []


async def test_other_trust_assignments_not_in_rules(two_trusts: AsyncSession) -> None:
    # Leeds's N1 already assesses Leeds's S1; York's N1 is someone else and may assess York's S1.
    assessor = RoleAssignment(Role.PRACTICE_ASSESSOR, "N1", FIRST_DAY, PLACEMENT_END, student="S1")
    added = await add_assignment(two_trusts, "york", assessor)
    assert added.status == "confirmed"


async def test_end_other_trust_assignment_not_found(two_trusts: AsyncSession) -> None:
    [leeds_assessor] = await list_assignments(two_trusts, "leeds", student="S1", roles=[Role.PRACTICE_ASSESSOR])
    with pytest.raises(NotFoundError):
        await end_assignments(two_trusts, "york", [leeds_assessor.id], on=FIRST_DAY, reason="Moved")


async def test_proposals_stay_in_their_trust(two_trusts: AsyncSession) -> None:
    proposal = RoleAssignment(Role.PRACTICE_ASSESSOR, "N3", FIRST_DAY, PLACEMENT_END, student="S2")
    await replace_proposals(two_trusts, "leeds", "W1", [(proposal, "leeds run")])
    await replace_proposals(two_trusts, "york", "W1", [(proposal, "york run")])

    confirmed = await confirm_proposals(two_trusts, "york", "W1")
    leeds_left = await list_assignments(two_trusts, "leeds", statuses=("proposed",))

    assert [item.reason for item in confirmed] == ["york run"]
    assert [item.reason for item in leeds_left] == ["leeds run"]


async def test_person_from_other_trust_rejected(two_trusts: AsyncSession) -> None:
    await ensure_organisation(two_trusts, "hull")
    day = FIRST_DAY + timedelta(days=1)
    with pytest.raises(AssignmentRejected, match="not on the roster"):
        await add_assignment(two_trusts, "hull", RoleAssignment(Role.CLINICAL_EDUCATOR, "N3", day, day))


async def test_unknown_trust_has_no_wards(two_trusts: AsyncSession) -> None:
    assert await list_wards(two_trusts, "hull") == []


async def test_unknown_trust_has_no_assignments(two_trusts: AsyncSession) -> None:
    assert await list_assignments(two_trusts, "hull") == []


async def test_unknown_trust_load_not_found(two_trusts: AsyncSession) -> None:
    with pytest.raises(NotFoundError, match="hull"):
        await load_roster(two_trusts, "hull", "W1")
