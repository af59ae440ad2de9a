"""WorkflowService: records bookings, answers, ratings and pauses, and enqueues the planned messages.

Like WardService, each method runs in its own transaction. A state change and the outbox messages
it causes (a booking and its reminders, a confirmation and its rating request) are written in the
same transaction, so a crash leaves neither or both. Problems the user can fix raise UserError
with a message from `clipbot.bot.handlers.messages`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from clipbot.bot.handlers import messages
from clipbot.clock import Clock
from clipbot.domain.people import Person
from clipbot.domain.protected_time import LONDON, iso_week_key, week_of
from clipbot.domain.roles import RoleAssignment
from clipbot.domain.roster import Roster
from clipbot.domain.timing import ward_zone
from clipbot.service import UserError, WardService
from clipbot.storage import repository
from clipbot.storage.database import Database
from clipbot.storage.outbox import NewMessage
from clipbot.storage.workflows import (
    ACTIVE_STATES,
    NewRating,
    NewSession,
    ProtectedSession,
    RatingSubject,
    SessionState,
)
from clipbot.workflows import planner, protected
from clipbot.workflows.following import follow_coach_plan
from clipbot.workflows.planner import PlannerSettings
from clipbot.workflows.protected import SlotChoice, WeekRef
from clipbot.workflows.ratings import RatingRef, RatingsSummary, summarise

logger = logging.getLogger(__name__)

DEFAULT_HORIZON = timedelta(hours=24)
# Pauses are limited to a year, because a later date is most likely a mistyped year.
MAX_PAUSE = timedelta(days=366)


@dataclass(frozen=True, slots=True)
class SessionResult:
    """A session after a request, whether the request changed it, and what is needed to describe it."""

    session: ProtectedSession
    changed: bool
    people: dict[str, Person]
    zone: ZoneInfo

    def name(self, key: str | None) -> str:
        return protected.name_of(self.people, key)

    def when(self) -> str:
        if self.session.starts_at is None or self.session.ends_at is None:
            return ""
        return protected.describe_time(self.session.starts_at, self.session.ends_at, self.zone)


class WorkflowService:
    def __init__(
        self, database: Database, clock: Clock, organisation: str, *, settings: PlannerSettings | None = None
    ) -> None:
        self.database = database
        self.clock = clock
        self.organisation = organisation
        self.settings = settings or PlannerSettings()

    @classmethod
    def of(cls, service: WardService) -> WorkflowService:
        """Return the workflow service for the same database, clock, organisation and planner settings as `service`."""
        return cls(service.database, service.clock, service.organisation, settings=service.planner_settings)

    # Planning.

    async def plan(self, horizon: timedelta = DEFAULT_HORIZON) -> list[NewMessage]:
        """Return the messages the organisation's plan contains now, without enqueueing them."""
        now = self.clock.now()
        async with self.database.session() as session:
            rosters, assignments, sessions = await self._plan_inputs(session, now, horizon)
        return await self._run_planner(rosters, assignments, sessions, now, horizon)

    async def enqueue_plan(self, horizon: timedelta = DEFAULT_HORIZON) -> int:
        """Plan and enqueue the messages due within `horizon`; return how many were new."""
        now = self.clock.now()
        async with self.database.transaction() as session:
            rosters, assignments, sessions = await self._plan_inputs(session, now, horizon)
            planned = await self._run_planner(rosters, assignments, sessions, now, horizon)
            keyed = self._keyed(planned)
            added = await self._enqueue(session, keyed, now)
            added += await follow_coach_plan(session, self.organisation, keyed, now, now + horizon, self.settings)
        logger.info(
            "Planned %d messages for organisation %s, of which %d were new.", len(planned), self.organisation, added
        )
        return added

    async def _run_planner(
        self,
        rosters: Sequence[Roster],
        assignments: Sequence[RoleAssignment],
        sessions: Sequence[ProtectedSession],
        now: datetime,
        horizon: timedelta,
    ) -> list[NewMessage]:
        """Run the planner in a worker thread, because for a whole trust it takes seconds of CPU.

        On the event loop that would hold up everything else the server does, such as acknowledging
        Slack requests within Slack's 3 seconds. In a thread, the interpreter switches back to the
        loop every few milliseconds. The planner only reads its arguments, which nothing else uses.
        """
        return await asyncio.to_thread(
            planner.plan, rosters, assignments, now, horizon, sessions=sessions, settings=self.settings
        )

    async def _plan_inputs(
        self, session: AsyncSession, now: datetime, horizon: timedelta
    ) -> tuple[list[Roster], list[RoleAssignment], list[ProtectedSession]]:
        rosters = [
            await repository.load_roster(session, self.organisation, ward.key)
            for ward in await repository.list_wards(session, self.organisation)
        ]
        assignments = list(dict.fromkeys(item for roster in rosters for item in roster.assignments))
        first = week_of(now)[0] - timedelta(days=21)
        last = week_of(now + horizon)[0] + timedelta(days=7)
        weeks = {iso_week_key(first + timedelta(days=7 * index)) for index in range((last - first).days // 7 + 1)}
        sessions = await repository.list_sessions(session, self.organisation, iso_weeks=weeks)
        return rosters, assignments, sessions

    def _keyed(self, planned: Iterable[NewMessage]) -> list[NewMessage]:
        """Put the organisation key before each message's idempotency key, which must be unique across organisations."""
        return [replace(message, idempotency_key=f"{self.organisation}:{message.idempotency_key}") for message in planned]

    async def _enqueue(self, session: AsyncSession, keyed: Iterable[NewMessage], now: datetime) -> int:
        """Enqueue each message still worth sending, and return how many were new.

        A message whose key is stored already is left as it is.
        """
        added = 0
        for message in keyed:
            if message.not_after is not None and message.not_after <= now:
                continue
            if await repository.enqueue(session, self.organisation, message):
                added += 1
        return added

    async def _roster(self, session: AsyncSession, ward: str, week: str) -> Roster:
        """Load the ward's roster for one ISO week: enough for names, mentors, leave and the policy."""
        monday, sunday = _week_dates(week)
        try:
            return await repository.load_roster(session, self.organisation, ward, start=monday, end=sunday)
        except repository.NotFoundError:
            raise UserError(messages.PT_UNKNOWN_WARD.format(ward=ward)) from None

    async def _session_messages(
        self, session: AsyncSession, stored: ProtectedSession, roster: Roster, now: datetime
    ) -> None:
        await self._enqueue(session, self._keyed(planner.session_messages(stored, roster, self.settings)), now)

    def _result(self, stored: ProtectedSession, changed: bool, roster: Roster) -> SessionResult:
        return SessionResult(stored, changed, dict(roster.people), ward_zone(roster.ward.policy))

    # Protected learning time.

    async def mentors_for(self, student: str, ref: WeekRef) -> list[Person]:
        """Return the student's practice assessors, then named supervisors, for the week in `ref`."""
        monday, sunday = _week_dates(ref.week)
        found: list[Person] = []
        async with self.database.session() as session:
            roster = await self._roster(session, ref.ward, ref.week)
            self._require_student(roster, student)
            for key in protected.mentors_of(roster.assignments, student, monday, sunday):
                person = roster.people.get(key) or await repository.find_person(session, self.organisation, key)
                if person is not None:
                    found.append(person)
        return found

    async def book(self, student: str, choice: SlotChoice) -> SessionResult:
        """Book an offered slot. A week already booked is returned unchanged, with `changed` False."""
        now = self.clock.now()
        slot = choice.slot
        if slot.start <= now:
            raise UserError(messages.PT_SLOT_PASSED)
        if iso_week_key(slot.start) != choice.week:
            raise UserError(messages.PT_SLOT_NOT_IN_WEEK)
        monday, sunday = _week_dates(choice.week)

        async with self.database.transaction() as session:
            roster = await self._roster(session, choice.ward, choice.week)
            self._require_student(roster, student)
            if slot.mentor not in protected.mentors_of(roster.assignments, student, monday, sunday):
                raise UserError(messages.PT_NOT_YOUR_MENTOR.format(mentor=protected.name_of(roster.people, slot.mentor)))
            held = await self._active_session(session, student, choice.week)
            if held is not None:
                return self._result(held, False, roster)

            new = NewSession(
                student=student, ward=choice.ward, iso_week=choice.week, state=SessionState.BOOKED,
                mentor=slot.mentor, shift_key=slot.shift_key, starts_at=slot.start, ends_at=slot.end,
                decided_by=student,
            )
            stored = await repository.add_session(session, self.organisation, new, now=now)
            if stored is None:
                held = await self._active_session(session, student, choice.week)
                if held is None:
                    raise UserError(messages.APOLOGY)
                return self._result(held, False, roster)
            await self._session_messages(session, stored, roster, now)
        logger.info("Student %s booked protected time session %d in %s.", student, stored.id, choice.week)
        return self._result(stored, True, roster)

    async def suggest(
        self, student: str, ref: WeekRef, day_text: str, time_text: str, mentor: str | None
    ) -> SessionResult:
        """Store a time the student suggests, and ask the mentor (the first one unless `mentor` is given)."""
        now = self.clock.now()
        monday, sunday = _week_dates(ref.week)
        day = parse_date(day_text)
        at = parse_time(time_text)

        async with self.database.transaction() as session:
            roster = await self._roster(session, ref.ward, ref.week)
            self._require_student(roster, student)
            zone = ward_zone(roster.ward.policy)
            if not monday <= day <= sunday:
                raise UserError(messages.PT_SUGGEST_OUTSIDE_WEEK.format(
                    day=f"{day:%A %-d %B}", monday=f"{monday:%A %-d %B}", sunday=f"{sunday:%A %-d %B}",
                ))
            starts_at = datetime.combine(day, at, tzinfo=zone)
            if starts_at <= now:
                raise UserError(messages.PT_SUGGEST_PAST.format(when=f"{starts_at:%A %-d %B %H:%M}"))

            mentors = protected.mentors_of(roster.assignments, student, monday, sunday)
            if not mentors:
                raise UserError(messages.PT_NO_MENTOR)
            chosen = mentor or mentors[0]
            if chosen not in mentors:
                raise UserError(messages.PT_NOT_YOUR_MENTOR.format(mentor=protected.name_of(roster.people, chosen)))
            if any(item.person == chosen and item.covers(day) for item in roster.leave):
                raise UserError(messages.PT_MENTOR_ON_LEAVE.format(mentor=protected.name_of(roster.people, chosen),
                                                                   day=f"{day:%A %-d %B}"))
            held = await self._active_session(session, student, ref.week)
            if held is not None:
                raise UserError(messages.PT_ALREADY_BOOKED.format(
                    when=self._result(held, False, roster).when(), mentor=protected.name_of(roster.people, held.mentor),
                ))

            minutes = roster.ward.policy.protected_minutes_per_week
            new = NewSession(
                student=student, ward=ref.ward, iso_week=ref.week, state=SessionState.OFFERED, mentor=chosen,
                starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes), decided_by=student,
            )
            stored = await repository.add_session(session, self.organisation, new, now=now)
            if stored is None:
                raise UserError(messages.APOLOGY)
            await self._session_messages(session, stored, roster, now)
        return self._result(stored, True, roster)

    async def answer_suggestion(self, mentor: str, session_id: int, *, accept: bool) -> SessionResult:
        """Accept or turn down a time the student suggested; only the session's mentor may answer."""
        now = self.clock.now()
        async with self.database.transaction() as session:
            found = await repository.find_session(session, self.organisation, session_id)
            if found is None or found.mentor != mentor:
                raise UserError(messages.PT_NOT_YOUR_SESSION)
            roster = await self._roster(session, found.ward, found.iso_week)
            if found.state is not SessionState.OFFERED:
                return self._result(found, False, roster)

            if accept:
                changed = await repository.change_session_state(
                    session, self.organisation, session_id, SessionState.BOOKED, now=now,
                    from_states=(SessionState.OFFERED,), decided_by=mentor,
                )
                if changed is None:
                    raise UserError(messages.PT_WEEK_TAKEN.format(student=protected.name_of(roster.people, found.student)))
                await self._session_messages(session, changed, roster, now)
            else:
                changed = await repository.change_session_state(
                    session, self.organisation, session_id, SessionState.DECLINED, now=now,
                    from_states=(SessionState.OFFERED,), decided_by=mentor,
                    reason=messages.PT_MENTOR_CANNOT.format(mentor=protected.name_of(roster.people, mentor)),
                )
                if changed is None:
                    return self._result(found, False, roster)
        return self._result(changed, True, roster)

    async def decline_week(self, student: str, ref: WeekRef, reason: str) -> SessionResult:
        """Record the student's "not this week" with their reason; a booked week is left as it is."""
        now = self.clock.now()
        text = reason.strip()
        if not text:
            raise UserError(messages.PT_DECLINE_NEEDS_REASON)
        async with self.database.transaction() as session:
            roster = await self._roster(session, ref.ward, ref.week)
            self._require_student(roster, student)
            held = await self._active_session(session, student, ref.week)
            if held is not None:
                raise UserError(messages.PT_ALREADY_BOOKED.format(
                    when=self._result(held, False, roster).when(), mentor=protected.name_of(roster.people, held.mentor),
                ))
            new = NewSession(
                student=student, ward=ref.ward, iso_week=ref.week, state=SessionState.DECLINED,
                reason=text[:500], decided_by=student,
            )
            stored = await repository.add_session(session, self.organisation, new, now=now)
            if stored is None:
                raise UserError(messages.APOLOGY)
        logger.info("Student %s declined protected time in %s.", student, ref.week)
        return self._result(stored, True, roster)

    async def record_meeting(self, person: str, session_id: int, *, met: bool) -> SessionResult:
        """Record a "Did you meet?" answer: Yes from either side confirms, No records not_met.

        No never overrides a Yes, from either side. `changed` is False when the answer changed
        nothing, such as a second Yes.
        """
        now = self.clock.now()
        async with self.database.transaction() as session:
            found = await repository.find_session(session, self.organisation, session_id)
            if found is None or person not in (found.student, found.mentor):
                raise UserError(messages.PT_NOT_YOUR_SESSION)
            if found.state not in (SessionState.BOOKED, SessionState.CONFIRMED, SessionState.NOT_MET):
                raise UserError(messages.PT_NOT_BOOKED)
            roster = await self._roster(session, found.ward, found.iso_week)

            if met:
                changed = await repository.change_session_state(
                    session, self.organisation, session_id, SessionState.CONFIRMED, now=now,
                    from_states=(SessionState.BOOKED, SessionState.NOT_MET), decided_by=person,
                )
            else:
                changed = await repository.change_session_state(
                    session, self.organisation, session_id, SessionState.NOT_MET, now=now,
                    from_states=(SessionState.BOOKED,), decided_by=person,
                )
            if changed is None:
                return self._result(found, False, roster)
            await self._session_messages(session, changed, roster, now)
        logger.info("Person %s recorded that session %d %s.", person, session_id, "took place" if met else "did not")
        return self._result(changed, True, roster)

    async def _active_session(self, session: AsyncSession, student: str, week: str) -> ProtectedSession | None:
        held = await repository.list_sessions(
            session, self.organisation, student=student, iso_weeks=[week], states=ACTIVE_STATES
        )
        return held[0] if held else None

    @staticmethod
    def _require_student(roster: Roster, student: str) -> None:
        person = roster.people.get(student)
        if person is None or not person.is_student:
            raise UserError(messages.PT_STUDENTS_ONLY)

    # Ratings.

    async def rate(self, student: str, ref: RatingRef, score_text: str, comment: str | None) -> bool:
        """Store the student's rating; return False, changing nothing, when they rated this before."""
        score = parse_score(score_text)
        now = self.clock.now()
        async with self.database.transaction() as session:
            person = await repository.find_person(session, self.organisation, student)
            if person is None or not person.is_student:
                raise UserError(messages.RATE_STUDENTS_ONLY)
            if ref.kind is RatingSubject.SESSION:
                found = await repository.find_session(session, self.organisation, protected.decode_session_id(ref.subject_key))
                if found is None or found.student != student or found.state is not SessionState.CONFIRMED:
                    raise UserError(messages.RATE_NOT_YOURS)
            rating = NewRating(
                student=student, ward=ref.ward, subject_kind=ref.kind, subject_key=ref.subject_key, score=score,
                comment=(comment or "").strip()[:2000] or None, mentor=ref.mentor,
            )
            added = await repository.add_rating(session, self.organisation, rating, now=now)
        return added

    async def ratings_summary(self, ward: str) -> tuple[RatingsSummary, dict[str, Person]]:
        """Return the ward's anonymous ratings summary and the people it names."""
        async with self.database.session() as session:
            totals = await repository.rating_totals(session, self.organisation, ward)
            summary = summarise(ward, totals)
            people: dict[str, Person] = {}
            for group in summary.by_mentor:
                person = await repository.find_person(session, self.organisation, group.mentor or "")
                if person is not None:
                    people[person.key] = person
        return summary, people

    # Pauses.

    def today(self) -> date:
        return self.clock.now().astimezone(ZoneInfo(LONDON)).date()

    async def pause(self, person: str, until: date) -> date:
        """Pause personal messages to `person` until the end of `until`; return that date."""
        today = self.today()
        if until < today:
            raise UserError(messages.PAUSE_IN_PAST.format(day=f"{until:%-d %B %Y}"))
        if until > today + MAX_PAUSE:
            raise UserError(messages.PAUSE_TOO_LONG.format(day=f"{until:%-d %B %Y}", days=MAX_PAUSE.days))
        async with self.database.transaction() as session:
            await repository.set_pause(session, self.organisation, person, until)
        logger.info("Paused messages to %s until %s.", person, until.isoformat())
        return until

    async def resume(self, person: str) -> bool:
        async with self.database.transaction() as session:
            cleared = await repository.clear_pause(session, self.organisation, person)
        return cleared

    async def paused_until(self, person: str) -> date | None:
        async with self.database.session() as session:
            return await repository.paused_until(session, self.organisation, person)


def _week_dates(week: str) -> tuple[date, date]:
    """Return the Monday and Sunday of an ISO week written "2026-W10", or raise UserError."""
    try:
        monday = date.fromisocalendar(int(week[:4]), int(week[6:]), 1) if week[4:6] == "-W" else None
    except ValueError:
        monday = None
    if monday is None:
        raise UserError(messages.PT_BAD_WEEK.format(week=week))
    return monday, monday + timedelta(days=6)


DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")


def parse_date(text: str) -> date:
    """Read a date written YYYY-MM-DD or DD/MM/YYYY, or raise UserError naming the text."""
    cleaned = text.strip()
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, pattern).date()
        except ValueError:
            continue
    raise UserError(messages.BAD_DATE.format(text=cleaned))


def parse_time(text: str) -> time:
    """Read a 24-hour time written HH:MM (or H:MM, or HH.MM), or raise UserError naming the text."""
    cleaned = text.strip().replace(".", ":")
    try:
        return datetime.strptime(cleaned, "%H:%M").time()
    except ValueError:
        raise UserError(messages.PT_BAD_TIME.format(text=text.strip())) from None


def parse_score(text: str) -> int:
    cleaned = text.strip()
    if cleaned not in {"1", "2", "3", "4", "5"}:
        raise UserError(messages.RATE_BAD_SCORE.format(text=cleaned))
    return int(cleaned)


def mentor_choices(people: Sequence[Person]) -> list[tuple[str, str]]:
    return [(person.key, person.name) for person in people]
