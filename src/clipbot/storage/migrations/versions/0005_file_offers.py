"""Create the table of files offered through a consent card, such as a calendar invitation in Teams.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def _time(name: str, *, nullable: bool) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "file_offers",
        sa.Column("id", sa.Integer(), autoincrement=True),
        sa.Column(
            "organisation_id",
            sa.Integer(),
            sa.ForeignKey("organisations.id", name="fk_file_offers_organisation_id_organisations", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("token", sa.String(), nullable=False),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("workspace", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        _time("lease_until", nullable=True),
        _time("expires_at", nullable=False),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_file_offers"),
        sa.UniqueConstraint("token", name="uq_file_offers_token"),
        sa.CheckConstraint(
            "state IN ('offered', 'uploading', 'uploaded', 'declined')", name="ck_file_offers_state"
        ),
        sa.CheckConstraint("platform IN ('slack', 'teams')", name="ck_file_offers_platform"),
    )
    op.create_index("ix_file_offers_organisation_id", "file_offers", ["organisation_id"])
    op.create_index("ix_file_offers_expires_at", "file_offers", ["expires_at"])


def downgrade() -> None:
    op.drop_table("file_offers")
