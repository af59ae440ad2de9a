"""The folder rules that keep platforms at the edge: checked by reading the imports of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import clipbot

SOURCE = Path(clipbot.__file__).parent
PLATFORM_SDKS = ("slack_bolt", "slack_sdk", "botbuilder", "botframework")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def modules_under(folder: str) -> list[Path]:
    return sorted((SOURCE / folder).rglob("*.py"))


def test_platform_sdks_only_in_their_adapters():
    offenders = []
    for path in SOURCE.rglob("*.py"):
        relative = path.relative_to(SOURCE).as_posix()
        for module in imported_modules(path):
            sdk = module.split(".")[0]
            if sdk not in PLATFORM_SDKS:
                continue
            home = "bot/adapters/slack/" if sdk.startswith("slack") else "bot/adapters/teams/"
            if not relative.startswith(home):
                offenders.append(f"{relative} imports {module}")
    assert offenders == []


def test_handlers_import_no_adapter():
    for path in modules_under("bot/handlers"):
        for module in imported_modules(path):
            assert not module.startswith("clipbot.bot.adapters"), f"{path.name} imports {module}"


def test_storage_imports_nothing_from_bot():
    for path in modules_under("storage"):
        for module in imported_modules(path):
            assert not module.startswith("clipbot.bot"), f"{path.name} imports {module}"


def test_domain_does_no_io():
    forbidden = ("sqlalchemy", "aiohttp", "asyncio", "clipbot.storage", "clipbot.bot", "requests", "socket")
    for path in modules_under("domain"):
        for module in imported_modules(path):
            assert not module.startswith(forbidden), f"{path.name} imports {module}"
