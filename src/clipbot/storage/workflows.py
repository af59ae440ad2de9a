"""Storage of the scheduled workflows: protected learning time sessions, ratings and pauses.

Every function takes the organisation key and reads or writes only that organisation's rows.
Look-ups in an unknown organisation find nothing, and writes to one raise NotFoundError. Times
are passed in by the caller (`now`), so tests can fix the clock. Nothing is committed: the caller
owns the transaction.

The database enforces the two "only once" rules, so that two replicas, or a form submitted twice,
cannot break them. A partial unique index allows one booked or confirmed session per student and
ISO week. A unique constraint allows one rating per student and subject, and ratings are written
with ON CONFLICT DO NOTHING.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, Result, Row, Table, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from clipbot.storage.common import find_organisation_id, organisation_id
from clipbot.storage.models import pauses, protected_sessions, ratings

logger = logging.getLogger(__name__)

MIN_SCORE = 1
MAX_SCORE = 5


class SessionState(StrEnum):
    """The stage a protected-time session has reached. `ProtectedSessionRecord` explains each one."""

    OFFERED = "offered"
    BOOKED = "booked"
    CONFIRMED = "confirmed"
    NOT_MET = "not_met"
    DECLINED = "declined"


# The states that the partial unique index allows once per student and week.
ACTIVE_STATES = (SessionState.BOOKED, SessionState.CONFIRMED)
# The index's own predicate, as literal SQL: PostgreSQL matches ON CONFLICT to a partial index only
# when the conflict clause's WHERE implies the index's, which bound parameters do not.
_ACTIVE_PREDICATE = text("state IN ('booked', 'confirmed')")


class RatingSubject(StrEnum):
    SESSION = "session"
    SHIFT = "shift"


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session to store. A booked or confirmed one needs a mentor and both times."""

    student: str
    ward: str
    iso_week: str
    state: SessionState
    mentor: str | None = None
    shift_key: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    reason: str | None = None
    decided_by: str | None = None


@dataclass(frozen=True, slots=True)
class ProtectedSession:
    """A stored protected-time session; times are aware and in UTC."""

    id: int
    student: str
    mentor: str | None
    ward: str
    iso_week: str
    shift_key: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    state: SessionState
    reason: str | None
    decided_by: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NewRating:
    """A student's rating of one subject. `mentor` is the session's mentor or the shift's coach."""

    student: str
    ward: str
    subject_kind: RatingSubject
    subject_key: str
    score: int
    comment: str | None = None
    mentor: str | None = None


@dataclass(frozen=True, slots=True)
class RatingTotal:
    """The number and sum of the scores in one group: a ward's subject kind and mentor."""

    subject_kind: RatingSubject
    mentor: str | None
    count: int
    total: int


def _insert(session: AsyncSession, table: Table) -> postgresql.Insert | sqlite.Insert:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"The database dialect {dialect!r} is not supported. Use PostgreSQL or SQLite.")


def _rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


def _session_from_row(row: Row[Any]) -> ProtectedSession:
    return ProtectedSession(
        id=row.id,
        student=row.student,
        mentor=row.mentor,
        ward=row.ward,
        iso_week=row.iso_week,
        shift_key=row.shift_key,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        state=SessionState(row.state),
        reason=row.reason,
        decided_by=row.decided_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _check_new_session(new: NewSession) -> None:
    if new.state in ACTIVE_STATES and (new.mentor is None or new.starts_at is None or new.ends_at is None):
        raise ValueError(
            f"A {new.state.value} session for {new.student!r} in {new.iso_week} needs a mentor, a start and an end."
        )
    if new.starts_at is not None and new.ends_at is not None and new.ends_at <= new.starts_at:
        raise ValueError(
            f"The session for {new.student!r} must end after it starts, got {new.starts_at.isoformat()} "
            f"to {new.ends_at.isoformat()}."
        )


async def add_session(
    session: AsyncSession, organisation: str, new: NewSession, *, now: datetime
) -> ProtectedSession | None:
    """Store a session; return None, storing nothing, when the student's week is already booked or confirmed."""
    _check_new_session(new)
    org_id = await organisation_id(session, organisation)
    table = protected_sessions
    statement = (
        _insert(session, table)
        .values(
            organisation_id=org_id,
            student=new.student,
            mentor=new.mentor,
            ward=new.ward,
            iso_week=new.iso_week,
            shift_key=new.shift_key,
            starts_at=new.starts_at,
            ends_at=new.ends_at,
            state=new.state.value,
            reason=new.reason,
            decided_by=new.decided_by,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(
            index_elements=[table.c.organisation_id, table.c.student, table.c.iso_week],
            index_where=_ACTIVE_PREDICATE,
        )
        .returning(*table.c)
    )
    row = (await session.execute(statement)).one_or_none()
    return None if row is None else _session_from_row(row)


async def change_session_state(
    session: AsyncSession,
    organisation: str,
    session_id: int,
    state: SessionState,
    *,
    now: datetime,
    from_states: Collection[SessionState],
    reason: str | None = None,
    decided_by: str | None = None,
) -> ProtectedSession | None:
    """Move a session in one of `from_states` to `state`; return it, or None if nothing changed.

    Nothing changes when the session is not in the organisation, is in another state, or would be
    a second booked or confirmed session in its student's week. That last check runs in a savepoint,
    so the caller's transaction stays usable.
    """
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return None
    table = protected_sessions
    statement = (
        update(table)
        .where(
            table.c.id == session_id,
            table.c.organisation_id == org_id,
            table.c.state.in_([item.value for item in from_states]),
        )
        .values(state=state.value, reason=reason, decided_by=decided_by, updated_at=now)
        .returning(*table.c)
    )
    try:
        async with session.begin_nested():
            row = (await session.execute(statement)).one_or_none()
    except IntegrityError:
        logger.info("Session %s was not %s: its student's week already has a booked session.", session_id, state.value)
        return None
    return None if row is None else _session_from_row(row)


async def find_session(session: AsyncSession, organisation: str, session_id: int) -> ProtectedSession | None:
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return None
    query = select(protected_sessions).where(
        protected_sessions.c.id == session_id, protected_sessions.c.organisation_id == org_id
    )
    row = (await session.execute(query)).one_or_none()
    return None if row is None else _session_from_row(row)


async def list_sessions(
    session: AsyncSession,
    organisation: str,
    *,
    student: str | None = None,
    ward: str | None = None,
    iso_weeks: Collection[str] | None = None,
    states: Collection[SessionState] | None = None,
) -> list[ProtectedSession]:
    """Return the sessions matching every filter given, in the order they last changed."""
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return []
    table = protected_sessions
    query = select(table).where(table.c.organisation_id == org_id)
    if student is not None:
        query = query.where(table.c.student == student)
    if ward is not None:
        query = query.where(table.c.ward == ward)
    if iso_weeks is not None:
        query = query.where(table.c.iso_week.in_(sorted(iso_weeks)))
    if states is not None:
        query = query.where(table.c.state.in_([state.value for state in states]))
    query = query.order_by(table.c.updated_at, table.c.id)
    return [_session_from_row(row) for row in (await session.execute(query)).all()]


async def add_rating(session: AsyncSession, organisation: str, rating: NewRating, *, now: datetime) -> bool:
    """Store a rating; return False, changing nothing, when the student already rated this subject."""
    if not MIN_SCORE <= rating.score <= MAX_SCORE:
        raise ValueError(f"The score {rating.score} is not valid. Give a whole number from {MIN_SCORE} to {MAX_SCORE}.")
    org_id = await organisation_id(session, organisation)
    table = ratings
    statement = (
        _insert(session, table)
        .values(
            organisation_id=org_id,
            student=rating.student,
            ward=rating.ward,
            mentor=rating.mentor,
            subject_kind=rating.subject_kind.value,
            subject_key=rating.subject_key,
            score=rating.score,
            comment=rating.comment,
            created_at=now,
        )
        .on_conflict_do_nothing(
            index_elements=[table.c.organisation_id, table.c.student, table.c.subject_kind, table.c.subject_key]
        )
    )
    return _rowcount(await session.execute(statement)) == 1


async def has_rated(
    session: AsyncSession, organisation: str, student: str, subject_kind: RatingSubject, subject_key: str
) -> bool:
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return False
    query = select(ratings.c.id).where(
        ratings.c.organisation_id == org_id,
        ratings.c.student == student,
        ratings.c.subject_kind == subject_kind.value,
        ratings.c.subject_key == subject_key,
    )
    return await session.scalar(query) is not None


async def rating_totals(session: AsyncSession, organisation: str, ward: str) -> list[RatingTotal]:
    """Return the count and sum of a ward's scores per subject kind and mentor, never single ratings."""
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return []
    table = ratings
    query = (
        select(table.c.subject_kind, table.c.mentor, func.count(), func.sum(table.c.score))
        .where(table.c.organisation_id == org_id, table.c.ward == ward)
        .group_by(table.c.subject_kind, table.c.mentor)
        .order_by(table.c.subject_kind, table.c.mentor)
    )
    return [
        RatingTotal(RatingSubject(kind), mentor, int(count), int(total))
        for kind, mentor, count, total in (await session.execute(query)).all()
    ]


async def set_pause(session: AsyncSession, organisation: str, person: str, until: date) -> None:
    """Pause messages to `person` until the end of `until`, replacing any earlier pause."""
    org_id = await organisation_id(session, organisation)
    statement = _insert(session, pauses).values(organisation_id=org_id, person=person, until=until)
    statement = statement.on_conflict_do_update(
        index_elements=[pauses.c.organisation_id, pauses.c.person], set_={"until": until}
    )
    await session.execute(statement)


async def clear_pause(session: AsyncSession, organisation: str, person: str) -> bool:
    """Remove the person's pause; return False when they had none."""
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return False
    statement = delete(pauses).where(pauses.c.organisation_id == org_id, pauses.c.person == person)
    return _rowcount(await session.execute(statement)) == 1


async def paused_until(session: AsyncSession, organisation: str, person: str) -> date | None:
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return None
    query = select(pauses.c.until).where(pauses.c.organisation_id == org_id, pauses.c.person == person)
    return await session.scalar(query)
