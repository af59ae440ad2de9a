"""Alembic environment for clipbot's schema.

`Database.upgrade()` passes its open connection in `config.attributes["connection"]`. Run from the
alembic command line instead (`alembic -c src/clipbot/storage/alembic.ini ...`), it connects to
`sqlalchemy.url` from the ini file, else to `DATABASE_URL`, else to `clipbot.sqlite3` in the current
directory.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from clipbot.storage.database import Database, resolve_database_url
from clipbot.storage.models import metadata


def run_migrations(connection: Connection) -> None:
    # Batch mode lets later migrations alter constraints on SQLite, which has no ALTER CONSTRAINT.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def command_line_url() -> str:
    return context.config.get_main_option("sqlalchemy.url") or resolve_database_url(os.environ)


async def run_from_command_line() -> None:
    database = Database(command_line_url())
    try:
        async with database.engine.connect() as connection:
            await connection.run_sync(run_migrations)
            await connection.commit()
    finally:
        await database.dispose()


def run_offline() -> None:
    context.configure(
        url=command_line_url(), target_metadata=metadata, literal_binds=True, render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    given_connection = context.config.attributes.get("connection")
    if given_connection is None:
        if context.config.config_file_name:
            fileConfig(context.config.config_file_name)
        asyncio.run(run_from_command_line())
    else:
        run_migrations(given_connection)
