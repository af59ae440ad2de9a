"""Protected learning time: ISO weeks, slot proposals, nudge times and the educator's weekly digest."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from builders import FIRST_DAY, WardBuilder, day, early_shifts, shift
from clipbot.domain.protected_time import (
    MissedWeek,
    ProtectedTimePolicy,
    Slot,
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
from clipbot.domain.roster import Roster
from clipbot.domain.shifts import DEFAULT_SHIFT_TYPES, Duty, make_shift
from clipbot.domain.ward import WardPolicy

LONDON = ZoneInfo("Europe/London")
MONDAY = FIRST_DAY  # Monday 2 March 2026
NIGHT = next(shift_type for shift_type in DEFAULT_SHIFT_TYPES if shift_type.name == "Night")


def at(day_: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day_, time(hour, minute), tzinfo=LONDON)


# Weeks.


def test_week_of_midweek():
    assert week_of(date(2026, 10, 21)) == (date(2026, 10, 19), date(2026, 10, 25))


def test_week_of_edges():
    assert week_of(date(2026, 10, 19)) == (date(2026, 10, 19), date(2026, 10, 25))
    assert week_of(date(2026, 10, 25)) == (date(2026, 10, 19), date(2026, 10, 25))


def test_week_of_aware_datetime_uses_london():
    # 23:30 UTC on Sunday 28 June is 00:30 BST on Monday 29 June.
    assert week_of(datetime(2026, 6, 28, 23, 30, tzinfo=UTC))[0] == date(2026, 6, 29)


def test_week_of_naive_datetime_rejected():
    with pytest.raises(ValueError, match="day must be a timezone-aware datetime"):
        week_of(datetime(2026, 6, 28, 23, 30))


def test_iso_week_key_cases():
    cases = {
        date(2026, 10, 21): "2026-W43",
        date(2025, 12, 29): "2026-W01",
        date(2027, 1, 1): "2026-W53",
        date(2026, 3, 2): "2026-W10",
    }
    for checked, expected in cases.items():
        assert iso_week_key(checked) == expected, checked


def test_week_end_autumn_change():
    end = week_end(date(2026, 10, 19))
    assert end == datetime(2026, 10, 25, 23, 59, 59, tzinfo=UTC)
    assert end.time() == time(23, 59, 59)


def test_week_end_spring_change():
    assert week_end(date(2026, 3, 23)) == datetime(2026, 3, 29, 22, 59, 59, tzinfo=UTC)


def test_week_end_rejects_non_monday():
    with pytest.raises(ValueError, match="a Wednesday"):
        week_end(date(2026, 10, 21))


def test_first_working_day_cases():
    cases = [
        (date(2026, 3, 2), "England", date(2026, 3, 2)),
        (date(2027, 3, 29), "England", date(2027, 3, 30)),  # Easter Monday
        (date(2027, 3, 29), "Scotland", date(2027, 3, 29)),
        (date(2026, 11, 30), "Scotland", date(2026, 12, 1)),  # St Andrew's Day
        (date(2026, 11, 30), "England", date(2026, 11, 30)),
        (date(2027, 12, 27), "England", date(2027, 12, 29)),  # Christmas and Boxing Day moved
    ]
    for monday, nation, expected in cases:
        assert first_working_day(monday, nation) == expected, (monday, nation)


def test_nudge_default_wednesday_noon():
    nudge = midweek_nudge_time(date(2026, 3, 23))
    assert nudge == at(date(2026, 3, 25), 12)
    assert nudge.astimezone(UTC).hour == 12


def test_nudge_after_spring_change():
    nudge = midweek_nudge_time(date(2026, 3, 30))
    assert nudge.astimezone(UTC) == datetime(2026, 4, 1, 11, 0, tzinfo=UTC)


def test_nudge_configurable():
    policy = ProtectedTimePolicy(nudge_weekday=3, nudge_time=time(9, 30))
    assert midweek_nudge_time(date(2026, 3, 23), policy) == at(date(2026, 3, 26), 9, 30)


def test_policy_rejects_bad_weekday():
    with pytest.raises(ValueError, match="got 7"):
        ProtectedTimePolicy(nudge_weekday=7)


# Slots.


def two_mentor_ward(**options) -> WardBuilder:
    """A student on Early shifts Monday to Friday. PA works Monday and Wednesday, NS Tuesday, Wednesday and Friday."""
    ward = WardBuilder(days=14, **options)
    ward.student("S1", on=early_shifts(range(5)))
    ward.nurse("PA", on=early_shifts([0, 2]))
    ward.nurse("NS", on=early_shifts([1, 2, 4]))
    return ward


def test_slots_two_mentors():
    slots = propose_slots(two_mentor_ward().build(), "S1", ["PA", "NS"], MONDAY)
    assert [(slot.start, slot.end) for slot in slots] == [
        (at(day(0), 7, 30), at(day(0), 8, 30)),
        (at(day(1), 7, 30), at(day(1), 8, 30)),
        (at(day(2), 7, 30), at(day(2), 8, 30)),
    ]
    assert [slot.mentor for slot in slots] == ["PA", "NS", "PA"]
    assert [slot.shift_key for slot in slots] == early_shifts(range(3))


def test_slots_mentor_order_decides():
    slots = propose_slots(two_mentor_ward().build(), "S1", ["NS", "PA"], MONDAY)
    assert [slot.mentor for slot in slots] == ["PA", "NS", "NS"]


def test_slots_different_days_first():
    slots = propose_slots(two_mentor_ward().build(), "S1", ["PA", "NS"], MONDAY, limit=5)
    days = [slot.start.date() for slot in slots]
    assert days == [day(0), day(0), day(1), day(2), day(4)]
    assert slots[1].start == at(day(0), 8, 30)


def test_slots_limit_one():
    slots = propose_slots(two_mentor_ward().build(), "S1", ["PA", "NS"], MONDAY, limit=1)
    assert slots == [Slot(at(day(0), 7, 30), at(day(0), 8, 30), "PA", shift(0))]


def test_slots_avoid_handover():
    roster = two_mentor_ward().build()
    slots = propose_slots(roster, "S1", ["PA", "NS"], MONDAY, limit=50)
    assert len(slots) == 24  # four days with six hours between handovers
    for slot in slots:
        worked = roster.shifts[slot.shift_key]
        assert slot.start >= worked.starts_at + timedelta(hours=1), slot
        assert slot.end <= worked.ends_at - timedelta(hours=1), slot


def test_slots_no_shared_shift():
    ward = WardBuilder(days=7)
    ward.student("S1", on=early_shifts(range(5)))
    ward.nurse("PA", on=[shift(number, "Late") for number in range(5)])
    assert propose_slots(ward.build(), "S1", ["PA"], MONDAY) == []


def test_slots_no_mentors():
    assert propose_slots(two_mentor_ward().build(), "S1", [], MONDAY) == []


def test_slots_only_this_week():
    ward = WardBuilder(days=14)
    ward.student("S1", on=early_shifts([6, 7, 13]))
    ward.nurse("PA", on=early_shifts([6, 7, 13]))
    slots = propose_slots(ward.build(), "S1", ["PA"], day(7))
    assert {slot.shift_key for slot in slots} == {shift(7), shift(13)}


def test_slots_student_leave_skipped():
    ward = two_mentor_ward()
    ward.leave("S1", 1, 1)
    slots = propose_slots(ward.build(), "S1", ["PA", "NS"], MONDAY)
    assert [slot.start.date() for slot in slots] == [day(0), day(2), day(4)]


def test_slots_mentor_leave_other_mentor():
    ward = two_mentor_ward()
    ward.leave("PA", 2, 2)
    slots = propose_slots(ward.build(), "S1", ["PA", "NS"], MONDAY)
    assert [slot.mentor for slot in slots] == ["PA", "NS", "NS"]


def test_slots_minutes_from_policy():
    ward = two_mentor_ward(policy=WardPolicy(protected_minutes_per_week=90))
    slots = propose_slots(ward.build(), "S1", ["PA", "NS"], MONDAY)
    assert {slot.minutes for slot in slots} == {90}
    assert slots[0].end == at(day(0), 9, 0)


def test_slots_minutes_argument():
    slots = propose_slots(two_mentor_ward().build(), "S1", ["PA", "NS"], MONDAY, minutes=30)
    assert {slot.minutes for slot in slots} == {30}


def test_slots_back_to_back_on_one_day():
    slots = propose_slots(two_mentor_ward().build(), "S1", ["PA"], MONDAY, minutes=30, limit=4)
    assert [slot.start for slot in slots] == [
        at(day(0), 7, 30),
        at(day(0), 8, 0),
        at(day(2), 7, 30),
        at(day(2), 8, 0),
    ]


def test_slots_too_long_for_shift():
    assert propose_slots(two_mentor_ward().build(), "S1", ["PA", "NS"], MONDAY, minutes=361) == []


def test_slots_fill_whole_gap():
    slots = propose_slots(two_mentor_ward().build(), "S1", ["PA"], MONDAY, minutes=360)
    assert [(slot.start, slot.end) for slot in slots] == [
        (at(day(0), 7, 30), at(day(0), 13, 30)),
        (at(day(2), 7, 30), at(day(2), 13, 30)),
    ]


def test_slots_deterministic():
    roster = two_mentor_ward().build()
    first = propose_slots(roster, "S1", ["PA", "NS"], MONDAY, limit=6)
    shuffled = Roster(
        ward=roster.ward,
        people=dict(reversed(list(roster.people.items()))),
        shifts=dict(random.Random(7).sample(list(roster.shifts.items()), len(roster.shifts))),
        duties=random.Random(11).sample(roster.duties, len(roster.duties)),
        leave=list(roster.leave),
    )
    assert propose_slots(roster, "S1", ["PA", "NS"], MONDAY, limit=6) == first
    assert propose_slots(shuffled, "S1", ["PA", "NS"], MONDAY, limit=6) == first


def test_slots_night_over_spring_change():
    # The night of 28-29 March lasts 7 hours, leaving 5 between handovers.
    ward = WardBuilder(days=1)
    ward.student("S1")
    ward.nurse("PA")
    roster = ward.build()
    night = make_shift("W1", date(2026, 3, 28), NIGHT)
    roster.shifts[night.key] = night
    roster.duties += [Duty(night.key, "S1"), Duty(night.key, "PA")]
    slots = propose_slots(roster, "S1", ["PA"], date(2026, 3, 23), limit=10)
    assert len(slots) == 5
    assert {slot.minutes for slot in slots} == {60}
    assert slots[-1].end == at(date(2026, 3, 29), 5, 30)
    assert [slot.start.astimezone(UTC).hour for slot in slots] == [23, 0, 1, 2, 3]


def test_slots_reject_bad_arguments():
    roster = two_mentor_ward().build()
    with pytest.raises(ValueError, match="a Tuesday"):
        propose_slots(roster, "S1", ["PA"], day(1))
    with pytest.raises(ValueError, match="got 0"):
        propose_slots(roster, "S1", ["PA"], MONDAY, minutes=0)
    with pytest.raises(ValueError, match="at least 1 slot, got 0"):
        propose_slots(roster, "S1", ["PA"], MONDAY, limit=0)


# The educator's weekly digest.


WEEK_43 = date(2026, 10, 19)
WEEK_44 = date(2026, 10, 26)


def test_digest_reasons():
    outcomes = [
        WeekOutcome("S1", "CE1", WEEK_43, WeekResult.DECLINED, "on study day"),
        WeekOutcome("S2", "CE1", WEEK_43, WeekResult.NO_REPLY),
        WeekOutcome("S3", "CE1", WEEK_43, WeekResult.NO_SHARED_SHIFT),
        WeekOutcome("S4", "CE1", WEEK_43, WeekResult.CONFIRMED),
    ]
    assert weekly_digest(outcomes) == {
        "CE1": [
            MissedWeek("S1", "2026-W43", "not this week: on study day"),
            MissedWeek("S2", "2026-W43", "no reply"),
            MissedWeek("S3", "2026-W43", "not on shift with their assessor or supervisor that week"),
        ]
    }


def test_digest_declined_without_detail():
    outcome = WeekOutcome("S1", "CE1", WEEK_43, WeekResult.DECLINED, "  ")
    assert weekly_digest([outcome])["CE1"][0].reason == "not this week"


def test_digest_per_educator():
    outcomes = [
        WeekOutcome("S2", "CE2", WEEK_43, WeekResult.NO_REPLY),
        WeekOutcome("S1", "CE1", WEEK_43, WeekResult.NO_REPLY),
        WeekOutcome("S3", "CE3", WEEK_43, WeekResult.CONFIRMED),
    ]
    digest = weekly_digest(outcomes)
    assert list(digest) == ["CE1", "CE2", "CE3"]
    assert [entry.student for entry in digest["CE1"]] == ["S1"]
    assert [entry.student for entry in digest["CE2"]] == ["S2"]
    assert digest["CE3"] == []


def test_digest_ordered_by_week_then_student():
    outcomes = [
        WeekOutcome("S1", "CE1", WEEK_44, WeekResult.NO_REPLY),
        WeekOutcome("S2", "CE1", WEEK_43, WeekResult.NO_REPLY),
        WeekOutcome("S1", "CE1", WEEK_43, WeekResult.NO_REPLY),
    ]
    entries = weekly_digest(outcomes)["CE1"]
    assert [(entry.week, entry.student) for entry in entries] == [
        ("2026-W43", "S1"),
        ("2026-W43", "S2"),
        ("2026-W44", "S1"),
    ]


def test_digest_confirmation_cancels_miss():
    outcomes = [
        WeekOutcome("S1", "CE1", WEEK_43, WeekResult.NO_REPLY),
        WeekOutcome("S1", "CE1", WEEK_43, WeekResult.CONFIRMED),
    ]
    assert weekly_digest(outcomes) == {"CE1": []}


def test_digest_last_miss_wins():
    outcomes = [
        WeekOutcome("S1", "CE1", WEEK_43, WeekResult.NO_REPLY),
        WeekOutcome("S1", "CE1", WEEK_43, WeekResult.DECLINED, "on annual leave"),
    ]
    assert weekly_digest(outcomes)["CE1"] == [MissedWeek("S1", "2026-W43", "not this week: on annual leave")]


def test_digest_empty():
    assert weekly_digest([]) == {}


def test_sunday_night_slots_stay_in_week():
    ward = WardBuilder()
    sunday_night = shift(6, "Night")
    ward.student("S1", on=[sunday_night])
    ward.nurse("RN1", on=[sunday_night])
    roster = ward.build()
    monday = roster.shifts[sunday_night].day - timedelta(days=6)
    slots = propose_slots(roster, "S1", ["RN1"], monday, limit=5)
    assert [slot.start.strftime("%a %H:%M") for slot in slots] == ["Sun 23:30"]
