"""Storage of sessions, ratings and pauses: the "only once" rules hold in the database itself."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from clipbot.storage import repository
from clipbot.storage.repository import NewRating, NewSession, NotFoundError, RatingSubject, SessionState
from workflow_ward import MARCH_MONDAY, ORGANISATION, WARD, local

NOW = local(MARCH_MONDAY, 8, 0)
WEEK = "2026-W13"


def _booked(hour: int = 10) -> NewSession:
    start = local(MARCH_MONDAY + timedelta(days=1), hour)
    return NewSession(
        student="S1", ward=WARD, iso_week=WEEK, state=SessionState.BOOKED, mentor="PA1",
        shift_key="2026-03-24 Early", starts_at=start, ends_at=start + timedelta(hours=1), decided_by="S1",
    )


def _rating(score: int = 4) -> NewRating:
    return NewRating("S1", WARD, RatingSubject.SHIFT, f"{WARD}/2026-03-23 Early", score, mentor="PA1")


@pytest.fixture
async def organisation(session: AsyncSession) -> str:
    await repository.ensure_organisation(session, ORGANISATION)
    await session.commit()
    return ORGANISATION


async def test_second_booking_in_week_not_stored(session: AsyncSession, organisation: str) -> None:
    first = await repository.add_session(session, organisation, _booked(10), now=NOW)
    second = await repository.add_session(session, organisation, _booked(11), now=NOW)

    assert first is not None
    assert second is None
    assert len(await repository.list_sessions(session, organisation, student="S1")) == 1


async def test_declines_may_repeat_in_week(session: AsyncSession, organisation: str) -> None:
    decline = NewSession("S1", WARD, WEEK, SessionState.DECLINED, reason="study day", decided_by="S1")

    await repository.add_session(session, organisation, decline, now=NOW)
    await repository.add_session(session, organisation, decline, now=NOW)

    assert len(await repository.list_sessions(session, organisation, states=[SessionState.DECLINED])) == 2


async def test_booking_needs_mentor_and_times(session: AsyncSession, organisation: str) -> None:
    with pytest.raises(ValueError, match="needs a mentor, a start and an end"):
        await repository.add_session(session, organisation, NewSession("S1", WARD, WEEK, SessionState.BOOKED), now=NOW)


async def test_state_change_blocked_by_booked_week(session: AsyncSession, organisation: str) -> None:
    await repository.add_session(session, organisation, _booked(10), now=NOW)
    offered = await repository.add_session(session, organisation, _offered(), now=NOW)
    assert offered is not None

    changed = await repository.change_session_state(
        session, organisation, offered.id, SessionState.BOOKED, now=NOW, from_states=[SessionState.OFFERED]
    )

    assert changed is None
    # The savepoint kept the transaction usable: the offer is still there, unchanged.
    again = await repository.find_session(session, organisation, offered.id)
    assert again is not None
    assert again.state is SessionState.OFFERED


def _offered() -> NewSession:
    start = local(MARCH_MONDAY + timedelta(days=2), 10)
    return NewSession(
        student="S1", ward=WARD, iso_week=WEEK, state=SessionState.OFFERED, mentor="NS1",
        starts_at=start, ends_at=start + timedelta(hours=1), decided_by="S1",
    )


async def test_state_change_only_from_given_states(session: AsyncSession, organisation: str) -> None:
    booked = await repository.add_session(session, organisation, _booked(), now=NOW)
    assert booked is not None

    changed = await repository.change_session_state(
        session, organisation, booked.id, SessionState.BOOKED, now=NOW, from_states=[SessionState.OFFERED]
    )

    assert changed is None


async def test_session_times_come_back_in_utc(session: AsyncSession, organisation: str) -> None:
    stored = await repository.add_session(session, organisation, _booked(10), now=NOW)
    assert stored is not None

    found = await repository.find_session(session, organisation, stored.id)

    assert found is not None
    assert found.starts_at == local(MARCH_MONDAY + timedelta(days=1), 10)


async def test_sessions_invisible_to_other_organisation(session: AsyncSession, organisation: str) -> None:
    stored = await repository.add_session(session, organisation, _booked(), now=NOW)
    assert stored is not None
    await repository.ensure_organisation(session, "other-trust")

    assert await repository.find_session(session, "other-trust", stored.id) is None
    assert await repository.list_sessions(session, "other-trust") == []


async def test_rating_stored_once(session: AsyncSession, organisation: str) -> None:
    first = await repository.add_rating(session, organisation, _rating(4), now=NOW)
    second = await repository.add_rating(session, organisation, _rating(1), now=NOW)

    assert first is True
    assert second is False
    totals = await repository.rating_totals(session, organisation, WARD)
    assert [(total.count, total.total) for total in totals] == [(1, 4)]


async def test_rating_score_checked(session: AsyncSession, organisation: str) -> None:
    with pytest.raises(ValueError, match="The score 0 is not valid"):
        await repository.add_rating(session, organisation, _rating(0), now=NOW)


async def test_rating_in_unknown_organisation_raises(session: AsyncSession) -> None:
    with pytest.raises(NotFoundError):
        await repository.add_rating(session, "no-such-trust", _rating(), now=NOW)


async def test_pause_replaced_then_cleared(session: AsyncSession, organisation: str) -> None:
    await repository.set_pause(session, organisation, "PA1", date(2026, 3, 27))
    await repository.set_pause(session, organisation, "PA1", date(2026, 4, 3))

    assert await repository.paused_until(session, organisation, "PA1") == date(2026, 4, 3)
    assert await repository.clear_pause(session, organisation, "PA1") is True
    assert await repository.paused_until(session, organisation, "PA1") is None
    assert await repository.clear_pause(session, organisation, "PA1") is False
