"""When nudges may be sent: bank holidays, quiet hours, sleep after nights, pauses, leave and clock changes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import WardBuilder, day, shift
from clipbot.domain.people import Person, Registration
from clipbot.domain.roster import Roster
from clipbot.domain.shifts import DEFAULT_SHIFT_TYPES, Duty, Leave, Shift, ShiftType, make_shift
from clipbot.domain.timing import (
    MessageKind,
    is_night_shift,
    is_working_day,
    local_instant,
    next_send_time,
    still_worth_sending,
    uk_bank_holidays,
)
from clipbot.domain.ward import LearningEnvironment, WardPolicy

LONDON = ZoneInfo("Europe/London")
POLICY = WardPolicy()
TYPES = {shift_type.name: shift_type for shift_type in DEFAULT_SHIFT_TYPES}

# The clocks go forward on Sunday 29 March 2026 and back on Sunday 25 October 2026.
SPRING_CHANGE = date(2026, 3, 29)
AUTUMN_CHANGE = date(2026, 10, 25)


def local(year: int, month: int, day_: int, hour: int = 0, minute: int = 0, *, fold: int = 0) -> datetime:
    return datetime(year, month, day_, hour, minute, tzinfo=LONDON, fold=fold)


def at(day_: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day_, time(hour, minute), tzinfo=LONDON)


def roster_of(
    duties: Iterable[tuple[date, ShiftType | str]] = (),
    leave: Iterable[tuple[date, date]] = (),
    person: str = "P",
    policy: WardPolicy = POLICY,
) -> Roster:
    """Build a roster for one nurse with the given (day, shift type) duties and leave periods."""
    roster = Roster(ward=LearningEnvironment("W1", "Ward 1", policy))
    roster.people[person] = Person(person, "Pat", Registration.REGISTERED_NURSE)
    for shift_day, kind in duties:
        shift_type = TYPES[kind] if isinstance(kind, str) else kind
        new_shift = make_shift("W1", shift_day, shift_type, policy.timezone)
        roster.shifts[new_shift.key] = new_shift
        roster.duties.append(Duty(new_shift.key, person))
    for first, last in leave:
        roster.leave.append(Leave(person, first, last))
    return roster


def send(due: datetime, roster: Roster | None = None, **options) -> datetime | None:
    policy = options.pop("policy", POLICY)
    return next_send_time("P", due, roster=roster or roster_of(), policy=policy, **options)


# Bank holidays and working days.


def test_easter_monday_2027_england():
    assert date(2027, 3, 29) in uk_bank_holidays(2027, "England")


def test_easter_monday_2027_not_scotland():
    assert date(2027, 3, 29) not in uk_bank_holidays(2027, "Scotland")


def test_st_andrews_day_scotland():
    assert uk_bank_holidays(2026, "Scotland")[date(2026, 11, 30)] == "Saint Andrew's Day"


def test_st_andrews_day_not_england():
    assert date(2026, 11, 30) not in uk_bank_holidays(2026, "England")


def test_bank_holidays_several_years():
    found = uk_bank_holidays([2027, 2026], "Wales")
    assert date(2026, 12, 25) in found
    assert date(2027, 12, 25) in found
    assert list(found) == sorted(found)


def test_bank_holidays_northern_ireland():
    assert date(2026, 3, 17) in uk_bank_holidays(2026, "Northern Ireland")


def test_bank_holidays_unknown_nation():
    with pytest.raises(ValueError, match="Unknown UK nation 'Cornwall'"):
        uk_bank_holidays(2026, "Cornwall")


def test_working_day_cases():
    cases = [
        (date(2026, 3, 3), "England", True),  # an ordinary Tuesday
        (date(2026, 3, 7), "England", False),  # a Saturday
        (date(2026, 3, 8), "England", False),  # a Sunday
        (date(2027, 3, 29), "England", False),  # Easter Monday
        (date(2027, 3, 29), "Scotland", True),
        (date(2027, 11, 30), "Scotland", False),  # St Andrew's Day on a Tuesday
        (date(2027, 11, 30), "England", True),
        (date(2027, 12, 27), "England", False),  # Christmas Day moved to the Monday
    ]
    for checked_day, nation, expected in cases:
        assert is_working_day(checked_day, nation) is expected, (checked_day, nation)


def test_working_day_default_is_england():
    assert is_working_day(date(2027, 3, 29)) is False


# Quiet hours.


def test_outside_quiet_hours_unchanged():
    due = local(2026, 3, 4, 12, 0)
    assert send(due) == due


def test_result_in_ward_zone():
    due = datetime(2026, 6, 3, 11, 0, tzinfo=UTC)
    result = send(due)
    assert result is not None
    assert result.tzinfo == LONDON
    assert result.hour == 12


def test_quiet_hours_edges():
    cases = [
        (local(2026, 3, 4, 20, 59), local(2026, 3, 4, 20, 59)),
        (local(2026, 3, 4, 21, 0), local(2026, 3, 5, 8, 0)),
        (local(2026, 3, 4, 23, 30), local(2026, 3, 5, 8, 0)),
        (local(2026, 3, 5, 0, 0), local(2026, 3, 5, 8, 0)),
        (local(2026, 3, 5, 7, 59), local(2026, 3, 5, 8, 0)),
        (local(2026, 3, 5, 8, 0), local(2026, 3, 5, 8, 0)),
    ]
    for due, expected in cases:
        assert send(due) == expected, due


def test_quiet_hours_second_before_end():
    due = local(2026, 3, 5, 7, 59) + timedelta(seconds=59)
    assert send(due) == local(2026, 3, 5, 8, 0)


def test_quiet_hours_from_policy():
    policy = WardPolicy(quiet_hours_start=time(22, 0), quiet_hours_end=time(7, 0))
    assert send(local(2026, 3, 4, 21, 30), policy=policy) == local(2026, 3, 4, 21, 30)
    assert send(local(2026, 3, 4, 22, 0), policy=policy) == local(2026, 3, 5, 7, 0)


def test_quiet_hours_within_one_day():
    policy = WardPolicy(quiet_hours_start=time(12, 0), quiet_hours_end=time(13, 0))
    assert send(local(2026, 3, 4, 11, 0), policy=policy) == local(2026, 3, 4, 11, 0)
    assert send(local(2026, 3, 4, 12, 15), policy=policy) == local(2026, 3, 4, 13, 0)
    assert send(local(2026, 3, 4, 23, 0), policy=policy) == local(2026, 3, 4, 23, 0)


def test_equal_quiet_hours_mean_none():
    policy = WardPolicy(quiet_hours_start=time(0, 0), quiet_hours_end=time(0, 0))
    due = local(2026, 3, 4, 3, 0)
    assert send(due, policy=policy) == due


def test_unknown_time_zone_rejected():
    with pytest.raises(ValueError, match="Unknown time zone 'Europe/Atlantis'"):
        send(local(2026, 3, 4, 12, 0), policy=WardPolicy(timezone="Europe/Atlantis"))


def test_naive_due_rejected():
    with pytest.raises(ValueError, match="due must be a timezone-aware datetime"):
        send(datetime(2026, 3, 4, 12, 0))


# Clock changes.


def test_spring_sunday_0800_is_0700_utc():
    result = send(at(SPRING_CHANGE, 8))
    assert result == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    assert result.hour == 8


def test_autumn_sunday_0800_is_0800_utc():
    result = send(at(AUTUMN_CHANGE, 8))
    assert result == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)
    assert result.hour == 8


def test_local_instant_skipped_and_repeated():
    # 01:30 does not exist on 29 March and happens twice on 25 October.
    assert local_instant(SPRING_CHANGE, time(1, 30), LONDON) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert local_instant(AUTUMN_CHANGE, time(1, 30), LONDON) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_spring_night_all_wait_for_one_morning():
    due = datetime(2026, 3, 28, 21, 0, tzinfo=UTC)
    results = set()
    while due < datetime(2026, 3, 29, 7, 0, tzinfo=UTC):
        results.add(send(due))
        due += timedelta(minutes=15)
    assert results == {datetime(2026, 3, 29, 7, 0, tzinfo=UTC)}


def test_autumn_repeated_hour_both_passes():
    first = local(2026, 10, 25, 1, 30, fold=0)
    second = local(2026, 10, 25, 1, 30, fold=1)
    assert first.astimezone(UTC) != second.astimezone(UTC)
    assert send(first) == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)
    assert send(second) == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("monday", [date(2026, 3, 23), date(2026, 10, 19)])
def test_daily_nudges_across_change(monday: date):
    dues = [at(monday + timedelta(days=offset), 7) for offset in range(7)]
    sent = [send(due) for due in dues]
    utc = [moment.astimezone(UTC) for moment in sent]
    gaps = {utc[index + 1] - utc[index] for index in range(6)}
    assert len(set(utc)) == 7
    assert all(moment.astimezone(LONDON).time() == time(8, 0) for moment in sent)
    assert [moment.astimezone(LONDON).date() for moment in sent] == [due.date() for due in dues]
    assert gaps == {timedelta(hours=24), timedelta(hours=23 if monday.month == 3 else 25)}


# Sleep after night shifts.


def test_night_shift_sleeper_eight_hours():
    roster = roster_of([(date(2026, 3, 4), "Night")])
    # The night ends at 06:30, so sleep runs to 14:30, later than 14:00.
    assert send(local(2026, 3, 5, 9, 0), roster) == local(2026, 3, 5, 14, 30)


def test_night_shift_sleep_edges():
    roster = roster_of([(date(2026, 3, 4), "Night")])
    assert send(local(2026, 3, 5, 14, 29), roster) == local(2026, 3, 5, 14, 30)
    assert send(local(2026, 3, 5, 14, 30), roster) == local(2026, 3, 5, 14, 30)
    assert send(local(2026, 3, 4, 20, 0), roster) == local(2026, 3, 4, 20, 0)


def test_early_finish_sleeps_until_1400():
    short_night = ShiftType("Short night", time(21, 0), time(4, 0))
    roster = roster_of([(date(2026, 3, 4), short_night)])
    assert send(local(2026, 3, 5, 8, 0), roster) == local(2026, 3, 5, 14, 0)


def test_sleep_across_spring_change():
    # The night of 28-29 March is 7 hours long, and sleep ends 8 real hours after 06:30 BST.
    roster = roster_of([(date(2026, 3, 28), "Night")])
    result = send(at(SPRING_CHANGE, 8), roster)
    assert result == at(SPRING_CHANGE, 14, 30)
    assert result == datetime(2026, 3, 29, 13, 30, tzinfo=UTC)


def test_late_shift_no_sleep_window():
    roster = roster_of([(date(2026, 3, 4), "Late")])
    assert send(local(2026, 3, 5, 8, 0), roster) == local(2026, 3, 5, 8, 0)


def test_night_on_leave_not_worked():
    roster = roster_of([(date(2026, 3, 4), "Night")], leave=[(date(2026, 3, 4), date(2026, 3, 4))])
    assert send(local(2026, 3, 5, 9, 0), roster) == local(2026, 3, 5, 9, 0)


def test_other_persons_night_ignored():
    roster = roster_of([(date(2026, 3, 4), "Night")], person="Q")
    assert send(local(2026, 3, 5, 9, 0), roster) == local(2026, 3, 5, 9, 0)


def test_night_shift_definition():
    cases = [
        (TYPES["Night"], True),
        (TYPES["Late"], False),
        (TYPES["Early"], False),
        (ShiftType("Twilight", time(20, 0), time(2, 0)), True),  # 3 hours of 23:00-06:00
        (ShiftType("Long late", time(21, 0), time(1, 30)), False),  # 2.5 hours
        (ShiftType("Long night", time(19, 30), time(8, 0)), True),
    ]
    for shift_type, expected in cases:
        night = make_shift("W1", date(2026, 3, 4), shift_type)
        assert is_night_shift(night, LONDON) is expected, shift_type.name


def test_night_shift_with_builder():
    ward = WardBuilder(days=3)
    ward.nurse("P", on=[shift(1, "Night")])
    result = next_send_time("P", at(day(2), 10), roster=ward.build(), policy=POLICY)
    assert result == at(day(2), 14, 30)


# Pause.


def test_pause_resumes_after_date():
    # Paused until Friday 6 March: nothing before 08:00 on Saturday.
    result = send(local(2026, 3, 4, 12, 0), paused_until=date(2026, 3, 6))
    assert result == local(2026, 3, 7, 8, 0)


def test_pause_over_unchanged_after():
    due = local(2026, 3, 7, 8, 0)
    assert send(due, paused_until=date(2026, 3, 6)) == due


def test_pause_uses_quiet_hours_end():
    policy = WardPolicy(quiet_hours_end=time(7, 0))
    result = send(local(2026, 3, 6, 12, 0), policy=policy, paused_until=date(2026, 3, 6))
    assert result == local(2026, 3, 7, 7, 0)


def test_pause_in_the_past_ignored():
    due = local(2026, 3, 10, 12, 0)
    assert send(due, paused_until=date(2026, 3, 6)) == due


# Leave.


def test_leave_waits_for_first_day_back():
    roster = roster_of(leave=[(date(2026, 3, 3), date(2026, 3, 5))])
    assert send(local(2026, 3, 4, 12, 0), roster) == local(2026, 3, 6, 8, 0)


def test_leave_blocks_from_midnight():
    roster = roster_of(leave=[(date(2026, 3, 3), date(2026, 3, 5))])
    assert send(local(2026, 3, 2, 20, 0), roster) == local(2026, 3, 2, 20, 0)
    assert send(local(2026, 3, 2, 22, 0), roster) == local(2026, 3, 6, 8, 0)


def test_leave_over_clock_change():
    roster = roster_of(leave=[(date(2026, 10, 22), date(2026, 10, 25))])
    result = send(local(2026, 10, 23, 12, 0), roster)
    assert result == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)


def test_leave_give_up_first():
    roster = roster_of(leave=[(date(2026, 3, 3), date(2026, 3, 13))])
    result = send(local(2026, 3, 4, 12, 0), roster, give_up=local(2026, 3, 8, 0, 0))
    assert result is None


def test_give_up_exact_moment_still_sends():
    roster = roster_of(leave=[(date(2026, 3, 3), date(2026, 3, 5))])
    result = send(local(2026, 3, 4, 12, 0), roster, give_up=local(2026, 3, 6, 8, 0))
    assert result == local(2026, 3, 6, 8, 0)


def test_give_up_naive_rejected():
    with pytest.raises(ValueError, match="give_up must be a timezone-aware datetime"):
        send(local(2026, 3, 4, 12, 0), give_up=datetime(2026, 3, 5))


def test_leave_then_night_sleep():
    # Back from leave on Friday with a Night that evening: Saturday's nudge waits for sleep.
    roster = roster_of([(date(2026, 3, 6), "Night")], leave=[(date(2026, 3, 3), date(2026, 3, 5))])
    assert send(local(2026, 3, 4, 12, 0), roster) == local(2026, 3, 6, 8, 0)
    assert send(local(2026, 3, 7, 7, 0), roster) == local(2026, 3, 7, 14, 30)


def test_blocks_chain_together():
    # Leave ends Thursday, the pause ends Friday, and a Night ends Saturday 06:30.
    roster = roster_of([(date(2026, 3, 6), "Night")], leave=[(date(2026, 3, 3), date(2026, 3, 5))])
    result = send(local(2026, 3, 4, 12, 0), roster, paused_until=date(2026, 3, 6))
    assert result == local(2026, 3, 7, 14, 30)


# Whether a late message is still worth sending.


def early_shift() -> Shift:
    return make_shift("W1", date(2026, 3, 4), TYPES["Early"])


def test_coach_post_before_shift_end():
    worth = still_worth_sending(
        MessageKind.COACH_POST, local(2026, 3, 4, 6, 0), local(2026, 3, 4, 14, 0), shift=early_shift()
    )
    assert worth is True


def test_coach_post_after_shift_dropped():
    due = local(2026, 3, 4, 6, 0)
    assert still_worth_sending("coach post", due, local(2026, 3, 4, 14, 30), shift=early_shift()) is False
    assert still_worth_sending("coach post", due, local(2026, 3, 5, 9, 0), shift=early_shift()) is False


def test_coach_post_needs_shift():
    with pytest.raises(ValueError, match="Pass shift="):
        still_worth_sending(MessageKind.COACH_POST, local(2026, 3, 4, 6, 0), local(2026, 3, 4, 7, 0))


def test_coach_post_repeated_hour():
    # The shift ends at 01:30 BST, and 01:15 GMT comes 45 minutes later, though its wall clock is earlier.
    late_shift = make_shift("W1", date(2026, 10, 24), ShiftType("Late", time(17, 30), time(1, 30)))
    now = local(2026, 10, 25, 1, 15, fold=1)
    assert still_worth_sending(MessageKind.COACH_POST, local(2026, 10, 24, 17, 0), now, shift=late_shift) is False


def test_reminder_before_session_sent():
    session = local(2026, 3, 4, 10, 0)
    assert still_worth_sending("session reminder", local(2026, 3, 4, 9, 0), local(2026, 3, 4, 9, 59), session_start=session)


def test_reminder_after_start_dropped():
    session = local(2026, 3, 4, 10, 0)
    due = local(2026, 3, 4, 9, 0)
    assert still_worth_sending("session reminder", due, session, session_start=session) is False
    assert still_worth_sending("session reminder", due, local(2026, 3, 4, 11, 0), session_start=session) is False


def test_reminder_needs_session_start():
    with pytest.raises(ValueError, match="Pass session_start="):
        still_worth_sending(MessageKind.SESSION_REMINDER, local(2026, 3, 4, 9, 0), local(2026, 3, 4, 9, 30))


def test_other_kinds_sent_late():
    due = local(2026, 3, 4, 12, 0)
    week_later = due + timedelta(days=7)
    for kind in (MessageKind.PROTECTED_TIME_NUDGE, MessageKind.RATING_FORM, MessageKind.EDUCATOR_DIGEST):
        assert still_worth_sending(kind, due, week_later, shift=early_shift()) is True, kind


def test_unknown_kind_rejected():
    with pytest.raises(ValueError, match="Unknown message kind 'fax'"):
        still_worth_sending("fax", local(2026, 3, 4, 12, 0), local(2026, 3, 4, 13, 0))


def test_worth_sending_naive_now_rejected():
    with pytest.raises(ValueError, match="now must be a timezone-aware datetime"):
        still_worth_sending("rating form", local(2026, 3, 4, 12, 0), datetime(2026, 3, 4, 13, 0))


# Property: the result is never blocked, never early, and nothing earlier was free.

# Quiet-hour bounds avoid 01:00-02:00, the hour the clock changes skip or repeat, where a wall
# time alone does not identify the instant.
BOUND_HOURS = [0, 3, 6, 7, 8, 9, 12, 13, 18, 20, 21, 22, 23]


def blocked(moment: datetime, roster: Roster, policy: WardPolicy, paused_until: date | None) -> str | None:
    """Return why `moment` is blocked for P, worked out from local dates and wall times."""
    zone = ZoneInfo(policy.timezone)
    now = moment.astimezone(zone)
    wall, today = now.time(), now.date()
    start, end = policy.quiet_hours_start, policy.quiet_hours_end

    if start > end and (wall >= start or wall < end):
        return "quiet"
    if start < end and start <= wall < end:
        return "quiet"
    if paused_until is not None and (today <= paused_until or (today == paused_until + timedelta(days=1) and wall < end)):
        return "paused"
    for leave in roster.leave:
        if leave.covers(today) or (today == leave.end + timedelta(days=1) and wall < end):
            return "leave"
    for duty in roster.duties:
        worked = roster.shifts[duty.shift_key]
        if worked.type != "Night" or any(leave.covers(worked.day) for leave in roster.leave):
            continue
        ends = worked.ends_at.astimezone(UTC)
        wakes = max(ends + timedelta(hours=8), datetime.combine(worked.ends_at.date(), time(14, 0), tzinfo=zone))
        if ends <= moment < wakes:
            return "asleep"
    return None


@st.composite
def scenarios(draw):
    first = draw(st.sampled_from([date(2026, 3, 21), date(2026, 10, 17), date(2026, 12, 20), date(2026, 6, 1)]))
    days = 14
    duties = []
    for offset in range(days):
        kind = draw(st.sampled_from([None, None, "Early", "Late", "Night", "Night"]))
        if kind is not None:
            duties.append((first + timedelta(days=offset), kind))
    leave = []
    for _ in range(draw(st.integers(0, 2))):
        start = draw(st.integers(0, days - 1))
        length = draw(st.integers(0, 4))
        leave.append((first + timedelta(days=start), first + timedelta(days=start + length)))
    quiet = draw(st.tuples(st.sampled_from(BOUND_HOURS), st.sampled_from(BOUND_HOURS), st.sampled_from([0, 30])))
    policy = WardPolicy(quiet_hours_start=time(quiet[0], quiet[2]), quiet_hours_end=time(quiet[1]))
    paused = draw(st.one_of(st.none(), st.integers(-1, days).map(lambda offset: first + timedelta(days=offset))))
    due_minutes = draw(st.integers(0, days * 24 * 60))
    due = datetime.combine(first, time(0), tzinfo=LONDON).astimezone(UTC) + timedelta(minutes=due_minutes)
    return roster_of(duties, leave, policy=policy), policy, paused, due


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_next_send_time_never_blocked(scenario):
    roster, policy, paused, due = scenario
    result = next_send_time("P", due, roster=roster, policy=policy, paused_until=paused)
    assert result is not None
    assert result >= due
    assert blocked(result, roster, policy, paused) is None
    if result > due:
        # The moment just before, the midpoint and `due` itself were all blocked.
        assert blocked(result - timedelta(seconds=1), roster, policy, paused) is not None
        assert blocked(due + (result - due) / 2, roster, policy, paused) is not None
        assert blocked(due, roster, policy, paused) is not None


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.integers(0, 20 * 24 * 60))
def test_give_up_only_when_later(scenario, give_up_minutes):
    roster, policy, paused, due = scenario
    give_up = due + timedelta(minutes=give_up_minutes)
    unlimited = next_send_time("P", due, roster=roster, policy=policy, paused_until=paused)
    limited = next_send_time("P", due, roster=roster, policy=policy, paused_until=paused, give_up=give_up)
    assert unlimited is not None
    assert limited == (unlimited if unlimited <= give_up else None)
