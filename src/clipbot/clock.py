"""Injected time, so that scheduling and "today" logic can be tested without sleeping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stays where it is put; `moment` must be timezone-aware."""

    def __init__(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError(f"FixedClock needs an aware datetime, got {moment!r}")
        self.moment = moment

    def now(self) -> datetime:
        return self.moment
