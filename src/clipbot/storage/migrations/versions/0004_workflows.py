"""Create the tables of the scheduled workflows: protected learning time, ratings and pauses.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def _organisation(table: str) -> sa.Column[int]:
    return sa.Column(
        "organisation_id",
        sa.Integer(),
        sa.ForeignKey("organisations.id", name=f"fk_{table}_organisation_id_organisations", ondelete="CASCADE"),
        nullable=False,
    )


def _time(name: str, *, nullable: bool) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "protected_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True),
        _organisation("protected_sessions"),
        sa.Column("student", sa.String(), nullable=False),
        sa.Column("mentor", sa.String(), nullable=True),
        sa.Column("ward", sa.String(), nullable=False),
        sa.Column("iso_week", sa.String(), nullable=False),
        sa.Column("shift_key", sa.String(), nullable=True),
        _time("starts_at", nullable=True),
        _time("ends_at", nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(), nullable=True),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_protected_sessions"),
        sa.CheckConstraint(
            "state IN ('offered', 'booked', 'confirmed', 'not_met', 'declined')", name="ck_protected_sessions_state"
        ),
    )
    op.create_index("ix_protected_sessions_organisation_id_iso_week", "protected_sessions", ["organisation_id", "iso_week"])
    op.create_index("ix_protected_sessions_organisation_id_student", "protected_sessions", ["organisation_id", "student"])

    # One booked or confirmed session per student and week; offers, declines and misses may repeat.
    active = sa.text("state IN ('booked', 'confirmed')")
    op.create_index(
        "uq_protected_sessions_booked_week", "protected_sessions", ["organisation_id", "student", "iso_week"],
        unique=True, sqlite_where=active, postgresql_where=active,
    )

    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), autoincrement=True),
        _organisation("ratings"),
        sa.Column("student", sa.String(), nullable=False),
        sa.Column("ward", sa.String(), nullable=False),
        sa.Column("mentor", sa.String(), nullable=True),
        sa.Column("subject_kind", sa.String(), nullable=False),
        sa.Column("subject_key", sa.String(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        _time("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ratings"),
        sa.UniqueConstraint(
            "organisation_id", "student", "subject_kind", "subject_key",
            name="uq_ratings_organisation_id_student_subject_kind_subject_key",
        ),
        sa.CheckConstraint("subject_kind IN ('session', 'shift')", name="ck_ratings_subject_kind"),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="ck_ratings_score"),
    )
    op.create_index("ix_ratings_organisation_id_ward", "ratings", ["organisation_id", "ward"])

    op.create_table(
        "pauses",
        sa.Column("id", sa.Integer(), autoincrement=True),
        _organisation("pauses"),
        sa.Column("person", sa.String(), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pauses"),
        sa.UniqueConstraint("organisation_id", "person", name="uq_pauses_organisation_id_person"),
    )


def downgrade() -> None:
    op.drop_table("pauses")
    op.drop_table("ratings")
    op.drop_table("protected_sessions")
