"""Create the roster and role assignment tables.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _reference(
    owner: str, name: str, target: str, *, nullable: bool = False, ondelete: str = "CASCADE"
) -> sa.Column[int]:
    return sa.Column(
        name,
        sa.Integer(),
        sa.ForeignKey(f"{target}.id", name=f"fk_{owner}_{name}_{target}", ondelete=ondelete),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "organisations",
        _id(),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_organisations"),
        sa.UniqueConstraint("key", name="uq_organisations_key"),
    )
    op.create_table(
        "wards",
        _id(),
        _reference("wards", "organisation_id", "organisations"),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_wards"),
        sa.UniqueConstraint("organisation_id", "key", name="uq_wards_organisation_id_key"),
    )
    op.create_table(
        "people",
        _id(),
        _reference("people", "organisation_id", "organisations"),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("registration", sa.String(), nullable=False),
        sa.Column("field", sa.String(), nullable=True),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("programme_part", sa.Integer(), nullable=True),
        sa.Column("university", sa.String(), nullable=True),
        sa.Column("academic", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_people"),
        sa.UniqueConstraint("organisation_id", "key", name="uq_people_organisation_id_key"),
    )
    op.create_table(
        "ward_members",
        _reference("ward_members", "ward_id", "wards"),
        _reference("ward_members", "person_id", "people"),
        sa.PrimaryKeyConstraint("ward_id", "person_id", name="pk_ward_members"),
    )
    op.create_index("ix_ward_members_person_id", "ward_members", ["person_id"])
    op.create_table(
        "placements",
        _id(),
        _reference("placements", "student_id", "people"),
        _reference("placements", "ward_id", "wards"),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_placements"),
        sa.UniqueConstraint("student_id", "ward_id", "start", name="uq_placements_student_id_ward_id_start"),
    )
    op.create_index("ix_placements_ward_id", "placements", ["ward_id"])
    op.create_table(
        "shifts",
        _id(),
        _reference("shifts", "ward_id", "wards"),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shifts"),
        sa.UniqueConstraint("ward_id", "day", "type", name="uq_shifts_ward_id_day_type"),
    )
    op.create_table(
        "duties",
        _id(),
        _reference("duties", "shift_id", "shifts"),
        _reference("duties", "person_id", "people"),
        sa.Column("in_charge", sa.Boolean(), nullable=False),
        _reference("duties", "coach_id", "people", nullable=True, ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_duties"),
        sa.UniqueConstraint("shift_id", "person_id", name="uq_duties_shift_id_person_id"),
    )
    op.create_index("ix_duties_person_id", "duties", ["person_id"])
    op.create_table(
        "leave",
        _id(),
        _reference("leave", "person_id", "people"),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_leave"),
        sa.UniqueConstraint("person_id", "start", name="uq_leave_person_id_start"),
    )
    op.create_table(
        "role_assignments",
        _id(),
        _reference("role_assignments", "organisation_id", "organisations"),
        sa.Column("role", sa.String(), nullable=False),
        _reference("role_assignments", "person_id", "people"),
        _reference("role_assignments", "student_id", "people", nullable=True),
        _reference("role_assignments", "ward_id", "wards", nullable=True),
        sa.Column("shift_key", sa.String(), nullable=True),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("programme_part", sa.Integer(), nullable=True),
        sa.Column("change_reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_role_assignments"),
        sa.CheckConstraint("status IN ('proposed', 'confirmed', 'ended')", name="ck_role_assignments_status"),
    )
    op.create_index("ix_role_assignments_organisation_id_status", "role_assignments", ["organisation_id", "status"])
    op.create_index("ix_role_assignments_person_id", "role_assignments", ["person_id"])
    op.create_index("ix_role_assignments_student_id", "role_assignments", ["student_id"])
    op.create_index("ix_role_assignments_ward_id", "role_assignments", ["ward_id"])


def downgrade() -> None:
    for table in (
        "role_assignments", "leave", "duties", "shifts", "placements", "ward_members", "people", "wards",
        "organisations",
    ):
        op.drop_table(table)
