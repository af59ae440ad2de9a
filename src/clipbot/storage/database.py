"""The database connection: engine, sessions and migrations, for SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
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


def normalise_database_url(url: str, *, name: str = "The database URL") -> str:
    """Return `url` with the async driver clipbot uses: asyncpg for PostgreSQL, aiosqlite for SQLite.

    `postgres://`, `postgresql://` and `sqlite://` are accepted and given the driver. Raises
    ValueError for any other database or driver, and for text that is not a URL. The message starts
    with `name`, so it can name the setting the URL came from, and never contains the password.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(
            f"{name} is '{mask_database_url(url)}', which could not be read as a database URL. {_url_hint(url)}"
        ) from None

    backend = parsed.get_backend_name()
    driver = parsed.get_driver_name() if "+" in parsed.drivername else None
    if backend in ("postgresql", "postgres") and driver in (None, "asyncpg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite" and driver in (None, "aiosqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    else:
        raise ValueError(
            f"{name} is '{mask_database_url(url)}', which uses {parsed.drivername}, and clipbot does not support "
            f"that database or driver. Use PostgreSQL or SQLite, for example {_URL_EXAMPLES}."
        )
    return parsed.render_as_string(hide_password=False)


def mask_database_url(url: str) -> str:
    """Return `url` with its password, and any password in its query string, replaced by ***.

    Text that is not a URL is masked too: everything between the first colon of its user part and
    its last @ is hidden.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        user_start = url.find("://") + 3 if "://" in url else 0
        at = url.rfind("@")
        colon = url.find(":", user_start, at) if at > user_start else -1
        return url if colon == -1 else f"{url[:colon + 1]}***{url[at:]}"

    masked = parsed.set(query={}).render_as_string(hide_password=True)
    if not parsed.query:
        return masked
    # asyncpg also reads a password from the query string, for example ?password=...
    query = {key: "***" if "password" in key.casefold() else value for key, value in parsed.query.items()}
    return f"{masked}?{urlencode(query, doseq=True, safe='*')}"


def _url_hint(text: str) -> str:
    """Return a hint on writing `text` as a database URL, with the SQLite URL of a bare file path."""
    looks_like_path = "://" not in text and "@" not in text and not any(character.isspace() for character in text)
    if looks_like_path:
        path = Path(text).expanduser().resolve()
        return (
            f"For a SQLite file, write sqlite+aiosqlite:///{path}. For PostgreSQL, write "
            f"postgresql+asyncpg://user:password@host:5432/clipbot."
        )
    return f"Write it in the form {_URL_EXAMPLES}."


class DatabaseConnectionError(Exception):
    """Connecting to the database failed for a reason that the operator can fix.

    `url` is the database URL with its password masked, `reason` describes what failed and `advice`
    what to do. None of them contains the password.
    """

    def __init__(self, url: str, reason: str, advice: str) -> None:
        self.url = url
        self.reason = reason
        self.advice = advice
        super().__init__(self.describe("The database URL"))

    def describe(self, name: str) -> str:
        """Return the whole message, naming the URL's source as `name`, for example DATABASE_URL."""
        return f"{name} is '{self.url}', and connecting to that database failed: {self.reason}. {self.advice}"


# Advice for PostgreSQL's refusals at connection time, by SQLSTATE code.
_POSTGRESQL_ADVICE = {
    "28P01": "Check the user name and password in the URL.",
    "28000": "Check the user name in the URL, and that PostgreSQL's pg_hba.conf lets that user connect from "
             "this machine.",
    "3D000": "Create the database first, for example with createdb, or correct the database name in the URL.",
    "57P03": "PostgreSQL is starting up or shutting down. Try again once it is running.",
    "53300": "PostgreSQL has no free connections. Close idle connections or raise its max_connections.",
}


def _connection_error(url: URL, error: Exception) -> DatabaseConnectionError:
    masked = mask_database_url(url.render_as_string(hide_password=False))
    if url.get_backend_name() == "sqlite":
        reason, advice = _sqlite_failure(url.database or ":memory:", error)
    else:
        reason, advice = _postgresql_failure(url, error)
    return DatabaseConnectionError(masked, reason, advice)


def _postgresql_failure(url: URL, error: Exception) -> tuple[str, str]:
    """Return what failed and what to do, for an error raised while connecting to PostgreSQL."""
    port = url.port or 5432
    where = f"{url.host} port {port}" if url.host else "PostgreSQL's local socket"
    address_advice = "Check that PostgreSQL is running there, and that the host and port in the URL are right."
    if isinstance(error, socket.gaierror):
        return f"the host name {url.host} could not be resolved", "Check the host name in the URL."
    if isinstance(error, ConnectionRefusedError):
        return f"the connection to {where} was refused", address_advice
    if isinstance(error, TimeoutError):
        return (
            f"the connection to {where} timed out",
            "Check the host and port in the URL, and that no firewall blocks the connection.",
        )
    if isinstance(error, OSError):
        return f"the connection to {where} failed ({error.strerror or error})", address_advice

    # PostgreSQL's connection errors name the user or the database, not the password.
    driver_error = getattr(error, "orig", None) or error
    message = str(driver_error).strip().splitlines()[0] if str(driver_error).strip() else type(error).__name__
    advice = _POSTGRESQL_ADVICE.get(getattr(driver_error, "sqlstate", None) or "")
    return f"PostgreSQL rejected the connection: {message}", advice or "Check the URL, and PostgreSQL's log for the cause."


def _sqlite_failure(path: str, error: Exception) -> tuple[str, str]:
    """Return what failed and what to do, for an error raised while opening a SQLite file."""
    message = str(getattr(error, "orig", None) or error)
    if "unable to open database file" in message:
        return (
            f"the SQLite file {path} could not be opened",
            "Check that the path names a file, not a folder, and that clipbot may write to its folder.",
        )
    if "file is not a database" in message:
        return (
            f"{path} is not a SQLite database",
            "Give the path of clipbot's database file, or a new file name to start an empty database.",
        )
    return f"SQLite reported: {message}", "Check the SQLite file and the folder it is in."


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
            folder = Path(self.url.database).parent
            masked = mask_database_url(self.url.render_as_string(hide_password=False))
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except FileExistsError as error:
                raise DatabaseConnectionError(
                    masked,
                    f"{folder} is a file, so the folder for the SQLite file cannot be created there",
                    "Choose another path, or move that file out of the way.",
                ) from error
            except OSError as error:
                raise DatabaseConnectionError(
                    masked,
                    f"the folder {folder} for the SQLite file could not be created ({error.strerror or error})",
                    "Create the folder, or choose a path where clipbot may write.",
                ) from error

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

    async def check_connection(self) -> None:
        """Connect and run one query, and raise DatabaseConnectionError with the reason and the fix if that fails."""
        # PRAGMA schema_version reads the file header, so a file that is not a SQLite database fails here.
        probe = "PRAGMA schema_version" if self.url.get_backend_name() == "sqlite" else "SELECT 1"
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text(probe))
        except (OSError, SQLAlchemyError) as error:
            raise _connection_error(self.url, error) from error

    async def upgrade(self) -> None:
        """Apply every migration up to the newest; a database that is already there is left as it is.

        Raises DatabaseConnectionError when the database cannot be reached.
        """
        await self.check_connection()
        logger.info("Migrating the database at %s", mask_database_url(self.url.render_as_string(hide_password=False)))
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
