"""Table definitions, kept identical to the schema that migration 0001 creates.

Every row belongs to one organisation, either through its own `organisation_id` or through its
ward, shift or person. Queries go through the Core tables (`Record.__table__`) so that bulk updates
never leave stale objects in a session's identity map.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ASSIGNMENT_STATUSES = ("proposed", "confirmed", "ended")

# Fixed constraint names, so that migrations can refer to them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored in UTC and returned in UTC.

    PostgreSQL keeps it as `timestamp with time zone`. SQLite has no time zones, so the value is
    converted to UTC and stored without an offset, and read back as UTC. Naive values are rejected.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"The time {value.isoformat()} has no time zone; give it one, for example Europe/London.")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


metadata = Base.metadata


def _organisation_fk() -> Mapped[int]:
    return mapped_column(Integer, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False)


class OrganisationRecord(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String, nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String, nullable=False)


class WardRecord(Base):
    __tablename__ = "wards"
    __table_args__ = (UniqueConstraint("organisation_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = _organisation_fk()
    key: Mapped[str] = mapped_column(String, nullable=False)
    name: Mapped[str] = mapped_column(String, nullable=False)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class PersonRecord(Base):
    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("organisation_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = _organisation_fk()
    key: Mapped[str] = mapped_column(String, nullable=False)
    name: Mapped[str] = mapped_column(String, nullable=False)
    registration: Mapped[str] = mapped_column(String, nullable=False)
    field: Mapped[str | None] = mapped_column(String, nullable=True)
    email: Mapped[str | None] = mapped_column(String, nullable=True)
    programme_part: Mapped[int | None] = mapped_column(Integer, nullable=True)
    university: Mapped[str | None] = mapped_column(String, nullable=True)
    academic: Mapped[bool] = mapped_column(Boolean, nullable=False)


class WardMemberRecord(Base):
    """A person listed on a ward's roster, whether or not they have shifts in it."""

    __tablename__ = "ward_members"
    __table_args__ = (Index(None, "person_id"),)

    ward_id: Mapped[int] = mapped_column(Integer, ForeignKey("wards.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(Integer, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)


class PlacementRecord(Base):
    __tablename__ = "placements"
    __table_args__ = (UniqueConstraint("student_id", "ward_id", "start"), Index(None, "ward_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(Integer, ForeignKey("people.id", ondelete="CASCADE"), nullable=False)
    ward_id: Mapped[int] = mapped_column(Integer, ForeignKey("wards.id", ondelete="CASCADE"), nullable=False)
    start: Mapped[date] = mapped_column(Date, nullable=False)
    end: Mapped[date] = mapped_column(Date, nullable=False)


class ShiftRecord(Base):
    __tablename__ = "shifts"
    __table_args__ = (UniqueConstraint("ward_id", "day", "type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_id: Mapped[int] = mapped_column(Integer, ForeignKey("wards.id", ondelete="CASCADE"), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    type: Mapped[str] = mapped_column(String, nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class DutyRecord(Base):
    __tablename__ = "duties"
    __table_args__ = (UniqueConstraint("shift_id", "person_id"), Index(None, "person_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shift_id: Mapped[int] = mapped_column(Integer, ForeignKey("shifts.id", ondelete="CASCADE"), nullable=False)
    person_id: Mapped[int] = mapped_column(Integer, ForeignKey("people.id", ondelete="CASCADE"), nullable=False)
    in_charge: Mapped[bool] = mapped_column(Boolean, nullable=False)
    coach_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )


class LeaveRecord(Base):
    __tablename__ = "leave"
    __table_args__ = (UniqueConstraint("person_id", "start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(Integer, ForeignKey("people.id", ondelete="CASCADE"), nullable=False)
    start: Mapped[date] = mapped_column(Date, nullable=False)
    end: Mapped[date] = mapped_column(Date, nullable=False)


class RoleAssignmentRecord(Base):
    """A role held by a person; `shift_key` is the domain's shift key text for a coach."""

    __tablename__ = "role_assignments"
    __table_args__ = (
        CheckConstraint("status IN ('proposed', 'confirmed', 'ended')", name="status"),
        Index(None, "organisation_id", "status"),
        Index(None, "person_id"),
        Index(None, "student_id"),
        Index(None, "ward_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = _organisation_fk()
    role: Mapped[str] = mapped_column(String, nullable=False)
    person_id: Mapped[int] = mapped_column(Integer, ForeignKey("people.id", ondelete="CASCADE"), nullable=False)
    student_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("people.id", ondelete="CASCADE"), nullable=True
    )
    ward_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("wards.id", ondelete="CASCADE"), nullable=True)
    shift_key: Mapped[str | None] = mapped_column(String, nullable=True)
    start: Mapped[date] = mapped_column(Date, nullable=False)
    end: Mapped[date] = mapped_column(Date, nullable=False)
    programme_part: Mapped[int | None] = mapped_column(Integer, nullable=True)
    change_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


organisations = cast(Table, OrganisationRecord.__table__)
wards = cast(Table, WardRecord.__table__)
people = cast(Table, PersonRecord.__table__)
ward_members = cast(Table, WardMemberRecord.__table__)
placements = cast(Table, PlacementRecord.__table__)
shifts = cast(Table, ShiftRecord.__table__)
duties = cast(Table, DutyRecord.__table__)
leave = cast(Table, LeaveRecord.__table__)
role_assignments = cast(Table, RoleAssignmentRecord.__table__)
