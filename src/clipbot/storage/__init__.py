"""Storage for clipbot: SQLAlchemy 2 (async) over SQLite or PostgreSQL, with Alembic migrations.

`Database` owns the engine and applies migrations; `clipbot.storage.repository` contains the
organisation-scoped functions that save and load rosters and role assignments.
"""

from clipbot.storage.database import Database, default_database_url, normalise_database_url, resolve_database_url

__all__ = ["Database", "default_database_url", "normalise_database_url", "resolve_database_url"]
