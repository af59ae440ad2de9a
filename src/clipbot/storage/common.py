"""Conversions between domain objects and rows, and the lookups every repository function starts from."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from clipbot.domain.people import FieldOfPractice, Person, Registration
from clipbot.domain.ward import LearningEnvironment, WardPolicy
from clipbot.storage.models import organisations, people, wards

T = TypeVar("T")

# Values per IN (...) list. SQLite (since 3.32) allows 32,766 bound parameters per statement and
# PostgreSQL's wire protocol 32,767, so long key lists are sent in slices.
IN_LIST_SIZE = 1000


class NotFoundError(LookupError):
    """An organisation, ward or assignment named by the caller is not in the database."""


@dataclass(frozen=True, slots=True)
class Counts:
    """How many rows of one kind an import created, updated, left unchanged and removed."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.removed)

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, {self.removed} removed"


@dataclass(frozen=True, slots=True)
class WardScope:
    """A stored ward: its row id, key and policy."""

    id: int
    key: str
    policy: WardPolicy


def chunked(values: Sequence[T], size: int = IN_LIST_SIZE) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


async def find_organisation_id(session: AsyncSession, key: str) -> int | None:
    return await session.scalar(select(organisations.c.id).where(organisations.c.key == key))


async def organisation_id(session: AsyncSession, key: str) -> int:
    found = await find_organisation_id(session, key)
    if found is None:
        raise NotFoundError(f"Organisation {key!r} not found. Check the key, or create it with ensure_organisation.")
    return found


async def find_ward(session: AsyncSession, organisation_id: int, key: str) -> WardScope | None:
    query = select(wards.c.id, wards.c.key, wards.c.policy).where(
        wards.c.organisation_id == organisation_id, wards.c.key == key
    )
    row = (await session.execute(query)).one_or_none()
    return None if row is None else WardScope(row.id, row.key, policy_from_json(row.policy))


async def require_ward(session: AsyncSession, organisation_id: int, organisation: str, key: str) -> WardScope:
    ward = await find_ward(session, organisation_id, key)
    if ward is None:
        raise NotFoundError(
            f"Ward {key!r} not found in organisation {organisation!r}. Check the ward key, or import its roster first."
        )
    return ward


def policy_to_json(policy: WardPolicy) -> dict[str, Any]:
    """Return the policy's fields as JSON values, with times as "HH:MM"."""
    data: dict[str, Any] = {}
    for item in fields(policy):
        value = getattr(policy, item.name)
        data[item.name] = value.strftime("%H:%M") if isinstance(value, time) else value
    return data


def policy_from_json(data: dict[str, Any]) -> WardPolicy:
    """Build a WardPolicy from stored JSON. Missing fields keep their defaults and unknown ones are ignored."""
    defaults = WardPolicy()
    values: dict[str, Any] = {}
    for item in fields(WardPolicy):
        if item.name not in data:
            continue
        value = data[item.name]
        if isinstance(getattr(defaults, item.name), time):
            value = time.fromisoformat(value)
        values[item.name] = value
    return WardPolicy(**values)


def check_timezone(name: str) -> str | None:
    """Return a problem message when `name` is not an IANA time zone, else None."""
    try:
        ZoneInfo(name)
    except (ValueError, KeyError):
        return f"The ward's time zone {name!r} is not known. Use an IANA name such as Europe/London."
    return None


def person_values(person: Person) -> dict[str, Any]:
    """Return the `people` column values of a person, without the ids."""
    return {
        "key": person.key,
        "name": person.name,
        "registration": person.registration.value,
        "field": None if person.field is None else person.field.value,
        "email": person.email,
        "programme_part": person.programme_part,
        "university": person.university,
        "academic": person.academic,
    }


def person_from_row(row: Row[Any]) -> Person:
    return Person(
        key=row.key,
        name=row.name,
        registration=Registration(row.registration),
        field=None if row.field is None else FieldOfPractice(row.field),
        email=row.email,
        programme_part=row.programme_part,
        university=row.university,
        academic=bool(row.academic),
    )


def ward_from_row(row: Row[Any]) -> LearningEnvironment:
    return LearningEnvironment(key=row.key, name=row.name, policy=policy_from_json(row.policy))


async def person_rows(session: AsyncSession, organisation_id: int, keys: Collection[str]) -> list[Row[Any]]:
    """Return the `people` rows of an organisation with these keys; unknown keys are skipped."""
    found: list[Row[Any]] = []
    for chunk in chunked(sorted(set(keys))):
        query = select(people).where(people.c.organisation_id == organisation_id, people.c.key.in_(chunk))
        found.extend((await session.execute(query)).all())
    return found


async def people_by_key(session: AsyncSession, organisation_id: int, keys: Collection[str]) -> dict[str, Person]:
    return {row.key: person_from_row(row) for row in await person_rows(session, organisation_id, keys)}


async def person_ids(session: AsyncSession, organisation_id: int, keys: Collection[str]) -> dict[str, int]:
    return {row.key: row.id for row in await person_rows(session, organisation_id, keys)}
