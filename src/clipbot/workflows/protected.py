"""Protected learning time: the offer and its buttons, the messages about a session, and week outcomes.

Pure functions over domain values and stored sessions. Button values and form contexts carry
references as text fields joined by "|", so that a press can be handled by any replica without
server-side state. `decode_*` raise ValueError for a value that clipbot did not make.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from clipbot.bot.events import Button, ButtonStyle, Form, FormInput, Reply, Section
from clipbot.bot.handlers import messages
from clipbot.domain.people import Person
from clipbot.domain.protected_time import Slot, WeekOutcome, WeekResult
from clipbot.domain.roles import Role, RoleAssignment
from clipbot.storage.workflows import ProtectedSession, SessionState

BOOK = "pt.book"
SUGGEST = "pt.suggest"
SUGGEST_FORM = "pt.suggest.submit"
DECLINE = "pt.decline"
DECLINE_FORM = "pt.decline.submit"
ACCEPT = "pt.accept"
REJECT = "pt.reject"
MET = "pt.met"

MENTOR_ROLES = (Role.PRACTICE_ASSESSOR, Role.NAMED_PRACTICE_SUPERVISOR)
SEPARATOR = "|"


@dataclass(frozen=True, slots=True)
class WeekRef:
    """A student's protected-time week on one ward, as carried by the offer's buttons."""

    ward: str
    week: str

    def encode(self) -> str:
        return SEPARATOR.join((self.ward, self.week))


@dataclass(frozen=True, slots=True)
class SlotChoice:
    """A slot offered on a Book button: the week it belongs to and the slot itself."""

    ward: str
    week: str
    slot: Slot

    def encode(self) -> str:
        slot = self.slot
        return SEPARATOR.join((
            self.ward, self.week, slot.mentor,
            slot.start.astimezone(UTC).isoformat(), slot.end.astimezone(UTC).isoformat(), slot.shift_key,
        ))


def decode_week(text: str) -> WeekRef:
    parts = text.split(SEPARATOR)
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"{text!r} is not a protected-time week reference of the form 'ward|2026-W10'.")
    return WeekRef(parts[0], parts[1])


def decode_slot(text: str) -> SlotChoice:
    parts = text.split(SEPARATOR)
    if len(parts) != 6 or not all(parts):
        raise ValueError(f"{text!r} is not a protected-time slot reference made by clipbot.")
    ward, week, mentor, start, end, shift_key = parts
    try:
        starts_at = datetime.fromisoformat(start)
        ends_at = datetime.fromisoformat(end)
    except ValueError:
        raise ValueError(f"{text!r} has a slot time that is not an ISO 8601 time.") from None
    if starts_at.tzinfo is None or ends_at.tzinfo is None or ends_at <= starts_at:
        raise ValueError(f"{text!r} has slot times without a zone, or an end before the start.")
    return SlotChoice(ward, week, Slot(starts_at, ends_at, mentor, shift_key))


def decode_session_answer(text: str) -> tuple[int, str]:
    """Split "<session id>|<answer>" into the id and the answer text."""
    head, _, answer = text.partition(SEPARATOR)
    if not head.isdigit() or not answer:
        raise ValueError(f"{text!r} is not a session answer of the form '12|yes'.")
    return int(head), answer


def decode_session_id(text: str) -> int:
    if not text.isdigit():
        raise ValueError(f"{text!r} is not a session id.")
    return int(text)


def mentors_of(assignments: Iterable[RoleAssignment], student: str, first: date, last: date) -> list[str]:
    """Return the student's practice assessors, then named supervisors, whose dates overlap first..last."""
    found: list[str] = []
    own = sorted((item for item in assignments if item.student == student), key=lambda item: (item.start, item.person))
    for role in MENTOR_ROLES:
        for assignment in own:
            overlaps = assignment.start <= last and first <= assignment.end
            if assignment.role is role and assignment.student == student and overlaps and assignment.person not in found:
                found.append(assignment.person)
    return found


def name_of(people: Mapping[str, Person], key: str | None) -> str:
    if key is None:
        return "your mentor"
    person = people.get(key)
    return person.name if person is not None else key


def describe_time(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """Return "Tuesday 3 March, 10:30 to 11:30" in the ward's local time."""
    local_start = start.astimezone(zone)
    return f"{local_start:%A %-d %B}, {local_start:%H:%M} to {end.astimezone(zone):%H:%M}"


def _slot_label(slot: Slot, people: Mapping[str, Person], zone: ZoneInfo) -> str:
    return messages.PT_SLOT_BUTTON.format(
        when=f"{slot.start.astimezone(zone):%a %-d %b %H:%M}", mentor=name_of(people, slot.mentor)
    )


def week_buttons(ref: WeekRef) -> tuple[Button, ...]:
    return (
        Button(messages.PT_SUGGEST_BUTTON, SUGGEST, ref.encode()),
        Button(messages.PT_DECLINE_BUTTON, DECLINE, ref.encode()),
    )


def offer_reply(
    ref: WeekRef, monday: date, slots: Sequence[Slot], people: Mapping[str, Person], zone: ZoneInfo,
    *, minutes: int, nudge: bool,
) -> Reply:
    """Build the weekly offer (or the mid-week nudge): one Book button per slot, then the two way-outs."""
    week = f"{monday:%-d %B}"
    if slots and nudge:
        text = messages.PT_NUDGE.format(minutes=minutes)
    elif slots:
        text = messages.PT_OFFER.format(week=week, minutes=minutes)
    elif nudge:
        text = messages.PT_NUDGE_NO_SLOTS
    else:
        text = messages.PT_OFFER_NO_SLOTS.format(week=week)
    books = tuple(
        Button(_slot_label(slot, people, zone), BOOK, SlotChoice(ref.ward, ref.week, slot).encode(), ButtonStyle.PRIMARY)
        for slot in slots
    )
    sections = (Section(messages.PT_OFFER_DETAIL),) if slots else ()
    return Reply(text, sections=sections, buttons=books + week_buttons(ref))


def suggest_form(ref: WeekRef, mentors: Sequence[tuple[str, str]]) -> Form:
    """Build the form for a time of the student's own; `mentors` are (key, name) pairs to choose from."""
    inputs = [
        FormInput("date", messages.PT_SUGGEST_DATE_LABEL),
        FormInput("time", messages.PT_SUGGEST_TIME_LABEL),
    ]
    if len(mentors) > 1:
        inputs.append(FormInput("mentor", messages.PT_SUGGEST_MENTOR_LABEL, choices=tuple(mentors)))
    return Form(
        title=messages.PT_SUGGEST_TITLE, action=SUGGEST_FORM, inputs=tuple(inputs),
        submit_label=messages.PT_SUGGEST_SUBMIT, context=ref.encode(),
    )


def decline_form(ref: WeekRef) -> Form:
    return Form(
        title=messages.PT_DECLINE_TITLE, action=DECLINE_FORM,
        inputs=(FormInput("reason", messages.PT_DECLINE_REASON_LABEL),),
        submit_label=messages.PT_DECLINE_SUBMIT, context=ref.encode(),
    )


def booked_reply(session: ProtectedSession, people: Mapping[str, Person], zone: ZoneInfo, *, to_mentor: bool) -> Reply:
    when = _session_time(session, zone)
    if to_mentor:
        return Reply(messages.PT_BOOKED_MENTOR.format(student=name_of(people, session.student), when=when),
                     sections=(Section(messages.PT_INVITE_ATTACHED),))
    return Reply(messages.PT_BOOKED_STUDENT.format(mentor=name_of(people, session.mentor), when=when),
                 sections=(Section(messages.PT_INVITE_ATTACHED),))


def reminder_reply(session: ProtectedSession, people: Mapping[str, Person], zone: ZoneInfo, *, to_mentor: bool) -> Reply:
    other = session.student if to_mentor else session.mentor
    return Reply(messages.PT_REMINDER.format(other=name_of(people, other), when=_session_time(session, zone)))


def check_reply(session: ProtectedSession, people: Mapping[str, Person], zone: ZoneInfo, *, to_mentor: bool) -> Reply:
    other = session.student if to_mentor else session.mentor
    return Reply(
        messages.PT_CHECK.format(other=name_of(people, other), when=_session_time(session, zone)),
        buttons=(
            Button(messages.PT_MET_YES, MET, f"{session.id}{SEPARATOR}yes", ButtonStyle.PRIMARY),
            Button(messages.PT_MET_NO, MET, f"{session.id}{SEPARATOR}no"),
        ),
    )


def suggestion_reply(session: ProtectedSession, people: Mapping[str, Person], zone: ZoneInfo) -> Reply:
    return Reply(
        messages.PT_SUGGESTION.format(student=name_of(people, session.student), when=_session_time(session, zone)),
        buttons=(
            Button(messages.PT_ACCEPT, ACCEPT, str(session.id), ButtonStyle.PRIMARY),
            Button(messages.PT_REJECT, REJECT, str(session.id)),
        ),
    )


def _session_time(session: ProtectedSession, zone: ZoneInfo) -> str:
    if session.starts_at is None or session.ends_at is None:
        return "a time not yet set"
    return describe_time(session.starts_at, session.ends_at, zone)


def session_outcomes(sessions: Iterable[ProtectedSession], educator: str, monday: date, zone: ZoneInfo) -> list[WeekOutcome]:
    """Turn one student-week's sessions into outcomes for `weekly_digest`, oldest change first.

    A confirmed session, a student's "not this week" and a session the two did not meet each give
    an outcome. Suggestions, bookings never answered and suggestions the mentor turned down give
    none, so the week falls back to "no reply" unless something else decides it.
    """
    outcomes: list[WeekOutcome] = []
    for session in sorted(sessions, key=lambda item: (item.updated_at, item.id)):
        if session.state is SessionState.CONFIRMED:
            outcomes.append(WeekOutcome(session.student, educator, monday, WeekResult.CONFIRMED))
        elif session.state is SessionState.DECLINED and session.decided_by == session.student:
            outcomes.append(WeekOutcome(session.student, educator, monday, WeekResult.DECLINED, session.reason))
        elif session.state is SessionState.NOT_MET and session.starts_at is not None:
            detail = messages.DIGEST_NOT_MET.format(day=f"{session.starts_at.astimezone(zone):%a %-d %b}")
            outcomes.append(WeekOutcome(session.student, educator, monday, WeekResult.DECLINED, detail))
    return outcomes


def week_is_settled(sessions: Iterable[ProtectedSession], student: str) -> bool:
    """Return whether the student's week needs no more offers or nudges: booked, met, or declined by them."""
    for session in sessions:
        if session.student != student:
            continue
        if session.state in (SessionState.BOOKED, SessionState.CONFIRMED):
            return True
        if session.state is SessionState.DECLINED and session.decided_by == student:
            return True
    return False


def slots_after(slots: Iterable[Slot], moment: datetime, limit: int) -> list[Slot]:
    """Pick up to `limit` slots starting after `moment`: each day's earliest first, then the next ones."""
    later = sorted((slot for slot in slots if slot.start > moment), key=lambda slot: slot.start.astimezone(UTC))
    chosen: list[Slot] = []
    taken_days: set[date] = set()
    for slot in later:
        day = slot.start.date()
        if day not in taken_days and len(chosen) < limit:
            chosen.append(slot)
            taken_days.add(day)
    for slot in later:
        if slot not in chosen and len(chosen) < limit:
            chosen.append(slot)
    return sorted(chosen, key=lambda slot: slot.start.astimezone(UTC))


def session_slot(session: ProtectedSession, zone: ZoneInfo) -> Slot | None:
    """Return the booked session as a Slot for its calendar invitation, or None without times or mentor."""
    if session.starts_at is None or session.ends_at is None or session.mentor is None:
        return None
    return Slot(
        session.starts_at.astimezone(zone), session.ends_at.astimezone(zone), session.mentor, session.shift_key or "",
    )

