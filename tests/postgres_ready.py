"""Exit 0 when the PostgreSQL server in the given SQLAlchemy URL accepts a connection, else 1."""

import asyncio
import sys

import asyncpg
from sqlalchemy.engine import make_url


async def _connect(url: str) -> None:
    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username,
        password=parsed.password, database=parsed.database, timeout=5,
    )
    await connection.close()


def main() -> int:
    try:
        asyncio.run(_connect(sys.argv[1]))
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError) as error:
        print(f"PostgreSQL check failed: {type(error).__name__}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
