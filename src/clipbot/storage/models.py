"""Table definitions, kept identical to the schema that migrations 0001 to 0005 create.

Every row belongs to one organisation, either through its own `organisation_id` or through its
ward, shift or person. The exceptions are `processed_events` and slack_sdk's three `slack_*` tables,
which are shared by all organisations. Queries go through the Core tables (`Record.__table__`) so that bulk updates
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
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ASSIGNMENT_STATUSES = ("proposed", "confirmed", "ended")
CHAT_PLATFORMS = ("slack", "teams")

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


def _platform_check() -> CheckConstraint:
    return CheckConstraint("platform IN ('slack', 'teams')", name="platform")


class ChatWorkspaceRecord(Base):
    """A Slack workspace or Enterprise Grid organisation, or a Teams tenant, and the organisation it serves."""

    __tablename__ = "chat_workspaces"
    __table_args__ = (
        UniqueConstraint("platform", "external_id"),
        Index(None, "organisation_id"),
        _platform_check(),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String, nullable=False)
    external_id: Mapped[str] = mapped_column(String, nullable=False)
    organisation_id: Mapped[int] = _organisation_fk()
    name: Mapped[str | None] = mapped_column(String, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class ChatIdentityRecord(Base):
    """A chat user in one workspace, and the person linked to them, if any.

    `workspace` is the workspace's external id, as in `chat_workspaces.external_id`.
    """

    __tablename__ = "chat_identities"
    __table_args__ = (
        UniqueConstraint("platform", "workspace", "user_id"),
        UniqueConstraint("platform", "workspace", "person_id"),
        Index(None, "organisation_id"),
        Index(None, "person_id"),
        _platform_check(),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = _organisation_fk()
    platform: Mapped[str] = mapped_column(String, nullable=False)
    workspace: Mapped[str] = mapped_column(String, nullable=False)
    user_id: Mapped[str] = mapped_column(String, nullable=False)
    person_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )
    email: Mapped[str | None] = mapped_column(String, nullable=True)
    reachable: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class ProcessedEventRecord(Base):
    """An event id already handled, so that a redelivered event is handled once."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("platform", "event_id"), Index(None, "received_at"), _platform_check())

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String, nullable=False)
    event_id: Mapped[str] = mapped_column(String, nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class WardChannelRecord(Base):
    """The channel where a ward's messages are posted on one platform."""

    __tablename__ = "ward_channels"
    __table_args__ = (UniqueConstraint("ward_id", "platform"), _platform_check())

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_id: Mapped[int] = mapped_column(Integer, ForeignKey("wards.id", ondelete="CASCADE"), nullable=False)
    platform: Mapped[str] = mapped_column(String, nullable=False)
    workspace: Mapped[str] = mapped_column(String, nullable=False)
    channel_id: Mapped[str] = mapped_column(String, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class ConversationReferenceRecord(Base):
    """A serialised conversation reference, keyed "user:<user id>" or "channel:<conversation id>"."""

    __tablename__ = "conversation_references"
    __table_args__ = (
        UniqueConstraint("platform", "workspace", "key"),
        Index(None, "organisation_id"),
        _platform_check(),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = _organisation_fk()
    platform: Mapped[str] = mapped_column(String, nullable=False)
    workspace: Mapped[str] = mapped_column(String, nullable=False)
    key: Mapped[str] = mapped_column(Text, nullable=False)
    reference: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class OutboxRecord(Base):
    """A message that clipbot sends on its own at `due_at`, and where its delivery has got to.

    The two partial indexes serve the dispatcher's claim query: due pending messages, and messages
    whose sender's lease has run out. Rows that are sent, dropped or failed are in neither.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'sending', 'sent', 'dropped', 'failed')", name="state"),
        CheckConstraint("recipient_kind IN ('person', 'ward')", name="recipient_kind"),
        _platform_check(),
        Index(None, "organisation_id"),
        Index(
            "ix_outbox_pending_next_attempt_at",
            "next_attempt_at",
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
        Index(
            "ix_outbox_sending_lease_until",
            "lease_until",
            sqlite_where=text("state = 'sending'"),
            postgresql_where=text("state = 'sending'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = _organisation_fk()
    idempotency_key: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String, nullable=False)
    platform: Mapped[str | None] = mapped_column(String, nullable=True)
    recipient_kind: Mapped[str] = mapped_column(String, nullable=False)
    recipient: Mapped[str] = mapped_column(String, nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    state: Mapped[str] = mapped_column(String, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    lease_owner: Mapped[str | None] = mapped_column(String, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    platform_message_id: Mapped[str | None] = mapped_column(String, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


PROTECTED_SESSION_STATES = ("offered", "booked", "confirmed", "not_met", "declined")
RATING_SUBJECTS = ("session", "shift")


class ProtectedSessionRecord(Base):
    """A student's protected learning time in one ISO week, from a suggestion to whether they met.

    People and wards are stored by key, not by row id, so the history outlives a roster re-import.
    `offered` is a time the student suggested and the mentor has not yet accepted, and `declined`
    is either the student's "not this week" or a mentor turning a suggestion down (`decided_by`
    says whose). A declined week has no mentor or times. The partial unique index allows one booked
    or confirmed session per student and week.
    """

    __tablename__ = "protected_sessions"
    __table_args__ = (
        CheckConstraint(
            "state IN ('offered', 'booked', 'confirmed', 'not_met', 'declined')", name="state"
        ),
        Index(None, "organisation_id", "iso_week"),
        Index(None, "organisation_id", "student"),
        Index(
            "uq_protected_sessions_booked_week",
            "organisation_id",
            "student",
            "iso_week",
            unique=True,
            sqlite_where=text("state IN ('booked', 'confirmed')"),
            postgresql_where=text("state IN ('booked', 'confirmed')"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = _organisation_fk()
    student: Mapped[str] = mapped_column(String, nullable=False)
    mentor: Mapped[str | None] = mapped_column(String, nullable=True)
    ward: Mapped[str] = mapped_column(String, nullable=False)
    iso_week: Mapped[str] = mapped_column(String, nullable=False)
    shift_key: Mapped[str | None] = mapped_column(String, nullable=True)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    state: Mapped[str] = mapped_column(String, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class RatingRecord(Base):
    """A student's 1-5 rating of a protected-time session or a coached shift, one per subject.

    `subject_key` is the session id for a session and "<ward>/<shift key>" for a shift. `mentor` is
    the session's mentor or the shift's coach, kept for group averages only.
    """

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("organisation_id", "student", "subject_kind", "subject_key"),
        CheckConstraint("subject_kind IN ('session', 'shift')", name="subject_kind"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score"),
        Index(None, "organisation_id", "ward"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = _organisation_fk()
    student: Mapped[str] = mapped_column(String, nullable=False)
    ward: Mapped[str] = mapped_column(String, nullable=False)
    mentor: Mapped[str | None] = mapped_column(String, nullable=True)
    subject_kind: Mapped[str] = mapped_column(String, nullable=False)
    subject_key: Mapped[str] = mapped_column(String, nullable=False)
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class PauseRecord(Base):
    """A person who asked for no messages until the end of `until`, a local date."""

    __tablename__ = "pauses"
    __table_args__ = (UniqueConstraint("organisation_id", "person"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = _organisation_fk()
    person: Mapped[str] = mapped_column(String, nullable=False)
    until: Mapped[date] = mapped_column(Date, nullable=False)


class FileOfferRecord(Base):
    """A file offered to one chat user, who must consent before the bot uploads it (a Teams file consent card).

    `token` is the random id that the card sends back with the user's response. `content` is cleared
    once the file is uploaded or declined. While `state` is `uploading`, one upload has claimed the
    offer until `lease_until`, after which another attempt may take it over.
    """

    __tablename__ = "file_offers"
    __table_args__ = (
        CheckConstraint("state IN ('offered', 'uploading', 'uploaded', 'declined')", name="state"),
        _platform_check(),
        Index(None, "organisation_id"),
        Index(None, "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = _organisation_fk()
    token: Mapped[str] = mapped_column(String, nullable=False, unique=True)
    platform: Mapped[str] = mapped_column(String, nullable=False)
    workspace: Mapped[str] = mapped_column(String, nullable=False)
    user_id: Mapped[str] = mapped_column(String, nullable=False)
    filename: Mapped[str] = mapped_column(String, nullable=False)
    content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    state: Mapped[str] = mapped_column(String, nullable=False)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


# The three tables below belong to slack_sdk's SQLAlchemy OAuth stores (AsyncSQLAlchemyInstallationStore
# and AsyncSQLAlchemyOAuthStateStore, slack_sdk 3.48), which build their own Table objects with these
# default names. Columns, lengths and index names follow slack_sdk; the times are naive UTC as it writes them.


class SlackInstallationRecord(Base):
    __tablename__ = "slack_installations"
    __table_args__ = (
        Index("slack_installations_idx", "client_id", "enterprise_id", "team_id", "user_id", "installed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(32), nullable=False)
    app_id: Mapped[str] = mapped_column(String(32), nullable=False)
    enterprise_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    enterprise_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    enterprise_url: Mapped[str | None] = mapped_column(String(200), nullable=True)
    team_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    team_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    bot_token: Mapped[str | None] = mapped_column(String(200), nullable=True)
    bot_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    bot_user_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    bot_scopes: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    bot_refresh_token: Mapped[str | None] = mapped_column(String(200), nullable=True)
    bot_token_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    user_id: Mapped[str] = mapped_column(String(32), nullable=False)
    user_token: Mapped[str | None] = mapped_column(String(200), nullable=True)
    user_scopes: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    user_refresh_token: Mapped[str | None] = mapped_column(String(200), nullable=True)
    user_token_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    incoming_webhook_url: Mapped[str | None] = mapped_column(String(200), nullable=True)
    incoming_webhook_channel: Mapped[str | None] = mapped_column(String(200), nullable=True)
    incoming_webhook_channel_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    incoming_webhook_configuration_url: Mapped[str | None] = mapped_column(String(200), nullable=True)
    is_enterprise_install: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    token_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    installed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class SlackBotRecord(Base):
    __tablename__ = "slack_bots"
    __table_args__ = (Index("slack_bots_idx", "client_id", "enterprise_id", "team_id", "installed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(32), nullable=False)
    app_id: Mapped[str] = mapped_column(String(32), nullable=False)
    enterprise_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    enterprise_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    team_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    team_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    bot_token: Mapped[str | None] = mapped_column(String(200), nullable=True)
    bot_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    bot_user_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    bot_scopes: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    bot_refresh_token: Mapped[str | None] = mapped_column(String(200), nullable=True)
    bot_token_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    is_enterprise_install: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    installed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class SlackOAuthStateRecord(Base):
    __tablename__ = "slack_oauth_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    state: Mapped[str] = mapped_column(String(200), nullable=False)
    expire_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


organisations = cast(Table, OrganisationRecord.__table__)
wards = cast(Table, WardRecord.__table__)
people = cast(Table, PersonRecord.__table__)
ward_members = cast(Table, WardMemberRecord.__table__)
placements = cast(Table, PlacementRecord.__table__)
shifts = cast(Table, ShiftRecord.__table__)
duties = cast(Table, DutyRecord.__table__)
leave = cast(Table, LeaveRecord.__table__)
role_assignments = cast(Table, RoleAssignmentRecord.__table__)
chat_workspaces = cast(Table, ChatWorkspaceRecord.__table__)
chat_identities = cast(Table, ChatIdentityRecord.__table__)
processed_events = cast(Table, ProcessedEventRecord.__table__)
ward_channels = cast(Table, WardChannelRecord.__table__)
conversation_references = cast(Table, ConversationReferenceRecord.__table__)
outbox = cast(Table, OutboxRecord.__table__)
protected_sessions = cast(Table, ProtectedSessionRecord.__table__)
ratings = cast(Table, RatingRecord.__table__)
pauses = cast(Table, PauseRecord.__table__)
file_offers = cast(Table, FileOfferRecord.__table__)
slack_installations = cast(Table, SlackInstallationRecord.__table__)
slack_bots = cast(Table, SlackBotRecord.__table__)
slack_oauth_states = cast(Table, SlackOAuthStateRecord.__table__)
