"""Create the Slack and Teams tables: workspaces, identities, processed events, ward channels,
conversation references, and the installation and OAuth state tables of slack_sdk's stores.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_CHAT_TABLES = ("chat_workspaces", "chat_identities", "processed_events", "ward_channels", "conversation_references")
_SLACK_TABLES = ("slack_installations", "slack_bots", "slack_oauth_states")


def _id(table: str) -> list[sa.Column[int] | sa.PrimaryKeyConstraint]:
    return [sa.Column("id", sa.Integer(), autoincrement=True), sa.PrimaryKeyConstraint("id", name=f"pk_{table}")]


def _reference(
    owner: str, name: str, target: str, *, nullable: bool = False, ondelete: str = "CASCADE"
) -> sa.Column[int]:
    return sa.Column(
        name,
        sa.Integer(),
        sa.ForeignKey(f"{target}.id", name=f"fk_{owner}_{name}_{target}", ondelete=ondelete),
        nullable=nullable,
    )


def _platform(table: str) -> list[sa.Column[str] | sa.CheckConstraint]:
    return [
        sa.Column("platform", sa.String(), nullable=False),
        sa.CheckConstraint("platform IN ('slack', 'teams')", name=f"ck_{table}_platform"),
    ]


def _text(name: str, length: int | None = None, *, nullable: bool = True) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def upgrade() -> None:
    _create_chat_tables()
    _create_slack_tables()


def _create_chat_tables() -> None:
    op.create_table(
        "chat_workspaces",
        *_id("chat_workspaces"),
        *_platform("chat_workspaces"),
        _text("external_id", nullable=False),
        _reference("chat_workspaces", "organisation_id", "organisations"),
        _text("name"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("platform", "external_id", name="uq_chat_workspaces_platform_external_id"),
    )
    op.create_index("ix_chat_workspaces_organisation_id", "chat_workspaces", ["organisation_id"])

    op.create_table(
        "chat_identities",
        *_id("chat_identities"),
        _reference("chat_identities", "organisation_id", "organisations"),
        *_platform("chat_identities"),
        _text("workspace", nullable=False),
        _text("user_id", nullable=False),
        _reference("chat_identities", "person_id", "people", nullable=True, ondelete="SET NULL"),
        _text("email"),
        sa.Column("reachable", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("platform", "workspace", "user_id", name="uq_chat_identities_platform_workspace_user_id"),
        sa.UniqueConstraint(
            "platform", "workspace", "person_id", name="uq_chat_identities_platform_workspace_person_id"
        ),
    )
    op.create_index("ix_chat_identities_organisation_id", "chat_identities", ["organisation_id"])
    op.create_index("ix_chat_identities_person_id", "chat_identities", ["person_id"])

    op.create_table(
        "processed_events",
        *_id("processed_events"),
        *_platform("processed_events"),
        _text("event_id", nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("platform", "event_id", name="uq_processed_events_platform_event_id"),
    )
    op.create_index("ix_processed_events_received_at", "processed_events", ["received_at"])

    op.create_table(
        "ward_channels",
        *_id("ward_channels"),
        _reference("ward_channels", "ward_id", "wards"),
        *_platform("ward_channels"),
        _text("workspace", nullable=False),
        _text("channel_id", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("ward_id", "platform", name="uq_ward_channels_ward_id_platform"),
    )

    op.create_table(
        "conversation_references",
        *_id("conversation_references"),
        _reference("conversation_references", "organisation_id", "organisations"),
        *_platform("conversation_references"),
        _text("workspace", nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("reference", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("platform", "workspace", "key", name="uq_conversation_references_platform_workspace_key"),
    )
    op.create_index("ix_conversation_references_organisation_id", "conversation_references", ["organisation_id"])


def _create_slack_tables() -> None:
    # The tables that slack_sdk 3.48's SQLAlchemy installation and OAuth state stores read and write,
    # under their default names. The times are naive UTC, as slack_sdk writes them.
    op.create_table(
        "slack_installations",
        *_id("slack_installations"),
        _text("client_id", 32, nullable=False),
        _text("app_id", 32, nullable=False),
        _text("enterprise_id", 32),
        _text("enterprise_name", 200),
        _text("enterprise_url", 200),
        _text("team_id", 32),
        _text("team_name", 200),
        _text("bot_token", 200),
        _text("bot_id", 32),
        _text("bot_user_id", 32),
        _text("bot_scopes", 1000),
        _text("bot_refresh_token", 200),
        sa.Column("bot_token_expires_at", sa.DateTime(), nullable=True),
        _text("user_id", 32, nullable=False),
        _text("user_token", 200),
        _text("user_scopes", 1000),
        _text("user_refresh_token", 200),
        sa.Column("user_token_expires_at", sa.DateTime(), nullable=True),
        _text("incoming_webhook_url", 200),
        _text("incoming_webhook_channel", 200),
        _text("incoming_webhook_channel_id", 200),
        _text("incoming_webhook_configuration_url", 200),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        _text("token_type", 32),
        sa.Column("installed_at", sa.DateTime(), nullable=False),
    )
    op.create_index(
        "slack_installations_idx",
        "slack_installations",
        ["client_id", "enterprise_id", "team_id", "user_id", "installed_at"],
    )

    op.create_table(
        "slack_bots",
        *_id("slack_bots"),
        _text("client_id", 32, nullable=False),
        _text("app_id", 32, nullable=False),
        _text("enterprise_id", 32),
        _text("enterprise_name", 200),
        _text("team_id", 32),
        _text("team_name", 200),
        _text("bot_token", 200),
        _text("bot_id", 32),
        _text("bot_user_id", 32),
        _text("bot_scopes", 1000),
        _text("bot_refresh_token", 200),
        sa.Column("bot_token_expires_at", sa.DateTime(), nullable=True),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        sa.Column("installed_at", sa.DateTime(), nullable=False),
    )
    op.create_index("slack_bots_idx", "slack_bots", ["client_id", "enterprise_id", "team_id", "installed_at"])

    op.create_table(
        "slack_oauth_states",
        *_id("slack_oauth_states"),
        _text("state", 200, nullable=False),
        sa.Column("expire_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in reversed(_CHAT_TABLES + _SLACK_TABLES):
        op.drop_table(table)
