"""Fixtures shared by the whole suite.

`database` is a migrated Database with empty tables. It is SQLite in a temporary folder, unless
CLIPBOT_TEST_DATABASE_URL names a PostgreSQL database: then this run creates its own schema there
(`clipbot_test_<pid>_<random>`), so that runs in parallel never share tables, and drops it at the end.

`cli_database_url` is the URL of an empty database for code that opens its own connections, such as
the command line: a new SQLite file, or a new PostgreSQL database (`clipbot_cli_<pid>_<random>`)
dropped after the test.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from clipbot.storage import Database, default_database_url
from clipbot.storage.models import metadata

TEST_DATABASE_URL_VARIABLE = "CLIPBOT_TEST_DATABASE_URL"


@pytest.fixture(scope="session")
async def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    url = os.environ.get(TEST_DATABASE_URL_VARIABLE, "").strip()
    if not url:
        database = Database(default_database_url(tmp_path_factory.mktemp("database")))
        await database.upgrade()
        yield database
        await database.dispose()
        return

    schema = f"clipbot_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = Database(url)
    async with admin.engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = Database(url, schema=schema)
    try:
        await database.upgrade()
        yield database
    finally:
        await database.dispose()
        async with admin.engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def database(migrated_database: Database) -> Database:
    """The run's database with every table emptied, so each test starts from nothing."""
    async with migrated_database.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            await connection.execute(table.delete())
    return migrated_database


@pytest.fixture
async def session(database: Database) -> AsyncIterator[AsyncSession]:
    async with database.session() as session:
        yield session


@pytest.fixture
async def cli_database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    url = os.environ.get(TEST_DATABASE_URL_VARIABLE, "").strip()
    if not url:
        yield default_database_url(tmp_path_factory.mktemp("cli-database"))
        return

    name = f"clipbot_cli_{os.getpid()}_{secrets.token_hex(4)}"
    admin = Database(url)
    # CREATE DATABASE cannot run inside a transaction, so these statements autocommit.
    autocommit = admin.engine.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        async with autocommit.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
