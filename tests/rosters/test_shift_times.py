from __future__ import annotations

from datetime import time

import pytest

from clipbot.domain.shifts import DEFAULT_SHIFT_TYPES, ShiftType
from clipbot.rosters import RosterError, parse_shift_times


def by_name(shift_types: tuple[ShiftType, ...]) -> dict[str, ShiftType]:
    return {shift_type.name: shift_type for shift_type in shift_types}


def test_named_types_replace_defaults() -> None:
    parsed = by_name(parse_shift_times("Early=06:30-14:30,Night=22:30-06:30"))

    assert parsed["Early"] == ShiftType("Early", time(6, 30), time(14, 30))
    assert parsed["Night"] == ShiftType("Night", time(22, 30), time(6, 30))


def test_unnamed_types_keep_defaults() -> None:
    parsed = by_name(parse_shift_times("Early=07:00-15:00"))
    defaults = by_name(DEFAULT_SHIFT_TYPES)

    assert parsed["Day"] == defaults["Day"]
    assert parsed["Late"] == defaults["Late"]
    assert parsed["Night"] == defaults["Night"]
    assert parsed["Early"] == ShiftType("Early", time(7, 0), time(15, 0))


def test_name_case_keeps_default_spelling() -> None:
    parsed = parse_shift_times(" night = 21:00 - 07:30 ")

    assert [shift_type.name for shift_type in parsed] == ["Early", "Day", "Late", "Night"]
    assert by_name(parsed)["Night"] == ShiftType("Night", time(21, 0), time(7, 30))


def test_new_name_is_added_after_defaults() -> None:
    parsed = parse_shift_times("Twilight=18:00-02:00,")

    assert parsed[-1] == ShiftType("Twilight", time(18, 0), time(2, 0))
    assert parsed[:-1] == DEFAULT_SHIFT_TYPES


def test_single_digit_hour_is_accepted() -> None:
    parsed = by_name(parse_shift_times("Early=7:00-15:00"))

    assert parsed["Early"].start == time(7, 0)


def test_overnight_type_is_overnight() -> None:
    parsed = by_name(parse_shift_times("Night=20:00-08:00"))

    assert parsed["Night"].overnight


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        ("", None, "No shift times"),
        ("Early", None, "'Early' is not a shift time"),
        ("=06:30-14:30", None, "is not a shift time"),
        ("Early=6.30-14.30", "Early", "'6.30-14.30'"),
        ("Early=06:30", "Early", "'06:30'"),
        ("Early=24:00-08:00", "Early", "'24:00-08:00'"),
        ("Early=06:60-14:30", "Early", "'06:60-14:30'"),
        ("Early=08:00-08:00", "Early", "starts and ends at 08:00"),
        ("Early=06:30-14:30,early=07:00-15:00", "early", "more than once"),
        ("Leave=09:00-17:00", "Leave", "cannot be a shift type"),
    ],
)
def test_bad_text_is_rejected(text: str, field: str | None, fragment: str) -> None:
    with pytest.raises(RosterError) as raised:
        parse_shift_times(text)

    problem = raised.value.problems[0]
    assert problem.field == field
    assert fragment in problem.message


def test_every_bad_item_is_reported() -> None:
    with pytest.raises(RosterError) as raised:
        parse_shift_times("Early=nine-five,Late=14:30-22:30,Night=x")

    assert [problem.field for problem in raised.value.problems] == ["Early", "Night"]


def test_source_names_the_problems() -> None:
    with pytest.raises(RosterError) as raised:
        parse_shift_times("Early", source="--shift-times")

    assert str(raised.value).startswith("--shift-times: ")
