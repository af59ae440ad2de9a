from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class ShiftType:
    """A named shift with local clock times; an end at or before the start means the next day."""

    name: str
    start: time
    end: time

    @property
    def overnight(self) -> bool:
        return self.end <= self.start


# The INRC-2010 competition's clock times, which clipbot also uses for INRC-II rosters.
DEFAULT_SHIFT_TYPES: tuple[ShiftType, ...] = (
    ShiftType("Early", time(6, 30), time(14, 30)),
    ShiftType("Day", time(8, 30), time(16, 30)),
    ShiftType("Late", time(14, 30), time(22, 30)),
    ShiftType("Night", time(22, 30), time(6, 30)),
)


@dataclass(frozen=True, slots=True)
class Shift:
    """One shift on one ward on one day, with aware start and end times."""

    ward: str
    day: date
    type: str
    starts_at: datetime
    ends_at: datetime

    @property
    def key(self) -> str:
        return shift_key(self.day, self.type)

    @property
    def hours(self) -> float:
        # Subtract in UTC so that a night across a clock change counts its real length.
        return (self.ends_at.astimezone(UTC) - self.starts_at.astimezone(UTC)).total_seconds() / 3600

    def label(self) -> str:
        return f"{self.type} {self.day:%a %d %b} {self.starts_at:%H:%M}-{self.ends_at:%H:%M}"


def shift_key(day: date, type_name: str) -> str:
    return f"{day.isoformat()} {type_name}"


def make_shift(ward: str, day: date, shift_type: ShiftType, timezone: str = "Europe/London") -> Shift:
    """Build the shift of `shift_type` that starts on `day`, in the ward's local time zone."""
    zone = ZoneInfo(timezone)
    starts_at = datetime.combine(day, shift_type.start, tzinfo=zone)
    end_day = day + timedelta(days=1) if shift_type.overnight else day
    ends_at = datetime.combine(end_day, shift_type.end, tzinfo=zone)
    return Shift(ward=ward, day=day, type=shift_type.name, starts_at=starts_at, ends_at=ends_at)


@dataclass(frozen=True, slots=True)
class Duty:
    """A person rostered on a shift.

    `in_charge` marks the nurse in charge of the ward on that shift. `coach` is a coach the roster
    itself names for a student, which coach grouping keeps when it is valid.
    """

    shift_key: str
    person: str
    in_charge: bool = False
    coach: str | None = None


@dataclass(frozen=True, slots=True)
class Leave:
    """A person's leave, inclusive of both dates."""

    person: str
    start: date
    end: date

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end
