"""Files in Teams personal chats: the file consent card, the user's response to it, and the file info card.

Pure functions with no I/O. Teams lets a bot put a file in a personal chat only after the user
consents (Microsoft's "Send and receive files using bot", Bot Framework v4 SDK). The bot sends a
file consent card with the file's name, size and description. The user's Allow or Decline arrives
as an invoke named `fileConsent/invoke`, carrying back the card's context. After Allow, the bot
PUTs the bytes to the `uploadUrl` in the invoke (an upload session in the user's OneDrive), then
sends a file info card that points to the uploaded file. Teams needs `"supportsFiles": true` in the
app manifest's bot entry to show consent cards at all.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botbuilder.schema import Activity, ActivityTypes, Attachment
from botbuilder.schema.teams import FileConsentCard, FileInfoCard
from botbuilder.schema.teams.additional_properties import ContentType
from icalendar import Calendar

from clipbot.bot.handlers import messages
from clipbot.workflows import planner
from clipbot.workflows.protected import describe_time

logger = logging.getLogger(__name__)

FILE_CONSENT_INVOKE = "fileConsent/invoke"
ACCEPT = "accept"
DECLINE = "decline"
# The key of the offer's token in a consent card's acceptContext and declineContext.
OFFER_KEY = "offer"
# The only host that may take plain-http uploads, and only when the settings allow it for tests.
LOOPBACK_HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class OfferedFile:
    filename: str
    content: bytes


@dataclass(frozen=True, slots=True)
class UploadInfo:
    """The upload session of an accepted file (`upload_url`), and the uploaded file that the file info card shows."""

    upload_url: str
    content_url: str
    unique_id: str
    file_type: str
    name: str


@dataclass(frozen=True, slots=True)
class ConsentResponse:
    """A user's response to a file consent card.

    `token` is the offer token from the card's context, or None when the context has none.
    `upload` is set when the user pressed Allow, and None for Decline.
    """

    token: str | None
    upload: UploadInfo | None = None

    @property
    def accepted(self) -> bool:
        return self.upload is not None


def calendar_invite(payload: Mapping[str, object]) -> OfferedFile | None:
    """Return the calendar invitation of an outbox payload as a file to offer, or None when it has none."""
    invite = planner.calendar_invite(payload)
    return None if invite is None else OfferedFile(invite.name, invite.content)


def invite_description(content: bytes) -> str:
    """Describe a calendar invitation for its consent card, with the session's time when the file gives it.

    The time is shown in the zone of the calendar's first VTIMEZONE, which is the ward's time zone
    in clipbot's invitations, or else in UTC.
    """
    try:
        calendar = Calendar.from_ical(content)
    except ValueError:
        return messages.INVITE_FILE_DESCRIPTION_NO_TIME
    events = calendar.walk("VEVENT")
    if not events:
        return messages.INVITE_FILE_DESCRIPTION_NO_TIME
    start = getattr(events[0].get("DTSTART"), "dt", None)
    end = getattr(events[0].get("DTEND"), "dt", None)
    if not _is_aware(start) or not _is_aware(end):
        return messages.INVITE_FILE_DESCRIPTION_NO_TIME
    return messages.INVITE_FILE_DESCRIPTION.format(when=describe_time(start, end, _calendar_zone(calendar)))


def _is_aware(value: object) -> bool:
    return isinstance(value, datetime) and value.utcoffset() is not None


def _calendar_zone(calendar: Calendar) -> ZoneInfo:
    for component in calendar.walk("VTIMEZONE"):
        try:
            return ZoneInfo(str(component.get("TZID")))
        except (ValueError, ZoneInfoNotFoundError):
            break
    return ZoneInfo("UTC")


def consent_card_activity(file: OfferedFile, description: str, token: str) -> Activity:
    """Build the message that requests consent to upload `file`; Allow and Decline both send `token` back."""
    context = {OFFER_KEY: token}
    card = FileConsentCard(
        description=description, size_in_bytes=len(file.content), accept_context=context, decline_context=context
    )
    attachment = Attachment(content_type=ContentType.FILE_CONSENT_CARD, name=file.filename, content=card.serialize())
    # Teams shows the summary in notifications and chat lists, where a card has no text of its own.
    return Activity(type=ActivityTypes.message, attachments=[attachment], summary=description)


def file_info_activity(upload: UploadInfo, text: str) -> Activity:
    """Build the message that shows an uploaded file as a card the user can open or download."""
    card = FileInfoCard(unique_id=upload.unique_id, file_type=upload.file_type)
    attachment = Attachment(
        content_type=ContentType.FILE_INFO_CARD, name=upload.name, content_url=upload.content_url,
        content=card.serialize(),
    )
    return Activity(type=ActivityTypes.message, text=text, attachments=[attachment])


def read_consent_response(value: object) -> ConsentResponse:
    """Read the value of a `fileConsent/invoke` activity.

    An uploadInfo without a name is taken to be the calendar invitation, the only file clipbot
    offers. Raises ValueError when the value is not an accept or decline, or an accept lacks the
    upload URL or the file's content URL and unique id.
    """
    value = value if isinstance(value, Mapping) else {}
    action = value.get("action")
    if action not in (ACCEPT, DECLINE):
        raise ValueError(f"The file consent action {str(action)[:40]!r} is invalid. Expected 'accept' or 'decline'.")

    context = value.get("context")
    token = context.get(OFFER_KEY) if isinstance(context, Mapping) else None
    token = token if isinstance(token, str) and token else None
    if action == DECLINE:
        return ConsentResponse(token=token)

    info = value.get("uploadInfo")
    info = info if isinstance(info, Mapping) else {}
    required = {key: info.get(key) for key in ("uploadUrl", "contentUrl", "uniqueId")}
    missing = [key for key, text in required.items() if not isinstance(text, str) or not text]
    if missing:
        raise ValueError(f"The accepted file consent has no uploadInfo.{', uploadInfo.'.join(missing)}.")

    name = info.get("name")
    if not isinstance(name, str) or not name:
        name = planner.INVITE_FILENAME
    file_type = info.get("fileType")
    if not isinstance(file_type, str) or not file_type:
        file_type = posixpath.splitext(name)[1].lstrip(".")
    upload = UploadInfo(
        upload_url=str(required["uploadUrl"]), content_url=str(required["contentUrl"]),
        unique_id=str(required["uniqueId"]), file_type=file_type, name=name,
    )
    return ConsentResponse(token=token, upload=upload)


def check_upload_url(url: str, *, allow_loopback_http: bool) -> None:
    """Raise ValueError unless `url` is https, or plain http to 127.0.0.1 when `allow_loopback_http` is set.

    The message names the URL's scheme and host only, because its query string contains a token.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise ValueError("The upload URL cannot be read as a URL, so the file was not uploaded.") from None
    if parts.scheme == "https" and host:
        return
    if allow_loopback_http and parts.scheme == "http" and host == LOOPBACK_HOST:
        return
    fix = (
        f"Only https URLs and, with TEAMS_ALLOW_LOOPBACK_HTTP_UPLOADS for tests, http://{LOOPBACK_HOST} are accepted."
    )
    raise ValueError(
        f"The upload URL uses {parts.scheme or 'no scheme'} to host {host or 'none'}, so the file was not uploaded. "
        f"{fix}"
    )


def url_host(url: str) -> str:
    """Return the host of a URL for logs, which must not show the URL's path or query."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return "an unreadable URL"
    return host or "an unknown host"
