from __future__ import annotations

import pytest

from clipbot.clock import FixedClock
from clipbot.domain.people import Person, Registration
from clipbot.domain.roles import Role
from clipbot.service import WardService
from clipbot.storage import repository
from clipbot.storage.database import Database
from workflow_ward import MARCH_MONDAY, ORGANISATION, WARD, local, ward_roster


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(local(MARCH_MONDAY, 8, 0))


@pytest.fixture
async def ward_service(database: Database, clock: FixedClock) -> WardService:
    """The March ward stored with its mentors confirmed and Sam Carter as clinical educator."""
    service = WardService(database, clock, ORGANISATION)
    roster = ward_roster(MARCH_MONDAY)
    await service.import_roster(roster)
    async with database.transaction() as session:
        await repository.add_person(
            session, ORGANISATION, Person("CE1", "Sam Carter", Registration.REGISTERED_NURSE), ward=WARD
        )
        for assignment in roster.assignments:
            if assignment.role is Role.CLINICAL_EDUCATOR:
                await repository.add_assignment(session, ORGANISATION, assignment)
    return service
