"""When the bot may send a message to a person: quiet hours, sleep after nights, pauses and leave.

Everything here is pure: callers pass aware datetimes, including `now`, and nothing reads the clock.
Local wall times become instants through zoneinfo, and all comparisons and arithmetic happen in UTC.
So the clock changes on the last Sundays of March and October never shift a send time by an hour,
and no send time is skipped or repeated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from clipbot.domain.roster import Roster
from clipbot.domain.shifts import Shift
from clipbot.domain.ward import WardPolicy

# The `holidays` package's subdivision codes for the four UK nations.
NATIONS: dict[str, str] = {
    "England": "ENG",
    "Scotland": "SCT",
    "Wales": "WLS",
    "Northern Ireland": "NIR",
}

SLEEP_AFTER_NIGHT = timedelta(hours=8)
SLEEP_UNTIL_AT_LEAST = time(14, 0)

# "Night time" in the Working Time Regulations 1998 (regulation 2) when no agreement sets it, and the
# three hours of it that make a night worker's working day.
NIGHT_TIME_START = time(23, 0)
NIGHT_TIME_END = time(6, 0)
NIGHT_SHIFT_MIN_NIGHT_TIME = timedelta(hours=3)

_EARLIEST = datetime.min.replace(tzinfo=UTC)


class MessageKind(StrEnum):
    """The kinds of message the bot sends on its own."""

    COACH_POST = "coach post"
    SESSION_REMINDER = "session reminder"
    PROTECTED_TIME_NUDGE = "protected time nudge"
    RATING_FORM = "rating form"
    EDUCATOR_DIGEST = "educator digest"


def nation_code(nation: str) -> str:
    """Return the `holidays` subdivision code of a UK nation, or raise ValueError naming the choices."""
    code = NATIONS.get(nation)
    if code is None:
        choices = ", ".join(NATIONS)
        raise ValueError(f"Unknown UK nation {nation!r} for bank holidays. Use one of: {choices}.")
    return code


@lru_cache(maxsize=64)
def _bank_holidays_of_year(year: int, code: str) -> dict[date, str]:
    return dict(holidays.UK(subdiv=code, years=year))


def uk_bank_holidays(years: int | Iterable[int], nation: str = "England") -> dict[date, str]:
    """Return the bank holidays of one UK nation in `years`, mapping each date to its name.

    The dates come from the `holidays` package and include substitute days ("Boxing Day
    (observed)") as well as holidays that fall on a weekend.
    """
    code = nation_code(nation)
    wanted = [years] if isinstance(years, int) else sorted(set(years))
    found: dict[date, str] = {}
    for year in wanted:
        found.update(_bank_holidays_of_year(year, code))
    return dict(sorted(found.items()))


def is_working_day(day: date, nation: str = "England") -> bool:
    """Return whether `day` is Monday to Friday and not a bank holiday in `nation`."""
    if day.weekday() >= 5:
        return False
    return day not in _bank_holidays_of_year(day.year, nation_code(nation))


def ward_zone(policy: WardPolicy) -> ZoneInfo:
    """Return the ward's time zone, or raise ValueError when the policy names an unknown one."""
    try:
        return ZoneInfo(policy.timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"Unknown time zone {policy.timezone!r} in the ward policy. Use an IANA name such as Europe/London."
        ) from error


def local_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """Return the UTC instant of the wall time `wall` on `day` in `zone`.

    A wall time that a spring clock change skips maps to the instant the clock would have shown it
    without the change (01:30 on 29 March 2026 in London is 01:30 UTC, shown as 02:30 BST). A wall
    time that an autumn change repeats maps to its first occurrence.
    """
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def require_aware(value: datetime, name: str) -> None:
    """Raise ValueError unless `value` carries a time zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name} must be a timezone-aware datetime, got {value.isoformat()} with no zone. "
            f"Attach one, for example tzinfo=ZoneInfo('Europe/London')."
        )


@dataclass(frozen=True, slots=True)
class _Window:
    """A span of time in UTC in which nothing may reach the person. `end` is excluded."""

    start: datetime
    end: datetime

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def is_night_shift(shift: Shift, zone: ZoneInfo) -> bool:
    """Return whether at least three hours of the shift fall between 23:00 and 06:00 local time.

    That is the Working Time Regulations 1998 test of a night worker's day, applied to one shift.
    A Night shift of 22:30-06:30 qualifies, but a Late shift ending at 00:30 does not.
    """
    starts = shift.starts_at.astimezone(UTC)
    ends = shift.ends_at.astimezone(UTC)
    first = starts.astimezone(zone).date() - timedelta(days=1)
    last = ends.astimezone(zone).date()

    night_time = timedelta()
    day = first
    while day <= last:
        night_start = local_instant(day, NIGHT_TIME_START, zone)
        night_end = local_instant(day + timedelta(days=1), NIGHT_TIME_END, zone)
        overlap = min(ends, night_end) - max(starts, night_start)
        if overlap > timedelta():
            night_time += overlap
        day += timedelta(days=1)
    return night_time >= NIGHT_SHIFT_MIN_NIGHT_TIME


def sleep_window(shift: Shift, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Return the UTC span after a night shift in which the person who worked it sleeps.

    It runs from the end of the shift until 8 hours later or until 14:00 local time on the day the
    shift ends, whichever is later.
    """
    ends = shift.ends_at.astimezone(UTC)
    local_end_day = ends.astimezone(zone).date()
    wakes = max(ends + SLEEP_AFTER_NIGHT, local_instant(local_end_day, SLEEP_UNTIL_AT_LEAST, zone))
    return ends, wakes


def _person_windows(
    person_key: str, roster: Roster, policy: WardPolicy, paused_until: date | None, zone: ZoneInfo
) -> list[_Window]:
    """Collect the person's own blocked spans: pause, leave and sleep after night shifts."""
    windows: list[_Window] = []
    if paused_until is not None:
        resume = local_instant(paused_until + timedelta(days=1), policy.quiet_hours_end, zone)
        windows.append(_Window(_EARLIEST, resume))

    leaves = [leave for leave in roster.leave if leave.person == person_key]
    for leave in leaves:
        first_day_back = leave.end + timedelta(days=1)
        windows.append(_Window(
            local_instant(leave.start, time(0, 0), zone),
            local_instant(first_day_back, policy.quiet_hours_end, zone),
        ))

    for duty in roster.duties:
        if duty.person != person_key:
            continue
        shift = roster.shifts.get(duty.shift_key)
        if shift is None or any(leave.covers(shift.day) for leave in leaves):
            continue
        if is_night_shift(shift, zone):
            windows.append(_Window(*sleep_window(shift, zone)))
    return windows


def _quiet_windows(moment: datetime, policy: WardPolicy, zone: ZoneInfo) -> list[_Window]:
    """Return the quiet-hours spans that could contain `moment`: those starting on its local day or the day before."""
    start, end = policy.quiet_hours_start, policy.quiet_hours_end
    if start == end:
        return []
    today = moment.astimezone(zone).date()
    windows: list[_Window] = []
    for day in (today - timedelta(days=1), today):
        # Quiet hours of 21:00-08:00 start on one day and end on the next.
        end_day = day + timedelta(days=1) if end < start else day
        windows.append(_Window(local_instant(day, start, zone), local_instant(end_day, end, zone)))
    return windows


def next_send_time(
    person_key: str,
    due: datetime,
    *,
    roster: Roster,
    policy: WardPolicy,
    paused_until: date | None = None,
    give_up: datetime | None = None,
) -> datetime | None:
    """Return the earliest moment at or after `due` when a message may reach the person.

    The result is in the ward's time zone. A moment is blocked, and the message waits, when it is:

    - inside quiet hours, from `policy.quiet_hours_start` to `policy.quiet_hours_end` local time. A
      start after the end crosses midnight (21:00-08:00 by default), and equal times mean no quiet hours;
    - in the sleep after a night shift the person works: from the end of the shift until 8 hours
      later or 14:00 local time on the day it ends, whichever is later. `is_night_shift` defines
      which shifts count, and shifts that start on a day of leave are not worked;
    - before `policy.quiet_hours_end` local time on the day after `paused_until` ("pause until
      Friday" resumes at 08:00 on Saturday by default);
    - from 00:00 local time on the first day of the person's leave until `policy.quiet_hours_end`
      on the first day back.

    Returns None when that earliest moment is later than `give_up`.
    """
    require_aware(due, "due")
    if give_up is not None:
        require_aware(give_up, "give_up")
    zone = ward_zone(policy)
    windows = _person_windows(person_key, roster, policy, paused_until, zone)

    # Each pass jumps to the latest end among the spans containing the moment. It stops because
    # every jump moves forward, the person's spans are finite and quiet hours leave part of each day free.
    moment = due.astimezone(UTC)
    while True:
        if give_up is not None and moment > give_up:
            return None
        blocking = [window.end for window in (*windows, *_quiet_windows(moment, policy, zone)) if window.contains(moment)]
        if not blocking:
            return moment.astimezone(zone)
        moment = max(blocking)


def _message_kind(kind: MessageKind | str) -> MessageKind:
    try:
        return MessageKind(kind)
    except ValueError:
        choices = ", ".join(repr(member.value) for member in MessageKind)
        raise ValueError(f"Unknown message kind {kind!r}. Use one of: {choices}.") from None


def still_worth_sending(
    kind: MessageKind | str,
    due: datetime,
    now: datetime,
    *,
    shift: Shift | None = None,
    session_start: datetime | None = None,
) -> bool:
    """Return whether a message that is due, perhaps long ago, should still be sent at `now`.

    A coach post is dropped once its `shift` has ended, and a session reminder once the session
    has started at `session_start`. Every other kind is sent late. The decision depends on `now`,
    not on `due`, because `next_send_time` can move a message past its shift: a coach post for a
    22:30 night shift is held by quiet hours until the next morning.

    Raises ValueError when a coach post has no shift or a session reminder has no session start.
    """
    require_aware(due, "due")
    require_aware(now, "now")
    message_kind = _message_kind(kind)
    # Compare in UTC: two London times during the repeated autumn hour compare by wall clock alone.
    now_utc = now.astimezone(UTC)

    if message_kind is MessageKind.COACH_POST:
        if shift is None:
            raise ValueError("A coach post needs its shift to decide whether it is still worth sending. Pass shift=.")
        return now_utc < shift.ends_at.astimezone(UTC)

    if message_kind is MessageKind.SESSION_REMINDER:
        if session_start is None:
            raise ValueError(
                "A session reminder needs the session's start to decide whether it is still worth sending. "
                "Pass session_start=."
            )
        require_aware(session_start, "session_start")
        return now_utc < session_start.astimezone(UTC)

    return True
