"""Shift clock times given as text, for example on the command line."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import time

from clipbot.domain.shifts import DEFAULT_SHIFT_TYPES, ShiftType
from clipbot.rosters.errors import ProblemLog

# Reserved in shifts.csv for a day of leave, so no shift type may take it.
LEAVE = "leave"

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
_EXAMPLE = "Early=07:00-15:00,Night=21:00-07:30"


def find_shift_type(shift_types: Sequence[ShiftType], name: str) -> ShiftType | None:
    """Return the shift type called `name`, ignoring case and surrounding spaces."""
    target = name.strip().casefold()
    for shift_type in shift_types:
        if shift_type.name.casefold() == target:
            return shift_type
    return None


def parse_shift_times(text: str, *, source: str = "shift times") -> tuple[ShiftType, ...]:
    """Parse `Name=HH:MM-HH:MM` items separated by commas into shift types.

    A name that matches a default shift type (ignoring case) replaces its times and keeps the
    default's spelling. Default types that are not named keep their times, and new names are
    added after them. An end at or before the start means the shift ends the next day. Raises
    RosterError naming every bad item, with `source` as the file name of each problem.
    """
    problems = ProblemLog()
    shift_types = list(DEFAULT_SHIFT_TYPES)
    named: set[str] = set()

    items = [item.strip() for item in text.split(",")]
    if not any(items):
        problems.add(source, None, None, f"No shift times were given. Write them like {_EXAMPLE}.")

    for item in filter(None, items):
        name, equals, times = (part.strip() for part in item.partition("="))
        if not equals or not name:
            problems.add(source, None, None, f"'{item}' is not a shift time. Write it as Name=HH:MM-HH:MM, "
                         f"for example {_EXAMPLE}.")
            continue
        if name.casefold() == LEAVE:
            problems.add(source, None, name, "'Leave' marks a day of leave in shifts.csv, so it cannot be "
                         "a shift type. Choose another name.")
            continue
        if name.casefold() in named:
            problems.add(source, None, name, f"Shift type '{name}' is given more than once. Keep one time for it.")
            continue
        named.add(name.casefold())

        start_text, dash, end_text = (part.strip() for part in times.partition("-"))
        start, end = _parse_clock(start_text), _parse_clock(end_text)
        if not dash or start is None or end is None:
            problems.add(source, None, name, f"'{times}' is not a pair of 24-hour clock times. "
                         f"Write it as HH:MM-HH:MM, for example 07:00-15:00.")
            continue
        if start == end:
            problems.add(source, None, name, f"Shift type '{name}' starts and ends at {start:%H:%M}. "
                         f"Give different start and end times.")
            continue

        existing = find_shift_type(shift_types, name)
        if existing is None:
            shift_types.append(ShiftType(name, start, end))
        else:
            shift_types[shift_types.index(existing)] = ShiftType(existing.name, start, end)

    problems.raise_if_any()
    return tuple(shift_types)


def _parse_clock(text: str) -> time | None:
    match = _CLOCK.fullmatch(text)
    if match is None:
        return None
    hours, minutes = int(match[1]), int(match[2])
    if hours > 23 or minutes > 59:
        return None
    return time(hours, minutes)
