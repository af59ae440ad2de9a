"""The Teams app package: the zip file that an administrator uploads to Microsoft Teams.

It contains manifest.json, filled in from the template clipbot/data/teams/manifest.json, and the two icons
Teams requires: a 192x192 full-colour icon and a 32x32 outline icon that is white on a transparent
background. The icons are drawn here and written as PNG with zlib and struct alone.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from clipbot import __version__
from clipbot.bot.adapters.teams.settings import checked_app_id

logger = logging.getLogger(__name__)

# src/clipbot/bot/adapters/teams/package.py -> the repository root is five folders up.
# Shipped as package data, so an installed copy or the container image can build the package.
DEFAULT_TEMPLATE = Path(__file__).resolve().parents[3] / "data" / "teams" / "manifest.json"
PACKAGE_FILE_NAME = "clipbot-teams.zip"
COLOR_ICON = "color.png"
OUTLINE_ICON = "outline.png"
COLOR_ICON_SIZE = 192
OUTLINE_ICON_SIZE = 32
ACCENT = (0x00, 0x5E, 0xB8)
WHITE = (0xFF, 0xFF, 0xFF)

_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
_VERSION = re.compile(r"\d+\.\d+\.\d+")

Pixel = tuple[int, int, int, int]


def build_package(
    out_path: str | Path,
    app_id: str,
    *,
    website_url: str,
    privacy_url: str | None = None,
    terms_url: str | None = None,
    developer_name: str = "clipbot",
    version: str = __version__,
    template: str | Path | None = None,
) -> Path:
    """Write the Teams app package for the bot `app_id` and return the path of the zip.

    `out_path` is the zip file, or a folder to write clipbot-teams.zip into (see `package_path`).
    The manifest's app id and bot id are `app_id`, the bot's Microsoft App ID. `privacy_url` and
    `terms_url` default to `website_url`; Teams requires all three to be https URLs. Raises
    ConfigError for a missing app id or one that is not a GUID, ValueError for an unusable URL or
    version, FileNotFoundError when the template is missing, and OSError when the zip cannot be written.
    """
    values = {
        "MICROSOFT_APP_ID": checked_app_id(app_id),
        "VERSION": _checked_version(version),
        "DEVELOPER_NAME": developer_name,
        "WEBSITE_URL": _checked_url("website URL", website_url),
        "PRIVACY_URL": _checked_url("privacy URL", privacy_url or website_url),
        "TERMS_URL": _checked_url("terms of use URL", terms_url or website_url),
    }
    manifest = render_manifest(_read_template(Path(template) if template else DEFAULT_TEMPLATE), values)

    out = package_path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        package.writestr(COLOR_ICON, color_icon())
        package.writestr(OUTLINE_ICON, outline_icon())
    logger.info("Wrote the Teams app package for app %s to %s.", app_id, out)
    return out


def package_path(out_path: str | Path) -> Path:
    """Return where the package goes: `out_path`, or clipbot-teams.zip inside it when it is a folder.

    A path that ends with a slash is a folder even before it exists, and is created.
    """
    out = Path(out_path)
    if out.is_dir() or str(out_path).endswith(("/", os.sep)):
        return out / PACKAGE_FILE_NAME
    return out


def render_manifest(template: str, values: dict[str, str]) -> dict[str, Any]:
    """Parse the manifest template and replace each `{{NAME}}` in its strings with `values[NAME]`.

    Values go into the parsed JSON, so they never need escaping. Raises ValueError for invalid
    JSON or a placeholder without a value.
    """
    try:
        manifest = json.loads(template)
    except json.JSONDecodeError as error:
        raise ValueError(f"The Teams manifest template is not valid JSON: {error}. Fix the template file.") from None
    return _fill(manifest, values)


def _fill(node: Any, values: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {key: _fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(item, values) for item in node]
    if isinstance(node, str):
        return _PLACEHOLDER.sub(lambda match: _value(match.group(1), values), node)
    return node


def _value(name: str, values: dict[str, str]) -> str:
    if name not in values:
        raise ValueError(
            f"The Teams manifest template uses {{{{{name}}}}}, which has no value. "
            f"Use one of: {', '.join(sorted(values))}."
        )
    return values[name]


def _read_template(path: Path) -> str:
    if not path.is_file():
        raise FileNotFoundError(
            f"The Teams manifest template {path} does not exist. Reinstall clipbot, or pass the template path "
            f"(src/clipbot/data/teams/manifest.json in the repository)."
        )
    return path.read_text(encoding="utf-8")


def _checked_url(what: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(f"The {what} '{url}' is not an https URL, which Teams requires. Use https://...")
    return url


def _checked_version(version: str) -> str:
    if not _VERSION.fullmatch(version):
        raise ValueError(f"The app version '{version}' is not of the form MAJOR.MINOR.PATCH that Teams requires.")
    return version


def color_icon() -> bytes:
    """Draw the 192x192 colour icon: a white ring around a white dot on the accent colour."""
    size = COLOR_ICON_SIZE
    return png(size, size, lambda x, y: _blend(ACCENT, WHITE, _emblem_coverage(x, y, size)))


def outline_icon() -> bytes:
    """Draw the 32x32 outline icon: the same ring and dot, white on a transparent background."""
    size = OUTLINE_ICON_SIZE
    return png(size, size, lambda x, y: (*WHITE, round(255 * _emblem_coverage(x, y, size))))


def _emblem_coverage(x: int, y: int, size: int) -> float:
    """Return how much of pixel (x, y) the ring and dot cover, from 0 to 1, with smoothed edges.

    Radii are fractions of the icon size, so both icons show the same shape.
    """
    distance = math.hypot(x + 0.5 - size / 2, y + 0.5 - size / 2)
    ring = _clamp(size * 0.36 - distance + 0.5) * _clamp(distance - size * 0.27 + 0.5)
    dot = _clamp(size * 0.13 - distance + 0.5)
    return max(ring, dot)


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def _blend(background: tuple[int, int, int], foreground: tuple[int, int, int], amount: float) -> Pixel:
    red, green, blue = (round(back + (front - back) * amount) for back, front in zip(background, foreground))
    return red, green, blue, 255


def png(width: int, height: int, pixel: Callable[[int, int], Pixel]) -> bytes:
    """Encode an 8-bit RGBA image as PNG; `pixel(x, y)` returns the (red, green, blue, alpha) of each pixel."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type 0: the row's bytes are stored as they are
        for x in range(width):
            rows.extend(pixel(x, y))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    image = _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + _chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + image


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
