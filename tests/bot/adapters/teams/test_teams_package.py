"""The Teams app package: manifest.json from the template, and the two icons at the sizes Teams requires."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from clipbot.bot.adapters.teams.package import (
    build_package,
    package_path,
    render_manifest,
)
from clipbot.config import ConfigError

APP_ID = "5e7a1c90-2b3d-4f6e-8a1c-9d0b7e6f5a32"
WEBSITE = "https://clip.example.org/"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def png_pixels(data: bytes) -> list[tuple[int, int, int, int]]:
    """Decode the RGBA pixels of a PNG written with filter type 0 on every row."""
    width, height = png_size(data)
    position, chunks = 8, b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        if kind == b"IDAT":
            chunks += data[position + 8:position + 8 + length]
        position += 12 + length
    raw = zlib.decompress(chunks)
    stride = 1 + 4 * width
    pixels = []
    for row in range(height):
        assert raw[row * stride] == 0
        line = raw[row * stride + 1:(row + 1) * stride]
        pixels.extend(tuple(line[index:index + 4]) for index in range(0, len(line), 4))
    return pixels


@pytest.fixture
def package(tmp_path: Path) -> Iterator[zipfile.ZipFile]:
    path = build_package(tmp_path / "clipbot-teams.zip", APP_ID, website_url=WEBSITE)
    with zipfile.ZipFile(path) as archive:
        yield archive


def test_package_lists_three_files(package):
    assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]


def test_manifest_names_app_and_bot(package):
    manifest = json.loads(package.read("manifest.json"))
    assert manifest["id"] == APP_ID
    assert manifest["bots"][0]["botId"] == APP_ID


def test_manifest_has_no_placeholders_left(package):
    assert "{{" not in package.read("manifest.json").decode("utf-8")


def test_manifest_scopes_and_commands(package):
    bot = json.loads(package.read("manifest.json"))["bots"][0]
    commands = [command["title"] for command in bot["commandLists"][0]["commands"]]
    assert bot["scopes"] == ["personal", "team"]
    # The calendar invitation reaches a personal chat through a file consent card, which needs this.
    assert bot["supportsFiles"] is True
    assert commands == ["help", "roster", "match", "coaches", "link", "channel"]


def test_manifest_urls_default_to_website(package):
    developer = json.loads(package.read("manifest.json"))["developer"]
    assert developer["privacyUrl"] == WEBSITE
    assert developer["termsOfUseUrl"] == WEBSITE


def test_icons_have_required_sizes(package):
    assert png_size(package.read("color.png")) == (192, 192)
    assert png_size(package.read("outline.png")) == (32, 32)


def test_outline_icon_white_on_transparent(package):
    pixels = png_pixels(package.read("outline.png"))
    colours = {pixel[:3] for pixel in pixels if pixel[3] > 0}
    assert colours == {(255, 255, 255)}
    assert any(pixel[3] == 0 for pixel in pixels)


def test_colour_icon_is_opaque(package):
    assert all(pixel[3] == 255 for pixel in png_pixels(package.read("color.png")))


def test_package_needs_app_id(tmp_path):
    with pytest.raises(ConfigError, match="MicrosoftAppId is not set"):
        build_package(tmp_path / "package.zip", "", website_url=WEBSITE)
    assert not (tmp_path / "package.zip").exists()


@pytest.mark.parametrize(
    "app_id",
    [
        "my-teams-bot",
        "{5e7a1c90-2b3d-4f6e-8a1c-9d0b7e6f5a32}",
        "5e7a1c902b3d4f6e8a1c9d0b7e6f5a32",
        "5e7a1c90-2b3d-4f6e-8a1c-9d0b7e6f5a3g",
        "5e7a1c90-2b3d-4f6e-8a1c-9d0b7e6f5a32 ",
    ],
    ids=["name", "braces", "no-hyphens", "not-hexadecimal", "trailing-space"],
)
def test_package_rejects_app_id_not_guid(tmp_path, app_id):
    with pytest.raises(ConfigError) as raised:
        build_package(tmp_path / "package.zip", app_id, website_url=WEBSITE)
    message = str(raised.value)
    assert message.startswith("MicrosoftAppId is not a GUID")
    assert "00000000-0000-0000-0000-000000000000" in message
    assert app_id.strip("{} ") not in message
    assert not (tmp_path / "package.zip").exists()


def test_package_accepts_upper_case_guid(tmp_path):
    path = build_package(tmp_path / "package.zip", APP_ID.upper(), website_url=WEBSITE)
    with zipfile.ZipFile(path) as archive:
        assert json.loads(archive.read("manifest.json"))["id"] == APP_ID.upper()


def test_package_written_inside_existing_folder(tmp_path):
    path = build_package(tmp_path, APP_ID, website_url=WEBSITE)
    assert path == tmp_path / "clipbot-teams.zip"
    assert zipfile.is_zipfile(path)


def test_package_path_forms(tmp_path):
    assert package_path(tmp_path / "bot.zip") == tmp_path / "bot.zip"
    assert package_path(tmp_path) == tmp_path / "clipbot-teams.zip"
    assert package_path(f"{tmp_path}/new-folder/") == tmp_path / "new-folder" / "clipbot-teams.zip"


def test_package_needs_https_website(tmp_path):
    with pytest.raises(ValueError, match="http://clip.example.org"):
        build_package(tmp_path / "package.zip", APP_ID, website_url="http://clip.example.org")


def test_unknown_placeholder_named():
    with pytest.raises(ValueError, match="BOT_DOMAIN"):
        render_manifest('{"validDomains": ["{{BOT_DOMAIN}}"]}', {"VERSION": "1.0.0"})


def test_placeholder_value_needs_no_escaping():
    manifest = render_manifest('{"developer": {"name": "{{DEVELOPER_NAME}}"}}', {"DEVELOPER_NAME": 'St "Elsewhere" NHS'})
    assert manifest["developer"]["name"] == 'St "Elsewhere" NHS'
