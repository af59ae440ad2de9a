"""Plan the messages clipbot sends on its own, as outbox messages with stable idempotency keys.

`plan` is pure and deterministic: the same rosters, assignments, sessions and `now` give the same
messages in the same order, so planning again enqueues nothing new. It returns every message due
by `now + horizon` whose `not_after` has not passed, including ones due earlier that a stopped
planner never enqueued. The idempotency keys, before the organisation prefix the service adds:

| key | to | due | not_after |
| --- | --- | --- | --- |
| `coach-post:<ward>:<shift key>` | ward channel | `coach_post_lead` before the shift | shift end |
| `coach-post:<ward>:<shift key>:update:<n>` | ward channel | when the groups change after posting | shift end |
| `pt-offer:<student>:<iso week>` | student | `offer_time` on the week's first working day | week end |
| `pt-nudge:<student>:<iso week>` | student | `nudge_weekday` at `nudge_time`, if nothing is settled | week end |
| `pt-suggestion:<session id>` | mentor | when the student suggested a time | session start |
| `pt-booked:<session id>:<person>` | both | when booked | session end |
| `pt-invite:<session id>:<person>` | both | when booked: the calendar invitation | session end |
| `pt-reminder:<session id>:<person>` | both | `reminder_lead` before the session | session start |
| `pt-check:<session id>:<person>` | both | `check_delay` after the session | that week's digest |
| `rate-shift:<student>:<shift key>` | student | end of a shift with a coach | `rating_window` later |
| `rate-session:<session id>` | student | end of a confirmed session | `rating_window` later |
| `digest:<educator>:<iso week>` | educator | `digest_time` on the next week's first working day | `digest_window` later |

Weeks are ISO weeks in Europe/London time. A reminder that would fall in the ward's quiet hours
is brought forward to `reminder_lead` before those quiet hours begin (the evening before an early
session). The digest is planned only once it is due, so that it reports the finished week.

Every payload is `reply_to_json(reply)` plus keys the senders may read:
- `"workflow"` (WORKFLOW_KEY): the facts the gate needs, such as the ward, the session id, the
  session start and the shift end, as text;
- `"updates"` (UPDATES_KEY), on `coach-post-update` messages only: the idempotency key of the coach
  post whose message they change, with the organisation prefix;
- `"calendar_invite"` (INVITE_KEY), on `pt-invite` messages only: `{"filename": "protected-time.ics",
  "content_type": "text/calendar; method=REQUEST", "base64": <the .ics bytes, base64>}`.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from clipbot.bot.events import Attachment, Reply, Section
from clipbot.bot.handlers import messages
from clipbot.bot.handlers.educator import coach_post
from clipbot.bot.serialise import reply_from_json, reply_to_json
from clipbot.domain.coaching import ShiftPlan, plan_coach_groups
from clipbot.domain.invites import session_invite
from clipbot.domain.people import Person
from clipbot.domain.protected_time import (
    MissedWeek,
    ProtectedTimePolicy,
    WeekOutcome,
    WeekResult,
    first_working_day,
    iso_week_key,
    midweek_nudge_time,
    propose_slots,
    week_end,
    week_of,
    weekly_digest,
)
from clipbot.domain.roles import Role, RoleAssignment
from clipbot.domain.roster import Roster
from clipbot.domain.timing import local_instant, next_send_time, ward_zone
from clipbot.storage.outbox import NewMessage, RecipientKind
from clipbot.storage.workflows import ProtectedSession, RatingSubject, SessionState
from clipbot.workflows import protected
from clipbot.workflows.ratings import RatingRef, request_reply, shift_subject

logger = logging.getLogger(__name__)

COACH_POST = "coach-post"
COACH_UPDATE = "coach-post-update"
OFFER = "pt-offer"
NUDGE = "pt-nudge"
SUGGESTION = "pt-suggestion"
BOOKED = "pt-booked"
# The calendar invitation travels apart from the booking, so that each can be retried on its own.
INVITE = "pt-invite"
REMINDER = "pt-reminder"
CHECK = "pt-check"
RATE_SHIFT = "rate-shift"
RATE_SESSION = "rate-session"
DIGEST = "digest"
# Not planned here: the routing sender enqueues it to tell educators that a person cannot be reached.
DELIVERY_PROBLEM = "delivery-problem"

WORKFLOW_KEY = "workflow"
INVITE_KEY = "calendar_invite"
UPDATES_KEY = "updates"
# The workflow fact that numbers the versions of a coach post: 1 is the post, 2 its first update.
VERSION_FACT = "version"
INVITE_FILENAME = "protected-time.ics"
INVITE_CONTENT_TYPE = "text/calendar; method=REQUEST"

# More slots than any week can hold, so that propose_slots returns them all and the nudge can
# choose among those still ahead of it.
ALL_SLOTS = 1000


@dataclass(frozen=True, slots=True)
class PlannerSettings:
    """When each kind of message is due. Times of day are local to the ward."""

    coach_post_lead: timedelta = timedelta(minutes=30)
    offer_time: time = time(9, 0)
    nudge: ProtectedTimePolicy = field(default_factory=ProtectedTimePolicy)
    reminder_lead: timedelta = timedelta(hours=1)
    check_delay: timedelta = timedelta(minutes=30)
    rating_window: timedelta = timedelta(days=2)
    digest_time: time = time(9, 0)
    digest_window: timedelta = timedelta(days=7)
    nation: str = "England"
    slots_offered: int = 3

    def __post_init__(self) -> None:
        for name in ("coach_post_lead", "reminder_lead", "check_delay", "rating_window", "digest_window"):
            value = getattr(self, name)
            if value < timedelta(0):
                raise ValueError(f"The planner setting {name} is {value}, which is negative. Give 0 or more.")
        if self.slots_offered < 1:
            raise ValueError(f"The planner setting slots_offered is {self.slots_offered}. Offer at least 1 slot.")


def plan(
    roster: Roster | Sequence[Roster],
    assignments: Iterable[RoleAssignment],
    now: datetime,
    horizon: timedelta,
    *,
    sessions: Iterable[ProtectedSession] = (),
    settings: PlannerSettings | None = None,
) -> list[NewMessage]:
    """Return the messages due by `now + horizon` and still worth sending, ordered by due time and key.

    `roster` is one ward's roster or several; a clinical educator of several wards still gets one
    digest a week. `assignments` are the confirmed role assignments (a roster's own `assignments`
    will do), and `sessions` the stored protected-time sessions of the weeks around `now`.
    """
    if now.tzinfo is None or horizon < timedelta(0):
        raise ValueError(f"plan needs an aware now and a horizon of 0 or more, got {now!r} and {horizon}.")
    chosen = settings or PlannerSettings()
    rosters = [roster] if isinstance(roster, Roster) else list(roster)
    assigned = list(assignments)
    stored = list(sessions)

    found: list[NewMessage] = []
    for ward_roster in rosters:
        found += coach_messages(ward_roster, assigned, now, horizon, chosen)
        found += week_messages(ward_roster, assigned, stored, now, horizon, chosen)
        for session in stored:
            if session.ward == ward_roster.ward.key:
                found += session_messages(session, ward_roster, chosen)
    found += digest_messages(rosters, assigned, stored, now, chosen)

    now_utc = now.astimezone(UTC)
    latest = now_utc + horizon
    wanted = [
        message for message in found
        if message.due_at <= latest and (message.not_after is None or message.not_after > now_utc)
    ]
    return sorted(wanted, key=lambda message: (message.due_at, message.idempotency_key))


def _message(
    key: str, kind: str, recipient: str, reply: Reply, due: datetime, not_after: datetime,
    facts: Mapping[str, str], *, ward: bool = False, extra: Mapping[str, Any] | None = None,
) -> NewMessage:
    # Times are kept in UTC, where comparing and adding never depend on the clock changes.
    due = due.astimezone(UTC)
    not_after = not_after.astimezone(UTC)
    payload: dict[str, Any] = reply_to_json(reply)
    payload[WORKFLOW_KEY] = dict(facts)
    if extra:
        payload.update(extra)
    return NewMessage(
        idempotency_key=key,
        kind=kind,
        recipient_kind=RecipientKind.WARD if ward else RecipientKind.PERSON,
        recipient=recipient,
        payload=payload,
        due_at=due,
        not_after=max(not_after, due),
    )


def _current_mentor(assignments: Sequence[RoleAssignment], role: Role, day: date) -> dict[str, str]:
    """Map each student to their mentor in `role` on `day`, or else the latest one before it."""
    found: dict[str, str] = {}
    for assignment in sorted(assignments, key=lambda item: (item.start, item.person)):
        if assignment.role is role and assignment.student and assignment.start <= day:
            found[assignment.student] = assignment.person
    return found


def coach_messages(
    roster: Roster, assignments: Sequence[RoleAssignment], now: datetime, horizon: timedelta, settings: PlannerSettings
) -> list[NewMessage]:
    """Plan each shift's coach post to the ward channel and, after it, a rating request per coached student."""
    zone = ward_zone(roster.ward.policy)
    last_day = (now + horizon).astimezone(zone).date() + timedelta(days=1)
    today = now.astimezone(zone).date()
    plans = plan_coach_groups(
        roster,
        named_supervisors=_current_mentor(assignments, Role.NAMED_PRACTICE_SUPERVISOR, today),
        assessors=_current_mentor(assignments, Role.PRACTICE_ASSESSOR, today),
        end=last_day,
    )

    found: list[NewMessage] = []
    for shift_plan in plans:
        shift = shift_plan.shift
        if shift.ends_at.astimezone(UTC) <= now.astimezone(UTC) - settings.rating_window:
            continue
        facts = {
            "ward": roster.ward.key,
            "shift": shift.key,
            "shift_start": shift.starts_at.astimezone(UTC).isoformat(),
            "shift_end": shift.ends_at.astimezone(UTC).isoformat(),
        }
        found.append(_message(
            f"{COACH_POST}:{roster.ward.key}:{shift.key}", COACH_POST, roster.ward.key,
            coach_post(shift_plan, roster.people), shift.starts_at.astimezone(UTC) - settings.coach_post_lead,
            shift.ends_at, facts, ward=True,
        ))
        found += _shift_rating_messages(shift_plan, roster, facts, settings)
    return found


def calendar_invite(payload: Mapping[str, object]) -> Attachment | None:
    """Decode the calendar invitation (INVITE_KEY) of an outbox payload, or return None when it has none.

    An entry that is not in the planner's shape, or is empty, is logged and left out, so that the
    message itself can still be sent.
    """
    entry = payload.get(INVITE_KEY)
    if entry is None:
        return None
    if not isinstance(entry, Mapping) or not isinstance(entry.get("base64"), str):
        logger.warning("Left out a calendar invitation whose payload entry has no base64 text.")
        return None
    try:
        content = base64.b64decode(entry["base64"], validate=True)
    except binascii.Error:
        logger.warning("Left out a calendar invitation whose base64 text is invalid.")
        return None
    if not content:
        logger.warning("Left out a calendar invitation that is empty.")
        return None
    filename = entry.get("filename")
    return Attachment(filename if isinstance(filename, str) and filename else INVITE_FILENAME, content)


def coach_post_update(post: NewMessage, version: int, now: datetime) -> NewMessage:
    """Return the message that changes an already sent coach post to `post`'s groups.

    `post` is the coach post as planned now, with its stored idempotency key. `version` is 2 for the
    first change, 3 for the next, and so on. The update is due at `now` and stale when the post is.
    """
    if post.kind != COACH_POST or version < 2:
        raise ValueError(f"coach_post_update needs a coach post and a version of 2 or more, got {post.kind} and {version}.")
    payload = dict(post.payload)
    payload[WORKFLOW_KEY] = {**payload.get(WORKFLOW_KEY, {}), VERSION_FACT: str(version)}
    payload[UPDATES_KEY] = post.idempotency_key
    due = now.astimezone(UTC)
    return replace(
        post,
        idempotency_key=f"{post.idempotency_key}:update:{version}",
        kind=COACH_UPDATE,
        payload=payload,
        due_at=due,
        not_after=max(post.not_after or due, due),
    )


def withdrawn_coach_post(post: NewMessage) -> NewMessage:
    """Return `post` changed to say that its shift no longer has students, keeping its heading and facts."""
    reply = reply_from_json(post.payload)
    withdrawn = Reply(reply.text, sections=(Section(messages.COACH_POST_NO_STUDENTS),))
    payload: dict[str, Any] = reply_to_json(withdrawn)
    payload[WORKFLOW_KEY] = dict(post.payload.get(WORKFLOW_KEY) or {})
    return replace(post, payload=payload)


def version_of(payload: Mapping[str, Any]) -> int:
    """Return which version of a coach post a payload holds: 1 for the post itself."""
    facts = payload.get(WORKFLOW_KEY)
    text = facts.get(VERSION_FACT, "1") if isinstance(facts, Mapping) else "1"
    return int(text) if str(text).isdigit() else 1


def same_content(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """Tell whether two payloads show the recipient the same message, whatever their workflow facts."""
    hidden = (WORKFLOW_KEY, UPDATES_KEY)
    return {key: value for key, value in first.items() if key not in hidden} == {
        key: value for key, value in second.items() if key not in hidden
    }


def _shift_rating_messages(
    shift_plan: ShiftPlan, roster: Roster, facts: Mapping[str, str], settings: PlannerSettings
) -> list[NewMessage]:
    shift = shift_plan.shift
    found: list[NewMessage] = []
    for group in shift_plan.groups:
        coach = protected.name_of(roster.people, group.coach)
        for student in group.students:
            ref = RatingRef(RatingSubject.SHIFT, roster.ward.key, shift_subject(roster.ward.key, shift.key), group.coach)
            text = messages.RATE_SHIFT.format(shift=shift.label(), coach=coach)
            found.append(_message(
                f"{RATE_SHIFT}:{student}:{shift.key}", RATE_SHIFT, student, request_reply(ref, text),
                shift.ends_at, shift.ends_at.astimezone(UTC) + settings.rating_window, {**facts, "student": student},
            ))
    return found


def _weeks(now: datetime, horizon: timedelta) -> list[date]:
    """Return the Mondays from the week before `now` to the week containing `now + horizon`."""
    first = week_of(now)[0] - timedelta(days=7)
    last = week_of(now + horizon)[0]
    return [first + timedelta(days=7 * index) for index in range((last - first).days // 7 + 1)]


@dataclass(frozen=True, slots=True)
class StudentWeek:
    """A student placed on the ward in a given week and not on leave for all of it, with their mentors.

    `first_day` and `last_day` are the days of the week that the placement covers.
    """

    student: str
    monday: date
    first_day: date
    last_day: date
    mentors: tuple[str, ...]


def students_of_week(roster: Roster, assignments: Sequence[RoleAssignment], monday: date) -> list[StudentWeek]:
    """Return the students expected on the ward that week, each with their mentors, by student key."""
    sunday = monday + timedelta(days=6)
    found: dict[str, StudentWeek] = {}
    # A trust's assignments run to thousands; each ward needs only those of its own students.
    assignments = [item for item in assignments if item.student in roster.people]
    for placement in sorted(roster.placements, key=lambda item: (item.student, item.start)):
        if placement.ward != roster.ward.key or placement.student not in roster.people or placement.student in found:
            continue
        first = max(monday, placement.start)
        last = min(sunday, placement.end)
        if first > last:
            continue
        days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
        leave = [item for item in roster.leave if item.person == placement.student]
        if all(any(item.covers(day) for item in leave) for day in days):
            continue
        mentors = protected.mentors_of(assignments, placement.student, first, last)
        found[placement.student] = StudentWeek(placement.student, monday, first, last, tuple(mentors))
    return [found[key] for key in sorted(found)]


def week_messages(
    roster: Roster,
    assignments: Sequence[RoleAssignment],
    sessions: Sequence[ProtectedSession],
    now: datetime,
    horizon: timedelta,
    settings: PlannerSettings,
) -> list[NewMessage]:
    """Plan each student's weekly protected-time offer and, unless the week is settled, the nudge."""
    zone = ward_zone(roster.ward.policy)
    minutes = roster.ward.policy.protected_minutes_per_week
    nudge_policy = replace(settings.nudge, timezone=roster.ward.policy.timezone)
    found: list[NewMessage] = []
    for monday in _weeks(now, horizon):
        week = iso_week_key(monday)
        closes = week_end(monday, roster.ward.policy.timezone)
        for expected in students_of_week(roster, assignments, monday):
            if not expected.mentors:
                continue
            ref = protected.WeekRef(roster.ward.key, week)
            facts = {"ward": roster.ward.key, "student": expected.student, "week": week}
            slots = propose_slots(roster, expected.student, list(expected.mentors), monday, limit=ALL_SLOTS)

            offer_due = _offer_time(expected, settings, zone)
            offered = protected.slots_after(slots, offer_due, settings.slots_offered)
            found.append(_message(
                f"{OFFER}:{expected.student}:{week}", OFFER, expected.student,
                protected.offer_reply(ref, monday, offered, roster.people, zone, minutes=minutes, nudge=False),
                offer_due, closes, facts,
            ))

            nudge_due = midweek_nudge_time(monday, nudge_policy)
            week_sessions = [item for item in sessions if item.iso_week == week and item.student == expected.student]
            if nudge_due <= offer_due or protected.week_is_settled(week_sessions, expected.student):
                continue
            remaining = protected.slots_after(slots, nudge_due, settings.slots_offered)
            found.append(_message(
                f"{NUDGE}:{expected.student}:{week}", NUDGE, expected.student,
                protected.offer_reply(ref, monday, remaining, roster.people, zone, minutes=minutes, nudge=True),
                nudge_due, closes, facts,
            ))
    return found


def _offer_time(expected: StudentWeek, settings: PlannerSettings, zone: ZoneInfo) -> datetime:
    """Return the offer's due time: the week's first working day, or the placement's first working day."""
    day = first_working_day(expected.monday, settings.nation)
    if expected.first_day > day:
        day = expected.first_day
        while day < expected.last_day and day.weekday() >= 5:
            day += timedelta(days=1)
    return datetime.combine(day, settings.offer_time, tzinfo=zone)


def _reminder_time(start: datetime, roster: Roster, settings: PlannerSettings) -> datetime:
    """Return `reminder_lead` before the session, or before the quiet hours that moment falls in."""
    policy = roster.ward.policy
    zone = ward_zone(policy)
    due = start.astimezone(UTC) - settings.reminder_lead
    # Checked on an empty roster, so that only the ward's quiet hours count, not any one person's sleep.
    free = next_send_time("", due, roster=Roster(ward=roster.ward), policy=policy)
    if free is None or free.astimezone(UTC) == due.astimezone(UTC):
        return due
    local_day = due.astimezone(zone).date()
    quiet_starts = [
        local_instant(day, policy.quiet_hours_start, zone) for day in (local_day - timedelta(days=1), local_day)
    ]
    began = max(moment for moment in quiet_starts if moment <= due.astimezone(UTC))
    return began - settings.reminder_lead


def _digest_due(monday: date, settings: PlannerSettings, zone: ZoneInfo) -> datetime:
    """Return when the digest of the week starting `monday` is due: the next week's first working day."""
    return datetime.combine(first_working_day(monday + timedelta(days=7), settings.nation), settings.digest_time, tzinfo=zone)


def session_messages(session: ProtectedSession, roster: Roster, settings: PlannerSettings) -> list[NewMessage]:
    """Plan the messages about one stored session: suggestion, booking, reminders, checks and rating."""
    zone = ward_zone(roster.ward.policy)
    people = roster.people
    if session.starts_at is None or session.ends_at is None or session.mentor is None:
        return []
    facts = {
        "ward": session.ward,
        "student": session.student,
        "week": session.iso_week,
        "session": str(session.id),
        "session_start": session.starts_at.astimezone(UTC).isoformat(),
        "session_end": session.ends_at.astimezone(UTC).isoformat(),
    }

    if session.state is SessionState.OFFERED:
        return [_message(
            f"{SUGGESTION}:{session.id}", SUGGESTION, session.mentor,
            protected.suggestion_reply(session, people, zone), session.created_at, session.starts_at, facts,
        )]
    if session.state not in (SessionState.BOOKED, SessionState.CONFIRMED, SessionState.NOT_MET):
        return []

    booked_at = session.updated_at if session.state is SessionState.BOOKED else session.created_at
    reminder_due = _reminder_time(session.starts_at, roster, settings)
    check_due = session.ends_at.astimezone(UTC) + settings.check_delay
    monday = week_of(session.starts_at)[0]
    invite = _invite(session, roster, booked_at)

    found: list[NewMessage] = []
    for person, to_mentor in ((session.student, False), (session.mentor, True)):
        # Sent until the session ends, so that a booking made just before the session, or held by
        # quiet hours past its start, still reaches both people.
        found.append(_message(
            f"{BOOKED}:{session.id}:{person}", BOOKED, person,
            protected.booked_reply(session, people, zone, to_mentor=to_mentor), booked_at, session.ends_at, facts,
        ))
        if invite is not None:
            found.append(_message(
                f"{INVITE}:{session.id}:{person}", INVITE, person,
                Reply(messages.PT_INVITE.format(when=protected.describe_time(session.starts_at, session.ends_at, zone))),
                booked_at, session.ends_at, facts, extra=invite,
            ))
        if booked_at < reminder_due < session.starts_at:
            found.append(_message(
                f"{REMINDER}:{session.id}:{person}", REMINDER, person,
                protected.reminder_reply(session, people, zone, to_mentor=to_mentor), reminder_due,
                session.starts_at, facts,
            ))
        found.append(_message(
            f"{CHECK}:{session.id}:{person}", CHECK, person,
            protected.check_reply(session, people, zone, to_mentor=to_mentor), check_due,
            _digest_due(monday, settings, zone), facts,
        ))

    if session.state is SessionState.CONFIRMED:
        rate_due = max(session.ends_at, session.updated_at)
        ref = RatingRef(RatingSubject.SESSION, session.ward, str(session.id), session.mentor)
        text = messages.RATE_SESSION.format(
            mentor=protected.name_of(people, session.mentor),
            when=protected.describe_time(session.starts_at, session.ends_at, zone),
        )
        found.append(_message(
            f"{RATE_SESSION}:{session.id}", RATE_SESSION, session.student, request_reply(ref, text),
            rate_due, rate_due.astimezone(UTC) + settings.rating_window, facts,
        ))
    return found


def _invite(session: ProtectedSession, roster: Roster, booked_at: datetime) -> dict[str, Any] | None:
    """Build the calendar invitation payload entry, or None when the student or mentor is not on the roster."""
    zone = ward_zone(roster.ward.policy)
    slot = protected.session_slot(session, zone)
    student = roster.people.get(session.student)
    mentor = roster.people.get(session.mentor or "")
    if slot is None or student is None or mentor is None:
        return None
    ics = session_invite(
        slot, student=student, mentor=mentor, ward_name=roster.ward.name,
        uid=f"clipbot-protected-time-{session.id}", now=booked_at, timezone=roster.ward.policy.timezone,
    )
    return {INVITE_KEY: {
        "filename": INVITE_FILENAME,
        "content_type": INVITE_CONTENT_TYPE,
        "base64": base64.b64encode(ics).decode("ascii"),
    }}


def _educators(assignments: Sequence[RoleAssignment], ward: str, monday: date) -> list[str]:
    sunday = monday + timedelta(days=6)
    return sorted({
        item.person for item in assignments
        if item.role is Role.CLINICAL_EDUCATOR and item.ward == ward and item.start <= sunday and monday <= item.end
    })


def week_outcomes(
    roster: Roster, assignments: Sequence[RoleAssignment], sessions: Sequence[ProtectedSession], monday: date,
) -> tuple[list[WeekOutcome], list[tuple[str, MissedWeek]]]:
    """Return each expected student's outcomes for the week, per educator, and the unmatched students.

    A student's week starts as NO_SHARED_SHIFT or NO_REPLY and is then decided by their
    sessions in the order they changed. Students with no practice assessor or named supervisor
    come back separately as (educator, miss) pairs.
    """
    zone = ward_zone(roster.ward.policy)
    week = iso_week_key(monday)
    outcomes: list[WeekOutcome] = []
    unmatched: list[tuple[str, MissedWeek]] = []
    for educator in _educators(assignments, roster.ward.key, monday):
        for expected in students_of_week(roster, assignments, monday):
            if not expected.mentors:
                unmatched.append((educator, MissedWeek(expected.student, week, messages.DIGEST_NO_MENTOR)))
                continue
            shared = propose_slots(roster, expected.student, list(expected.mentors), monday, limit=1)
            start = WeekResult.NO_REPLY if shared else WeekResult.NO_SHARED_SHIFT
            outcomes.append(WeekOutcome(expected.student, educator, monday, start))
            own = [item for item in sessions if item.iso_week == week and item.student == expected.student]
            outcomes += protected.session_outcomes(own, educator, monday, zone)
    return outcomes, unmatched


def digest_messages(
    rosters: Sequence[Roster],
    assignments: Sequence[RoleAssignment],
    sessions: Sequence[ProtectedSession],
    now: datetime,
    settings: PlannerSettings,
) -> list[NewMessage]:
    """Plan one digest per clinical educator for each finished week whose digest is due and not stale.

    An educator of several wards gets one digest covering all of them, and an educator whose
    students all met gets a short one saying so. Wards with no students that week are left out.
    """
    found: list[NewMessage] = []
    this_monday = week_of(now)[0]
    for monday in (this_monday - timedelta(days=14), this_monday - timedelta(days=7)):
        week = iso_week_key(monday)
        due = min(
            (_digest_due(monday, settings, ward_zone(roster.ward.policy)).astimezone(UTC) for roster in rosters),
            default=None,
        )
        if due is None or not due <= now.astimezone(UTC) < due + settings.digest_window:
            continue

        outcomes: list[WeekOutcome] = []
        unmatched: dict[str, list[MissedWeek]] = defaultdict(list)
        wards_of: dict[str, set[str]] = defaultdict(set)
        ward_name_of: dict[str, str] = {}
        for roster in rosters:
            expected_students = students_of_week(roster, assignments, monday)
            if not expected_students:
                continue
            for educator in _educators(assignments, roster.ward.key, monday):
                wards_of[educator].add(roster.ward.key)
            for expected in expected_students:
                ward_name_of[expected.student] = roster.ward.name
            ward_outcomes, ward_unmatched = week_outcomes(roster, assignments, sessions, monday)
            outcomes += ward_outcomes
            for educator, miss in ward_unmatched:
                unmatched[educator].append(miss)

        grouped = weekly_digest(outcomes)
        people = {key: person for roster in rosters for key, person in roster.people.items()}
        for educator in sorted(wards_of):
            missed = grouped.get(educator, []) + unmatched.get(educator, [])
            entries = [(ward_name_of.get(miss.student, ""), miss) for miss in missed]
            facts = {"ward": sorted(wards_of[educator])[0], "week": week}
            found.append(_message(
                f"{DIGEST}:{educator}:{week}", DIGEST, educator, digest_reply(entries, people, monday), due,
                due + settings.digest_window, facts,
            ))
    return found


def digest_reply(entries: Sequence[tuple[str, MissedWeek]], people: Mapping[str, Person], monday: date) -> Reply:
    """Build an educator's digest: one line per student who missed protected time, with the reason."""
    week = f"{monday:%-d %B}"
    if not entries:
        return Reply(messages.DIGEST_ALL_MET.format(week=week))
    lines = [
        messages.DIGEST_LINE.format(student=protected.name_of(people, miss.student), ward=ward, reason=miss.reason)
        for ward, miss in sorted(entries, key=lambda item: (item[0], protected.name_of(people, item[1].student)))
    ]
    return Reply(messages.DIGEST_HEADLINE.format(count=len(entries), week=week), sections=(Section("\n".join(lines)),))
