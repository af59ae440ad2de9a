"""Calendar invitations for protected learning time, read back with icalendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from builders import WardBuilder
from clipbot.domain.invites import session_invite
from clipbot.domain.people import Person, Registration
from clipbot.domain.protected_time import Slot, propose_slots
from clipbot.domain.shifts import DEFAULT_SHIFT_TYPES, Duty, make_shift

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 10, 20, 9, 15, tzinfo=LONDON)
STUDENT = Person("S1", "Sam Okafor", Registration.STUDENT, email="sam.okafor@example.ac.uk")
MENTOR = Person("PA", "Priya Shah", Registration.REGISTERED_NURSE, email="priya.shah@example.nhs.uk")
NIGHT = next(shift_type for shift_type in DEFAULT_SHIFT_TYPES if shift_type.name == "Night")


def at(day_: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day_, time(hour, minute), tzinfo=LONDON)


def slot_on(day_: date, hour: int, minutes: int = 60) -> Slot:
    start = at(day_, hour)
    return Slot(start, start + timedelta(minutes=minutes), "PA", f"{day_.isoformat()} Early")


def invite(slot: Slot, **options) -> bytes:
    arguments = {"student": STUDENT, "mentor": MENTOR, "ward_name": "Ward 7 (Respiratory)", "uid": "session-42@clipbot", "now": NOW}
    arguments.update(options)
    return session_invite(slot, **arguments)


def parse(data: bytes) -> tuple[Calendar, Event]:
    calendar = Calendar.from_ical(data)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def test_invite_calendar_fields():
    calendar, _ = parse(invite(slot_on(date(2026, 10, 21), 10)))
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(calendar["PRODID"]).startswith("-//clipbot//")


def test_invite_event_fields():
    _, event = parse(invite(slot_on(date(2026, 10, 21), 10)))
    assert str(event["UID"]) == "session-42@clipbot"
    assert str(event["SUMMARY"]) == "Protected learning time"
    assert str(event["LOCATION"]) == "Ward 7 (Respiratory)"
    assert event.decoded("DTSTAMP") == datetime(2026, 10, 20, 8, 15, tzinfo=UTC)
    assert int(event["SEQUENCE"]) == 0


def test_invite_description():
    _, event = parse(invite(slot_on(date(2026, 10, 21), 10)))
    description = str(event["DESCRIPTION"])
    assert "60 minutes of protected learning time for Sam Okafor with Priya Shah" in description
    assert "Wednesday 21 October 2026 from 10:00 to 11:00" in description
    assert "2026-10-21 Early" in description


def test_invite_times_with_tzid():
    slot = slot_on(date(2026, 10, 21), 10)
    _, event = parse(invite(slot))
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert event["DTEND"].params["TZID"] == "Europe/London"
    assert event.decoded("DTSTART") == slot.start
    assert event.decoded("DTEND") == slot.end


def test_invite_has_vtimezone():
    calendar, _ = parse(invite(slot_on(date(2026, 10, 21), 10)))
    assert [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")] == ["Europe/London"]
    assert calendar.get_missing_tzids() == set()


def test_invite_local_times_across_change():
    # Friday before the change is BST, the Monday after is GMT: both stay at 10:00 on the wall clock.
    for day_, offset in ((date(2026, 10, 23), timedelta(hours=1)), (date(2026, 10, 26), timedelta(0))):
        data = invite(slot_on(day_, 10))
        _, event = parse(data)
        start = event.decoded("DTSTART")
        assert f"DTSTART;TZID=Europe/London:{day_:%Y%m%d}T100000".encode() in data, day_
        assert start.utcoffset() == offset, day_
        assert start.astimezone(UTC) == at(day_, 10).astimezone(UTC), day_


def test_invite_spring_change():
    data = invite(slot_on(date(2026, 3, 30), 10))
    _, event = parse(data)
    assert b"DTSTART;TZID=Europe/London:20260330T100000" in data
    assert event.decoded("DTSTART").astimezone(UTC) == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)


def test_invite_repeated_hour_keeps_instants():
    # Slots inside the night of 24-25 October include 01:30 BST and then 01:30 GMT.
    ward = WardBuilder(days=1)
    ward.student("S1")
    ward.nurse("PA")
    roster = ward.build()
    night = make_shift("W1", date(2026, 10, 24), NIGHT)
    roster.shifts[night.key] = night
    roster.duties += [Duty(night.key, "S1"), Duty(night.key, "PA")]
    slots = propose_slots(roster, "S1", ["PA"], date(2026, 10, 19), limit=10)
    assert len(slots) == 7

    for slot in slots:
        _, event = parse(invite(slot, uid=f"night-{slot.start.astimezone(UTC):%H%M}@clipbot"))
        assert event.decoded("DTSTART").astimezone(UTC) == slot.start.astimezone(UTC), slot
        assert event.decoded("DTEND").astimezone(UTC) == slot.end.astimezone(UTC), slot


def test_invite_organizer_and_attendees():
    _, event = parse(invite(slot_on(date(2026, 10, 21), 10)))
    attendees = event["ATTENDEE"]
    by_address = {str(attendee): attendee for attendee in attendees}
    assert str(event["ORGANIZER"]) == "mailto:priya.shah@example.nhs.uk"
    assert event["ORGANIZER"].params["CN"] == "Priya Shah"
    assert set(by_address) == {"mailto:priya.shah@example.nhs.uk", "mailto:sam.okafor@example.ac.uk"}
    assert by_address["mailto:sam.okafor@example.ac.uk"].params["RSVP"] == "TRUE"
    assert by_address["mailto:sam.okafor@example.ac.uk"].params["PARTSTAT"] == "NEEDS-ACTION"
    assert by_address["mailto:priya.shah@example.nhs.uk"].params["PARTSTAT"] == "ACCEPTED"


def test_invite_without_emails():
    student = Person("S1", "Sam Okafor", Registration.STUDENT)
    mentor = Person("PA", "Priya Shah", Registration.REGISTERED_NURSE)
    _, event = parse(invite(slot_on(date(2026, 10, 21), 10), student=student, mentor=mentor))
    assert "ORGANIZER" not in event
    assert "ATTENDEE" not in event


def test_invite_student_email_only():
    mentor = Person("PA", "Priya Shah", Registration.REGISTERED_NURSE)
    _, event = parse(invite(slot_on(date(2026, 10, 21), 10), mentor=mentor))
    assert "ORGANIZER" not in event
    assert str(event["ATTENDEE"]) == "mailto:sam.okafor@example.ac.uk"


def test_invite_same_uid_same_bytes():
    slot = slot_on(date(2026, 10, 21), 10)
    assert invite(slot) == invite(slot)


def test_invite_sequence_for_reschedule():
    _, event = parse(invite(slot_on(date(2026, 10, 22), 11), sequence=2))
    assert int(event["SEQUENCE"]) == 2
    assert str(event["UID"]) == "session-42@clipbot"


def test_invite_text_escaped():
    _, event = parse(invite(slot_on(date(2026, 10, 21), 10), ward_name="Ward 7; Bay B, side room"))
    assert str(event["LOCATION"]) == "Ward 7; Bay B, side room"


def test_invite_rejects_bad_input():
    slot = slot_on(date(2026, 10, 21), 10)
    with pytest.raises(ValueError, match="uid must not be blank"):
        invite(slot, uid="  ")
    with pytest.raises(ValueError, match="mentor 'PA'"):
        invite(slot, mentor=Person("NS", "Noor", Registration.REGISTERED_NURSE))
    with pytest.raises(ValueError, match="must end after it starts"):
        invite(Slot(slot.end, slot.start, "PA", slot.shift_key))
    with pytest.raises(ValueError, match="now must be a timezone-aware datetime"):
        invite(slot, now=datetime(2026, 10, 20, 9, 15))
