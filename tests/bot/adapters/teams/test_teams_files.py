"""The pure parts of Teams file consent: the cards, reading the user's response, and the upload URL check."""

from __future__ import annotations

import base64

import pytest

from clipbot.bot.adapters.teams.files import (
    OfferedFile,
    UploadInfo,
    calendar_invite,
    check_upload_url,
    consent_card_activity,
    file_info_activity,
    invite_description,
    read_consent_response,
)
from clipbot.bot.handlers import messages
from clipbot.workflows.planner import INVITE_FILENAME, INVITE_KEY

UPLOAD_INFO = {
    "name": "protected-time.ics",
    "uploadUrl": "https://contoso-my.sharepoint.com/personal/upload?tempauth=secret-token",
    "contentUrl": "https://contoso-my.sharepoint.com/personal/Documents/Applications/protected-time.ics",
    "uniqueId": "1150D938-8870-4044-9F2C-5BBDEBA70C8C",
    "fileType": "ics",
}
ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    b"BEGIN:VTIMEZONE\r\nTZID:Europe/London\r\n"
    b"BEGIN:STANDARD\r\nDTSTART:19701025T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0000\r\nEND:STANDARD\r\n"
    b"END:VTIMEZONE\r\n"
    b"BEGIN:VEVENT\r\nUID:pt-7\r\nDTSTAMP:20260302T090000Z\r\n"
    b"DTSTART;TZID=Europe/London:20260303T143000\r\nDTEND;TZID=Europe/London:20260303T150000\r\n"
    b"SUMMARY:Protected learning time\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


# Reading the calendar invitation from an outbox payload


def test_calendar_invite_decoded():
    payload = {INVITE_KEY: {"filename": INVITE_FILENAME, "base64": base64.b64encode(ICS).decode()}}
    assert calendar_invite(payload) == OfferedFile(INVITE_FILENAME, ICS)


def test_calendar_invite_absent():
    assert calendar_invite({"text": "Booked"}) is None


@pytest.mark.parametrize("entry", [
    "not a mapping",
    {"filename": INVITE_FILENAME},
    {"filename": INVITE_FILENAME, "base64": "%%%"},
    {"filename": INVITE_FILENAME, "base64": ""},
])
def test_calendar_invite_malformed_left_out(entry):
    assert calendar_invite({INVITE_KEY: entry}) is None


def test_calendar_invite_default_filename():
    payload = {INVITE_KEY: {"base64": base64.b64encode(ICS).decode()}}
    invite = calendar_invite(payload)
    assert invite is not None
    assert invite.filename == INVITE_FILENAME


# The consent card's description


def test_description_gives_session_time():
    expected = messages.INVITE_FILE_DESCRIPTION.format(when="Tuesday 3 March, 14:30 to 15:00")
    assert invite_description(ICS) == expected


def test_description_without_event():
    assert invite_description(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n") == messages.INVITE_FILE_DESCRIPTION_NO_TIME


def test_description_of_unreadable_file():
    assert invite_description(b"not a calendar") == messages.INVITE_FILE_DESCRIPTION_NO_TIME


# Cards


def test_consent_card_offers_file():
    activity = consent_card_activity(OfferedFile("protected-time.ics", ICS), "Calendar invitation", "token-1")
    [attachment] = activity.attachments
    assert attachment.content_type == "application/vnd.microsoft.teams.card.file.consent"
    assert attachment.name == "protected-time.ics"
    assert attachment.content == {
        "description": "Calendar invitation", "sizeInBytes": len(ICS),
        "acceptContext": {"offer": "token-1"}, "declineContext": {"offer": "token-1"},
    }
    assert activity.summary == "Calendar invitation"


def test_file_info_card_points_to_upload():
    upload = UploadInfo(
        upload_url=UPLOAD_INFO["uploadUrl"], content_url=UPLOAD_INFO["contentUrl"],
        unique_id=UPLOAD_INFO["uniqueId"], file_type="ics", name="protected-time.ics",
    )
    activity = file_info_activity(upload, "Saved.")
    [attachment] = activity.attachments
    assert attachment.content_type == "application/vnd.microsoft.teams.card.file.info"
    assert attachment.content_url == UPLOAD_INFO["contentUrl"]
    assert attachment.content == {"uniqueId": UPLOAD_INFO["uniqueId"], "fileType": "ics"}
    assert activity.text == "Saved."


# The user's response


def test_accept_read():
    response = read_consent_response({"type": "fileUpload", "action": "accept", "context": {"offer": "t1"}, "uploadInfo": UPLOAD_INFO})
    assert response.accepted is True
    assert response.token == "t1"
    assert response.upload is not None
    assert response.upload.upload_url == UPLOAD_INFO["uploadUrl"]
    assert response.upload.unique_id == UPLOAD_INFO["uniqueId"]


def test_decline_read():
    response = read_consent_response({"type": "fileUpload", "action": "decline", "context": {"offer": "t1"}})
    assert response.accepted is False
    assert response.token == "t1"
    assert response.upload is None


@pytest.mark.parametrize("context", [None, {}, {"offer": ""}, {"offer": 7}, "t1"])
def test_response_without_token(context):
    assert read_consent_response({"action": "decline", "context": context}).token is None


def test_file_type_from_name_when_missing():
    info = {key: value for key, value in UPLOAD_INFO.items() if key != "fileType"}
    response = read_consent_response({"action": "accept", "context": {}, "uploadInfo": info})
    assert response.upload is not None
    assert response.upload.file_type == "ics"


@pytest.mark.parametrize(("value", "expected"), [
    (None, "action 'None' is invalid"),
    ({"action": "open"}, "action 'open' is invalid"),
    ({"action": "accept"}, "uploadInfo.uploadUrl, uploadInfo.contentUrl, uploadInfo.uniqueId"),
    ({"action": "accept", "uploadInfo": {**UPLOAD_INFO, "uploadUrl": ""}}, "no uploadInfo.uploadUrl."),
])
def test_invalid_response_rejected(value, expected):
    with pytest.raises(ValueError, match=expected):
        read_consent_response(value)


# Upload URLs


def test_https_upload_url_accepted():
    check_upload_url(UPLOAD_INFO["uploadUrl"], allow_loopback_http=False)


def test_loopback_http_accepted_when_allowed():
    check_upload_url("http://127.0.0.1:8123/upload/a.ics?tempauth=x", allow_loopback_http=True)


@pytest.mark.parametrize(("url", "allow_loopback_http"), [
    ("http://127.0.0.1:8123/upload/a.ics", False),
    ("http://localhost:8123/upload/a.ics", True),
    ("http://contoso-my.sharepoint.com/upload", True),
    ("ftp://127.0.0.1/upload", True),
    ("/upload/a.ics", True),
    ("https:///no-host", False),
])
def test_unsafe_upload_url_rejected(url, allow_loopback_http):
    with pytest.raises(ValueError, match="was not uploaded"):
        check_upload_url(url, allow_loopback_http=allow_loopback_http)


def test_rejected_url_message_hides_query():
    with pytest.raises(ValueError) as raised:
        check_upload_url("http://contoso-my.sharepoint.com/upload?tempauth=secret-token", allow_loopback_http=False)
    assert "secret-token" not in str(raised.value)
    assert "contoso-my.sharepoint.com" in str(raised.value)
