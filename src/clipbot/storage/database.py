"""The database connection: engine, sessions and migrations, for SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

logger = logging.getLogger(__name__)

DATABASE_FILE_NAME = "clipbot.sqlite3"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"

_URL_EXAMPLES = "postgresql+asyncpg://user:password@host:5432/clipbot or sqlite+aiosqlite:///path/clipbot.sqlite3"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Every clipbot process takes this PostgreSQL advisory lock while migrating, so replicas that start
# together apply each migration once. The number only has to be the same in every process.
_MIGRATION_LOCK_ID = 0x636C6970


def default_database_url(data_dir: str | Path) -> str:
    """Return the URL of the SQLite file `clipbot.sqlite3` in `data_dir`."""
    path = (Path(data_dir) / DATABASE_FILE_NAME).resolve()
    return f"sqlite+aiosqlite:///{path}"


def resolve_database_url(env: Mapping[str, str], data_dir: str | Path = ".") -> str:
    """Return `DATABASE_URL` from `env` with its async driver, or the SQLite file in `data_dir`."""
    configured = env.get("DATABASE_URL", "").strip()
    if not configured:
        return default_database_url(data_dir)
    return normalise_database_url(configured)


def normalise_database_url(url: str) -> str:
    """Return `url` with the async driver clipbot uses: asyncpg for PostgreSQL, aiosqlite for SQLite.

    `postgres://`, `postgresql://` and `sqlite://` are accepted and given the driver. Raises
    ValueError for any other database or driver; the message never contains the password.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"The database URL could not be read. Write it in the form {_URL_EXAMPLES}.") from None

    backend = parsed.get_backend_name()
    driver = parsed.get_driver_name() if "+" in parsed.drivername else None
    masked = parsed.render_as_string(hide_password=True)
    if backend in ("postgresql", "postgres") and driver in (None, "asyncpg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite" and driver in (None, "aiosqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    else:
        raise ValueError(
            f"The database URL {masked} uses {parsed.drivername}, which clipbot does not support. "
            f"Use PostgreSQL or SQLite, for example {_URL_EXAMPLES}."
        )
    return parsed.render_as_string(hide_password=False)


class Database:
    """One database: its async engine, a session factory and the schema migrations.

    `schema` (PostgreSQL only) puts every table in that schema, which must already exist, by setting
    the connection's search_path.
    """

    def __init__(self, url: str, *, schema: str | None = None, echo: bool = False) -> None:
        self.url: URL = make_url(normalise_database_url(url))
        is_sqlite = self.url.get_backend_name() == "sqlite"
        connect_args: dict[str, Any] = {}

        if schema is not None:
            if is_sqlite:
                raise ValueError(f"A schema ({schema}) can only be set for PostgreSQL, not for SQLite.")
            if not _SCHEMA_NAME.fullmatch(schema):
                raise ValueError(
                    f"The schema name {schema!r} is not valid. Use lower-case letters, digits and "
                    f"underscores, starting with a letter, up to 63 characters."
                )
            connect_args["server_settings"] = {"search_path": schema}

        if is_sqlite and self.url.database not in (None, "", ":memory:"):
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)

        self.engine = create_async_engine(self.url, connect_args=connect_args, echo=echo)
        if is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _enable_sqlite_foreign_keys)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> AsyncSession:
        """Return a new session; use it as `async with db.session() as session:` and commit yourself."""
        return self.sessions()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Yield a session in a transaction that commits on success and rolls back on any error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def upgrade(self) -> None:
        """Apply every migration up to the newest; a database that is already there is left as it is."""
        logger.info("Migrating the database at %s", self.url.render_as_string(hide_password=True))
        async with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
            await connection.run_sync(_upgrade_to_head)

    async def current_revision(self) -> str | None:
        """Return the migration the database is at, or None before the first upgrade."""
        async with self.engine.connect() as connection:
            return await connection.run_sync(
                lambda sync_connection: MigrationContext.configure(sync_connection).get_current_revision()
            )

    async def dispose(self) -> None:
        await self.engine.dispose()


def alembic_config(connection: Connection | None = None) -> Config:
    """Build the Alembic configuration in code, so no alembic.ini is needed at run time."""
    config = Config()
    # ConfigParser treats % as interpolation, so a % in the install path must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade_to_head(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _connection_record: Any) -> None:
    # SQLite ignores foreign keys, and so ON DELETE CASCADE, unless each connection turns them on.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()
