from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from clipbot.storage import Database, default_database_url, normalise_database_url, resolve_database_url
from clipbot.storage.database import alembic_config
from clipbot.storage.models import UTCDateTime, duties, metadata, organisations
from clipbot.storage.repository import ensure_organisation

TABLES = {
    "organisations", "wards", "people", "ward_members", "placements", "shifts", "duties", "leave",
    "role_assignments", "chat_workspaces", "chat_identities", "processed_events", "ward_channels",
    "conversation_references", "slack_installations", "slack_bots", "slack_oauth_states", "outbox",
    "protected_sessions", "ratings", "pauses", "file_offers",
}


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_migration_creates_every_table(database: Database) -> None:
    async with database.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert names == TABLES | {"alembic_version"}


async def test_models_match_migrated_schema(database: Database) -> None:
    async with database.engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata)
        )
    assert differences == []


async def test_upgrade_twice_keeps_data(database: Database, session: AsyncSession) -> None:
    await ensure_organisation(session, "trust", "Leeds Teaching Hospitals")
    await session.commit()

    await database.upgrade()

    assert await database.current_revision() == head_revision()
    assert await session.scalar(select(organisations.c.name)) == "Leeds Teaching Hospitals"


async def test_downgrade_then_upgrade_restores_schema(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "base"))
    async with database.engine.connect() as connection:
        left = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert left <= {"alembic_version"}

    await database.upgrade()
    async with database.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert names == TABLES | {"alembic_version"}


async def test_foreign_keys_enforced(session: AsyncSession) -> None:
    with pytest.raises(IntegrityError):
        await session.execute(insert(duties).values(shift_id=999, person_id=999, in_charge=False))
    await session.rollback()


async def test_fresh_database_has_no_revision(tmp_path: Path) -> None:
    database = Database(default_database_url(tmp_path / "new"))
    try:
        assert await database.current_revision() is None
    finally:
        await database.dispose()


def test_default_url_is_sqlite_file(tmp_path: Path) -> None:
    assert default_database_url(tmp_path) == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'clipbot.sqlite3'}"


def test_resolve_without_database_url_uses_data_dir(tmp_path: Path) -> None:
    assert resolve_database_url({}, tmp_path) == default_database_url(tmp_path)


def test_resolve_ignores_blank_database_url(tmp_path: Path) -> None:
    assert resolve_database_url({"DATABASE_URL": "  "}, tmp_path) == default_database_url(tmp_path)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://clip:secret@db:5432/clipbot", "postgresql+asyncpg://clip:secret@db:5432/clipbot"),
        ("postgresql://clip@db/clipbot", "postgresql+asyncpg://clip@db/clipbot"),
        ("postgresql+asyncpg://clip@db/clipbot", "postgresql+asyncpg://clip@db/clipbot"),
        ("sqlite:////var/lib/clipbot/clipbot.sqlite3", "sqlite+aiosqlite:////var/lib/clipbot/clipbot.sqlite3"),
    ],
)
def test_resolve_adds_async_driver(given: str, expected: str) -> None:
    assert resolve_database_url({"DATABASE_URL": given}) == expected


@pytest.mark.parametrize("url", ["mysql://clip:secret@db/clipbot", "postgresql+psycopg2://clip:secret@db/clipbot"])
def test_unsupported_url_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="does not support") as raised:
        normalise_database_url(url)
    assert "secret" not in str(raised.value)


def test_unreadable_url_rejected() -> None:
    with pytest.raises(ValueError, match="could not be read"):
        normalise_database_url("not a url")


def test_schema_rejected_for_sqlite(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="only be set for PostgreSQL"):
        Database(default_database_url(tmp_path), schema="clipbot")


def test_schema_name_validated() -> None:
    with pytest.raises(ValueError, match="not valid"):
        Database("postgresql+asyncpg://clip@127.0.0.1/clipbot", schema='x"; drop')


def test_naive_datetime_rejected() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        UTCDateTime().process_bind_param(datetime(2024, 10, 27, 1, 30), sqlite.dialect())


def test_sqlite_stores_datetime_as_utc() -> None:
    local = datetime(2024, 10, 27, 1, 30, tzinfo=ZoneInfo("Europe/London"))
    assert UTCDateTime().process_bind_param(local, sqlite.dialect()) == datetime(2024, 10, 27, 0, 30)


def test_sqlite_reads_datetime_as_utc() -> None:
    assert UTCDateTime().process_result_value(datetime(2024, 10, 27, 0, 30), sqlite.dialect()) == datetime(
        2024, 10, 27, 0, 30, tzinfo=UTC
    )


def test_postgresql_reads_datetime_in_utc() -> None:
    stored = datetime(2024, 10, 27, 1, 30, tzinfo=ZoneInfo("Europe/London"))
    assert UTCDateTime().process_result_value(stored, postgresql.dialect()).tzinfo is UTC  # type: ignore[union-attr]
