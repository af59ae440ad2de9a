"""Protected learning time: each student's weekly session with their practice assessor or supervisor.

Weeks are ISO weeks, Monday to Sunday, in the ward's local time (Europe/London unless the policy
sets another zone). Nothing here reads the clock or sends anything. The functions propose slots, say
when to nudge, and sum up the weeks that ended without a confirmed session for the educator.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from clipbot.domain.roster import Roster
from clipbot.domain.shifts import Shift
from clipbot.domain.timing import is_working_day, require_aware, ward_zone

LONDON = "Europe/London"

# Slots keep clear of the first and last hour of a shift, when the ward hands over.
HANDOVER = timedelta(hours=1)

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _local_day(day: date | datetime, timezone: str = LONDON) -> date:
    """Return `day` itself, or the local date of an aware datetime in `timezone`."""
    if isinstance(day, datetime):
        require_aware(day, "day")
        return day.astimezone(ZoneInfo(timezone)).date()
    return day


def _require_monday(monday: date) -> None:
    if isinstance(monday, datetime) or monday.weekday() != 0:
        raise ValueError(
            f"monday must be the date of a Monday, got {monday!r}, a {_WEEKDAYS[monday.weekday()]}. "
            f"Use week_of(day)[0] to find the Monday of its week."
        )


def week_of(day: date | datetime) -> tuple[date, date]:
    """Return the Monday and Sunday of the ISO week containing `day`.

    An aware datetime counts by its date in Europe/London, so 23:30 UTC on a summer Sunday is
    already the next week.
    """
    local = _local_day(day)
    monday = local - timedelta(days=local.weekday())
    return monday, monday + timedelta(days=6)


def iso_week_key(day: date | datetime) -> str:
    """Return the ISO week of `day` as "2026-W43".

    The year is the ISO year, which differs from the calendar year for some days near New Year.
    """
    year, week, _ = _local_day(day).isocalendar()
    return f"{year}-W{week:02d}"


def week_end(monday: date, timezone: str = LONDON) -> datetime:
    """Return 23:59:59 local time on the Sunday of the week starting `monday`."""
    _require_monday(monday)
    return datetime.combine(monday + timedelta(days=6), time(23, 59, 59), tzinfo=ZoneInfo(timezone))


def first_working_day(monday: date, nation: str = "England") -> date:
    """Return the first working day on or after `monday`, skipping bank holidays in `nation`.

    That is the Monday itself, or the Tuesday after Easter Monday. No UK week has five bank holidays,
    so the day is always in the same week.
    """
    _require_monday(monday)
    day = monday
    while not is_working_day(day, nation):
        day += timedelta(days=1)
    return day


@dataclass(frozen=True, slots=True)
class ProtectedTimePolicy:
    """The day and local time of the weekly protected-time nudge. `nudge_weekday` 0 is Monday, 6 is Sunday."""

    nudge_weekday: int = 2
    nudge_time: time = time(12, 0)
    timezone: str = LONDON

    def __post_init__(self) -> None:
        if not 0 <= self.nudge_weekday <= 6:
            raise ValueError(
                f"nudge_weekday must be from 0 (Monday) to 6 (Sunday), got {self.nudge_weekday}."
            )


def midweek_nudge_time(monday: date, policy: ProtectedTimePolicy | None = None) -> datetime:
    """Return the moment the week's protected-time nudge is due: Wednesday 12:00 local by default.

    The outbox still passes it through `next_send_time`, which may delay it.
    """
    _require_monday(monday)
    chosen = policy or ProtectedTimePolicy()
    day = monday + timedelta(days=chosen.nudge_weekday)
    return datetime.combine(day, chosen.nudge_time, tzinfo=ZoneInfo(chosen.timezone))


@dataclass(frozen=True, slots=True)
class Slot:
    """A proposed protected-time session inside a shift that a student and a mentor both work."""

    start: datetime
    end: datetime
    mentor: str
    shift_key: str

    @property
    def minutes(self) -> int:
        return int((self.end.astimezone(UTC) - self.start.astimezone(UTC)).total_seconds() // 60)


def _slots_in_shift(shift: Shift, mentor: str, minutes: int, zone: ZoneInfo) -> list[Slot]:
    """Cut the shift, less its first and last hour, into back-to-back slots of `minutes`, earliest first."""
    length = timedelta(minutes=minutes)
    start = shift.starts_at.astimezone(UTC) + HANDOVER
    latest_end = shift.ends_at.astimezone(UTC) - HANDOVER
    slots: list[Slot] = []
    while start + length <= latest_end:
        slots.append(Slot(start.astimezone(zone), (start + length).astimezone(zone), mentor, shift.key))
        start += length
    return slots


def propose_slots(
    roster: Roster,
    student: str,
    mentors: Sequence[str],
    monday: date,
    *,
    minutes: int | None = None,
    limit: int = 3,
) -> list[Slot]:
    """Propose up to `limit` protected-time slots for `student` in the week starting `monday`.

    A slot starts that week and lies inside a shift that the student and one of `mentors`
    (their practice assessor or named practice supervisor) both work, neither on leave that day.
    It keeps clear of the shift's first and last hour for handover. Where several mentors share a
    shift, the first in `mentors` is chosen. `minutes` defaults to the ward policy's
    `protected_minutes_per_week`.

    Slots go on different days first, taking each day's earliest. Further slots on the same days
    follow only when fewer days than `limit` are shared. The result is sorted by start time and
    depends only on the arguments. It is empty when no shift is shared, which the caller reports.
    """
    _require_monday(monday)
    length = roster.ward.policy.protected_minutes_per_week if minutes is None else minutes
    if length <= 0:
        raise ValueError(f"minutes must be a positive number of minutes, got {length}.")
    if limit <= 0:
        raise ValueError(f"limit must be at least 1 slot, got {limit}.")
    zone = ward_zone(roster.ward.policy)
    sunday = monday + timedelta(days=6)

    shifts_of: dict[str, set[str]] = defaultdict(set)
    for duty in roster.duties:
        shifts_of[duty.person].add(duty.shift_key)

    def on_leave(person: str, day: date) -> bool:
        return any(leave.person == person and leave.covers(day) for leave in roster.leave)

    by_day: dict[date, list[Slot]] = defaultdict(list)
    for shift in roster.shifts_in_order():
        if not monday <= shift.day <= sunday:
            continue
        if shift.key not in shifts_of[student] or on_leave(student, shift.day):
            continue
        mentor = next(
            (key for key in mentors if shift.key in shifts_of[key] and not on_leave(key, shift.day)),
            None,
        )
        if mentor is not None:
            # A Sunday night runs into Monday; a slot after midnight would belong to the next week.
            slots = _slots_in_shift(shift, mentor, length, zone)
            by_day[shift.day].extend(slot for slot in slots if slot.start.date() <= sunday)

    # Round robin over the days: every day's first slot, then every day's second, and so on.
    chosen: list[Slot] = []
    rounds = max((len(slots) for slots in by_day.values()), default=0)
    for index in range(rounds):
        for day in sorted(by_day):
            if len(chosen) < limit and index < len(by_day[day]):
                chosen.append(by_day[day][index])
    return sorted(chosen, key=lambda slot: (slot.start.astimezone(UTC), slot.mentor))


class WeekResult(StrEnum):
    """The end state of a student's protected-time week."""

    CONFIRMED = "confirmed"
    DECLINED = "not this week"
    NO_REPLY = "no reply"
    NO_SHARED_SHIFT = "not on shift with their assessor or supervisor that week"


@dataclass(frozen=True, slots=True)
class WeekOutcome:
    """One student's protected-time week, with the clinical educator who hears about misses.

    `detail` is the student's own reason for declining, such as "on study day".
    """

    student: str
    educator: str
    monday: date
    result: WeekResult
    detail: str | None = None

    @property
    def reason(self) -> str:
        """The reason as the educator reads it, for example "not this week: on study day"."""
        detail = (self.detail or "").strip()
        if self.result is WeekResult.DECLINED and detail:
            return f"{self.result.value}: {detail}"
        return self.result.value


@dataclass(frozen=True, slots=True)
class MissedWeek:
    """A digest entry: a student whose week ended without a confirmed session, and why."""

    student: str
    week: str
    reason: str


def weekly_digest(outcomes: Iterable[WeekOutcome]) -> dict[str, list[MissedWeek]]:
    """Group the weeks without a confirmed session by clinical educator.

    Every educator named in `outcomes` gets a list. The list is empty when all their students had a
    session, so that the digest can report that too. A confirmed outcome for a student's week cancels any miss for that
    week. When one week has several misses, the last one given wins. Educators are in key order,
    and each list is ordered by week, then student.
    """
    confirmed: set[tuple[str, date]] = set()
    missed: dict[tuple[str, str, date], WeekOutcome] = {}
    educators: set[str] = set()
    for outcome in outcomes:
        educators.add(outcome.educator)
        if outcome.result is WeekResult.CONFIRMED:
            confirmed.add((outcome.student, outcome.monday))
        else:
            missed[(outcome.educator, outcome.student, outcome.monday)] = outcome

    digest: dict[str, list[MissedWeek]] = {educator: [] for educator in sorted(educators)}
    by_week = sorted(missed.items(), key=lambda item: (item[0][2], item[0][1]))
    for (educator, student, monday), outcome in by_week:
        if (student, monday) in confirmed:
            continue
        digest[educator].append(MissedWeek(student, iso_week_key(monday), outcome.reason))
    return digest
