"""Create the outbox of messages that clipbot sends on its own, such as coach posts and nudges.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def _time(name: str, *, nullable: bool) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True),
        sa.Column(
            "organisation_id",
            sa.Integer(),
            sa.ForeignKey("organisations.id", name="fk_outbox_organisation_id_organisations", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("platform", sa.String(), nullable=True),
        sa.Column("recipient_kind", sa.String(), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        _time("due_at", nullable=False),
        _time("not_after", nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("next_attempt_at", nullable=False),
        sa.Column("lease_owner", sa.String(), nullable=True),
        _time("lease_until", nullable=True),
        _time("sent_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("platform_message_id", sa.String(), nullable=True),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
        sa.CheckConstraint("state IN ('pending', 'sending', 'sent', 'dropped', 'failed')", name="ck_outbox_state"),
        sa.CheckConstraint("recipient_kind IN ('person', 'ward')", name="ck_outbox_recipient_kind"),
        sa.CheckConstraint("platform IN ('slack', 'teams')", name="ck_outbox_platform"),
    )
    op.create_index("ix_outbox_organisation_id", "outbox", ["organisation_id"])

    # Partial indexes, so that the claim query reads only the rows that are waiting to be sent.
    pending = sa.text("state = 'pending'")
    op.create_index(
        "ix_outbox_pending_next_attempt_at", "outbox", ["next_attempt_at"],
        sqlite_where=pending, postgresql_where=pending,
    )
    sending = sa.text("state = 'sending'")
    op.create_index(
        "ix_outbox_sending_lease_until", "outbox", ["lease_until"],
        sqlite_where=sending, postgresql_where=sending,
    )


def downgrade() -> None:
    op.drop_table("outbox")
