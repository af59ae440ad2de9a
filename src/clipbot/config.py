"""Settings read once at start-up from the environment; tests build Settings directly."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from clipbot.storage.database import default_database_url


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names it and the fix."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    organisation: str = "default"
    log_level: str = "WARNING"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        data_dir = Path(environ.get("CLIPBOT_DATA_DIR", "clipbot-data"))
        url = environ.get("DATABASE_URL", "").strip() or default_database_url(data_dir)
        level = environ.get("CLIPBOT_LOG_LEVEL", "WARNING").strip().upper()
        if not isinstance(logging.getLevelName(level), int):
            raise ConfigError(
                f"CLIPBOT_LOG_LEVEL is '{level}', which is not a log level. Use DEBUG, INFO, WARNING or ERROR."
            )
        organisation = environ.get("CLIPBOT_ORGANISATION", "default").strip()
        if not organisation:
            raise ConfigError("CLIPBOT_ORGANISATION is empty. Set it to your trust's short name, or unset it.")
        return cls(database_url=url, organisation=organisation, log_level=level)

    def __repr__(self) -> str:
        # The database URL may carry a password.
        return f"Settings(database_url=<hidden>, organisation={self.organisation!r}, log_level={self.log_level!r})"
