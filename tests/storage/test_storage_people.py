"""Looking people up by e-mail address, within one organisation."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from clipbot.domain.people import Person, Registration
from clipbot.storage.repository import (
    add_person,
    ensure_organisation,
    people_with_email,
)


async def add_people(session: AsyncSession, organisation: str, people: list[Person]) -> None:
    await ensure_organisation(session, organisation)
    for person in people:
        await add_person(session, organisation, person)


async def test_people_with_email_ignores_case(session):
    await add_people(session, "leeds", [
        Person("RN2", "Hugh Bell", Registration.REGISTERED_NURSE, email="Shared@Example.org"),
        Person("RN1", "Grace Obi", Registration.REGISTERED_NURSE, email="shared@example.org "),
        Person("RN3", "Ivy Ross", Registration.REGISTERED_NURSE, email="ivy@example.org"),
        Person("RN4", "Jo Wood", Registration.REGISTERED_NURSE),
    ])

    found = await people_with_email(session, "leeds", " SHARED@example.org")

    assert [person.key for person in found] == ["RN1", "RN2"]


async def test_people_with_email_one_organisation(session):
    nurse = Person("RN1", "Grace Obi", Registration.REGISTERED_NURSE, email="g@example.org")
    await add_people(session, "leeds", [nurse])
    await add_people(session, "york", [nurse])

    assert [person.key for person in await people_with_email(session, "york", "g@example.org")] == ["RN1"]
    assert await people_with_email(session, "hull", "g@example.org") == []


async def test_people_with_blank_email_none(session):
    await add_people(session, "leeds", [Person("RN4", "Jo Wood", Registration.REGISTERED_NURSE, email="")])

    assert await people_with_email(session, "leeds", "  ") == []
