"""WardService.add_educator: setting e-mail addresses, running it again, and writing all or nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clipbot.clock import FixedClock
from clipbot.domain.people import Person, Registration
from clipbot.domain.roles import Role, RoleAssignment
from clipbot.domain.roster import Roster
from clipbot.domain.ward import LearningEnvironment
from clipbot.service import UserError, WardService
from clipbot.storage import repository
from clipbot.storage.database import Database

ORGANISATION = "leeds"
MONDAY_9AM = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/London"))


@pytest.fixture
async def service(database: Database) -> WardService:
    """Ward 6-west with a student who has an e-mail address and a nurse, CE1, who has none."""
    ward_service = WardService(database, FixedClock(MONDAY_9AM), ORGANISATION)
    people = {
        "S1": Person("S1", "Amira Khan", Registration.STUDENT, email="amira@example.org"),
        "CE1": Person("CE1", "Sam Carter", Registration.REGISTERED_NURSE),
    }
    await ward_service.import_roster(Roster(ward=LearningEnvironment("6-west", "6 West"), people=people))
    return ward_service


async def educator_roles(service: WardService, person: str) -> list[RoleAssignment]:
    async with service.database.session() as session:
        stored = await repository.list_assignments(
            session, ORGANISATION, person=person, roles=[Role.CLINICAL_EDUCATOR]
        )
    return [item.assignment for item in stored]


async def ward_keys(service: WardService) -> list[str]:
    async with service.database.session() as session:
        return [ward.key for ward in await repository.list_wards(session, ORGANISATION)]


async def test_rerun_next_day_sets_email_only(service):
    await service.add_educator("CE1", "6-west")
    service.clock.moment = MONDAY_9AM + timedelta(days=1)

    returned = await service.add_educator("CE1", "6-west", email=" Sam.Carter@example.org ")

    roles = await educator_roles(service, "CE1")
    assert roles == [returned]
    assert returned.start == MONDAY_9AM.date()
    stored = await service.find_person("CE1")
    assert stored is not None
    assert stored.email == "Sam.Carter@example.org"
    # The address now links CE1's Slack account, whatever its case there.
    assert await service.person_for_user("slack", "T1", "U1", email="sam.carter@example.org") == "CE1"


async def test_new_email_replaces_old(service):
    await service.add_educator("CE1", "6-west", email="sam@old.example.org")
    await service.add_educator("CE1", "6-west", email="sam@new.example.org")

    stored = await service.find_person("CE1")
    assert stored is not None
    assert stored.email == "sam@new.example.org"
    assert await service.person_for_user("slack", "T1", "U1", email="sam@old.example.org") is None
    assert len(await educator_roles(service, "CE1")) == 1


async def test_new_person_stored_with_email(service):
    await service.add_educator("CE9", "7-east", name="Jo Marsh", email="jo.marsh@example.org", ward_name="7 East")

    stored = await service.find_person("CE9")
    assert stored == Person("CE9", "Jo Marsh", Registration.REGISTERED_NURSE, email="jo.marsh@example.org")
    assert (await service.find_ward("7 East")).key == "7-east"


@pytest.mark.parametrize(
    "email", ["jo.marsh", "jo.marsh@example", "jo marsh@example.org", "jo@marsh@example.org", "", "   "]
)
async def test_bad_email_changes_nothing(service, email):
    with pytest.raises(UserError) as raised:
        await service.add_educator("CE9", "7-east", name="Jo Marsh", email=email)

    message = str(raised.value)
    assert f"'{email.strip()}' is not an e-mail address" in message
    assert "--email" in message
    assert await ward_keys(service) == ["6-west"]
    assert await service.find_person("CE9") is None


async def test_bad_email_keeps_stored_one(service):
    await service.add_educator("CE1", "6-west", email="sam.carter@example.org")

    with pytest.raises(UserError):
        await service.add_educator("CE1", "6-west", email="sam.carter")

    stored = await service.find_person("CE1")
    assert stored is not None
    assert stored.email == "sam.carter@example.org"


async def test_someone_elses_email_rejected(service):
    with pytest.raises(UserError) as raised:
        await service.add_educator("CE1", "6-west", email="AMIRA@example.org")

    assert "'AMIRA@example.org' is already the e-mail address of Amira Khan (S1)" in str(raised.value)
    stored = await service.find_person("CE1")
    assert stored is not None
    assert stored.email is None
    assert await educator_roles(service, "CE1") == []


async def test_rejected_role_creates_no_ward(service):
    with pytest.raises(UserError) as raised:
        await service.add_educator("S1", "7-east", ward_name="7 East")

    assert "A clinical educator must be a registered nurse" in str(raised.value)
    assert await ward_keys(service) == ["6-west"]


async def test_unknown_person_creates_no_ward(service):
    with pytest.raises(UserError, match="Give --name"):
        await service.add_educator("NOBODY", "7-east")

    assert await ward_keys(service) == ["6-west"]
