"""Calendar invitations (RFC 5545 iCalendar, METHOD:REQUEST) for protected learning time sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from clipbot.domain.people import Person
from clipbot.domain.protected_time import LONDON, Slot
from clipbot.domain.timing import require_aware

PRODUCT_ID = "-//clipbot//Protected learning time//EN"
SUMMARY = "Protected learning time"


def _address(person: Person, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    address.params["CN"] = vText(person.name)
    for name, value in params.items():
        address.params[name.upper()] = value
    return address


def _calendar_time(moment: datetime, zone: ZoneInfo) -> datetime:
    """Return `moment` in local time, or in UTC when it is the second pass of an hour the clocks repeat.

    RFC 5545 (section 3.3.5) reads an ambiguous local time as its first occurrence, so 01:30 GMT on
    the autumn change day is written as UTC to keep it an hour after 01:30 BST.
    """
    local = moment.astimezone(zone)
    if local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset():
        return moment.astimezone(UTC)
    return local


def _description(slot: Slot, student: Person, mentor: Person, ward_name: str, zone: ZoneInfo) -> str:
    start = slot.start.astimezone(zone)
    end = slot.end.astimezone(zone)
    return (
        f"{slot.minutes} minutes of protected learning time for {student.name} with {mentor.name} "
        f"on {ward_name}, {start:%A %d %B %Y} from {start:%H:%M} to {end:%H:%M}, during the shift "
        f"{slot.shift_key}. If the time no longer suits, agree a new one between you and tell your clinical educator."
    )


def session_invite(
    slot: Slot,
    *,
    student: Person,
    mentor: Person,
    ward_name: str,
    uid: str,
    now: datetime,
    sequence: int = 0,
    timezone: str = LONDON,
) -> bytes:
    """Build a VCALENDAR with one VEVENT that invites the student and mentor to a protected-time slot.

    DTSTART and DTEND carry TZID=`timezone`, except in the hour repeated by the autumn clock change
    (see `_calendar_time`). The calendar includes a VTIMEZONE for the years of the slot. DTSTAMP is
    `now` in UTC. Keep `uid` stable for a session and raise `sequence` when it is rescheduled, so
    that calendars update the event instead of adding one.
    ORGANIZER (the mentor) and each ATTENDEE appear only for people with an e-mail address.

    Raises ValueError when `uid` is blank, the slot ends before it starts, or `mentor` is not the
    slot's mentor.
    """
    require_aware(now, "now")
    if not uid.strip():
        raise ValueError("uid must not be blank. Pass a stable id for the session, such as its database key.")
    if slot.end.astimezone(UTC) <= slot.start.astimezone(UTC):
        raise ValueError(f"The slot must end after it starts, got {slot.start.isoformat()} to {slot.end.isoformat()}.")
    if mentor.key != slot.mentor:
        raise ValueError(f"The slot is with mentor {slot.mentor!r}, but the invitation names {mentor.key!r}.")
    zone = ZoneInfo(timezone)
    start = _calendar_time(slot.start, zone)
    end = _calendar_time(slot.end, zone)

    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("sequence", sequence)
    event.add("summary", SUMMARY)
    event.add("location", ward_name)
    event.add("description", _description(slot, student, mentor, ward_name, zone))

    # NOTE: RFC 5546 requires ORGANIZER in a REQUEST. Without the mentor's e-mail address the
    # calendar is a plain event that clients may import but cannot reply to.
    if mentor.email:
        event.add("organizer", _address(mentor, role="CHAIR"))
        event.add("attendee", _address(mentor, role="CHAIR", partstat="ACCEPTED"))
    if student.email:
        event.add("attendee", _address(student, role="REQ-PARTICIPANT", partstat="NEEDS-ACTION", rsvp="TRUE"))

    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    calendar.add_component(event)
    calendar.add_missing_timezones(first_date=date(start.year, 1, 1), last_date=date(end.year + 1, 1, 1))
    return calendar.to_ical()
