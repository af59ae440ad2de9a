"""The outbox gate for planned messages: send now, wait, or drop, decided just before sending.

A message to a person waits for `next_send_time`: quiet hours, the sleep after a night shift, a
pause and leave. It is dropped when it could only arrive after its `not_after`, when
`still_worth_sending` returns False (a reminder for a session that has started), or when the
workflow has moved on: a nudge or offer for a week already booked or declined, a "Did you meet?"
already answered Yes, a rating request already answered. A coach post goes to the ward channel,
so quiet hours do not apply, and it is dropped once its shift has ended.

A message sent more than `late_after` after it could first have gone (after downtime, say) is
logged at INFO. `dropped` and `late` count both by message kind. Messages of kinds that the planner
does not make are sent as they are.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from clipbot.domain.protected_time import LONDON
from clipbot.domain.roster import Roster
from clipbot.domain.shifts import Shift
from clipbot.domain.timing import MessageKind, next_send_time, still_worth_sending
from clipbot.domain.ward import LearningEnvironment
from clipbot.outbox.dispatcher import SEND, Defer, Drop, GateDecision
from clipbot.storage import repository
from clipbot.storage.database import Database
from clipbot.storage.outbox import ClaimedMessage, RecipientKind
from clipbot.storage.workflows import ACTIVE_STATES, RatingSubject, SessionState
from clipbot.workflows import planner, protected
from clipbot.workflows.ratings import shift_subject

logger = logging.getLogger(__name__)

# The `still_worth_sending` kind of each planned kind. A booking message and a suggestion count as
# session reminders, because like a reminder they are stale once the session starts.
TIMING_KINDS: Mapping[str, MessageKind] = {
    planner.COACH_POST: MessageKind.COACH_POST,
    planner.COACH_UPDATE: MessageKind.COACH_POST,
    planner.OFFER: MessageKind.PROTECTED_TIME_NUDGE,
    planner.NUDGE: MessageKind.PROTECTED_TIME_NUDGE,
    planner.SUGGESTION: MessageKind.SESSION_REMINDER,
    planner.BOOKED: MessageKind.SESSION_REMINDER,
    planner.INVITE: MessageKind.SESSION_REMINDER,
    planner.REMINDER: MessageKind.SESSION_REMINDER,
    planner.CHECK: MessageKind.PROTECTED_TIME_NUDGE,
    planner.RATE_SHIFT: MessageKind.RATING_FORM,
    planner.RATE_SESSION: MessageKind.RATING_FORM,
    planner.DIGEST: MessageKind.EDUCATOR_DIGEST,
    planner.DELIVERY_PROBLEM: MessageKind.EDUCATOR_DIGEST,
}

# Rosters are loaded from this many days before the day a message is checked, to see the night
# shift someone may be sleeping after, to this many days after, to see leave that delays it.
ROSTER_DAYS_BEFORE = 2
ROSTER_DAYS_AFTER = 14


@dataclass(frozen=True, slots=True)
class _Cached:
    roster: Roster
    loaded_at: datetime


class WorkflowGate:
    """A `Gate` for the dispatcher, serving every organisation in the database.

    Rosters are cached per organisation and ward for `cache_for`, so one batch loads each once.
    """

    def __init__(
        self,
        database: Database,
        *,
        late_after: timedelta = timedelta(minutes=15),
        cache_for: timedelta = timedelta(minutes=1),
    ) -> None:
        self.database = database
        self.late_after = late_after
        self.cache_for = cache_for
        self.dropped: Counter[str] = Counter()
        self.late: Counter[str] = Counter()
        self._rosters: dict[tuple[str, str], _Cached] = {}

    async def check(self, message: ClaimedMessage, now: datetime) -> GateDecision:
        kind = TIMING_KINDS.get(message.kind)
        if kind is None:
            return SEND
        facts = _facts(message)
        if message.recipient_kind is RecipientKind.WARD:
            return self._check_ward_post(message, kind, facts, now)

        async with self.database.session() as session:
            reason = await self._workflow_moved_on(session, message, facts)
            if reason is not None:
                return self._drop(message, reason)
            roster = await self._roster(session, message.organisation, facts.get("ward", ""), now)
            paused = await repository.paused_until(session, message.organisation, message.recipient)

        policy = roster.ward.policy
        when = next_send_time(
            message.recipient, now, roster=roster, policy=policy, paused_until=paused, give_up=message.not_after
        )
        if when is None:
            return self._drop(message, "the recipient cannot be reached before not_after (quiet hours, sleep, pause or leave)")
        if when.astimezone(UTC) > now.astimezone(UTC):
            return Defer(when)
        if not _worth_sending(kind, message, facts, now):
            return self._drop(message, "no longer worth sending")

        first_chance = next_send_time(message.recipient, message.due_at, roster=roster, policy=policy, paused_until=paused)
        self._note_lateness(message, first_chance or message.due_at, now)
        return SEND

    def _check_ward_post(
        self, message: ClaimedMessage, kind: MessageKind, facts: Mapping[str, str], now: datetime
    ) -> GateDecision:
        if not _worth_sending(kind, message, facts, now):
            return self._drop(message, "its shift has ended")
        self._note_lateness(message, message.due_at, now)
        return SEND

    def _drop(self, message: ClaimedMessage, reason: str) -> Drop:
        self.dropped[message.kind] += 1
        logger.info("Gate dropped outbox message %d (%s): %s.", message.id, message.kind, reason)
        return Drop(reason)

    def _note_lateness(self, message: ClaimedMessage, first_chance: datetime, now: datetime) -> None:
        delay = now - first_chance
        if delay > self.late_after:
            self.late[message.kind] += 1
            logger.info(
                "Sending outbox message %d (%s) %d minutes after it could first have been sent.",
                message.id, message.kind, delay // timedelta(minutes=1),
            )

    async def _workflow_moved_on(
        self, session: AsyncSession, message: ClaimedMessage, facts: Mapping[str, str]
    ) -> str | None:
        """Return why the message no longer fits the stored state of its workflow, or None if it still does."""
        organisation = message.organisation
        if message.kind in (planner.OFFER, planner.NUDGE):
            sessions = await repository.list_sessions(
                session, organisation, student=message.recipient, iso_weeks=[facts.get("week", "")]
            )
            return "the week is already booked or declined" if protected.week_is_settled(sessions, message.recipient) else None

        if message.kind == planner.RATE_SHIFT:
            subject = shift_subject(facts.get("ward", ""), facts.get("shift", ""))
            rated = await repository.has_rated(session, organisation, message.recipient, RatingSubject.SHIFT, subject)
            return "the shift is already rated" if rated else None

        session_id = facts.get("session", "")
        if not session_id.isdigit():
            return None
        found = await repository.find_session(session, organisation, int(session_id))
        if found is None:
            return "its session no longer exists"
        if message.kind == planner.SUGGESTION and found.state is not SessionState.OFFERED:
            return "the suggestion has been answered"
        if message.kind in (planner.BOOKED, planner.INVITE, planner.REMINDER) and found.state not in ACTIVE_STATES:
            return f"the session is {found.state.value}"
        if message.kind == planner.CHECK:
            if found.state is SessionState.CONFIRMED:
                return "someone already answered that they met"
            if found.state is SessionState.NOT_MET and found.decided_by == message.recipient:
                return "the recipient already answered"
        if message.kind == planner.RATE_SESSION:
            rated = await repository.has_rated(session, organisation, message.recipient, RatingSubject.SESSION, session_id)
            return "the session is already rated" if rated else None
        return None

    async def _roster(self, session: AsyncSession, organisation: str, ward: str, now: datetime) -> Roster:
        """Return the ward's roster around `now`, from the cache when fresh; an unknown ward gives an empty roster."""
        cached = self._rosters.get((organisation, ward))
        if cached is not None and timedelta(0) <= now - cached.loaded_at < self.cache_for:
            return cached.roster
        today = now.astimezone(ZoneInfo(LONDON)).date()
        try:
            roster = await repository.load_roster(
                session, organisation, ward,
                start=today - timedelta(days=ROSTER_DAYS_BEFORE), end=today + timedelta(days=ROSTER_DAYS_AFTER),
            )
        except repository.NotFoundError:
            # NOTE: with no ward, only the default quiet hours apply; leave and night shifts are unknown.
            roster = Roster(ward=LearningEnvironment(ward or "unknown", ward or "unknown"))
        self._rosters[(organisation, ward)] = _Cached(roster, now)
        return roster


def _facts(message: ClaimedMessage) -> dict[str, str]:
    raw = message.payload.get(planner.WORKFLOW_KEY)
    if not isinstance(raw, Mapping):
        return {}
    return {str(key): str(value) for key, value in raw.items()}


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _worth_sending(kind: MessageKind, message: ClaimedMessage, facts: Mapping[str, str], now: datetime) -> bool:
    """Apply `still_worth_sending`; a message missing the fact its kind needs is sent rather than lost."""
    if kind is MessageKind.COACH_POST:
        starts, ends = _moment(facts.get("shift_start")), _moment(facts.get("shift_end"))
        if starts is None or ends is None:
            return True
        shift = Shift(ward=facts.get("ward", ""), day=starts.date(), type=facts.get("shift", ""), starts_at=starts, ends_at=ends)
        return still_worth_sending(kind, message.due_at, now, shift=shift)
    if kind is MessageKind.SESSION_REMINDER:
        # A booking and its invitation are still news while the session runs; a reminder is not.
        cutoff = "session_end" if message.kind in (planner.BOOKED, planner.INVITE) else "session_start"
        starts = _moment(facts.get(cutoff))
        if starts is None:
            return True
        return still_worth_sending(kind, message.due_at, now, session_start=starts)
    return still_worth_sending(kind, message.due_at, now)

