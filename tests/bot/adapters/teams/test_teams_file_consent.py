"""The calendar invitation of a booking in Teams: the file consent card, Allow, Decline and the upload.

The booked message goes through TeamsOutboxSender to the fake connector, and the user's response is
posted to /api/messages as the fileConsent/invoke that Teams sends. The upload URL in that invoke
points to the fake's own upload endpoint on 127.0.0.1, which records the bytes it receives.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from clipbot.bot.adapters.teams.consent import OFFER_LIFETIME, UPLOAD_LEASE
from clipbot.bot.adapters.teams.outbox import TeamsOutboxSender
from clipbot.bot.adapters.teams.settings import TeamsSettings
from clipbot.bot.events import Reply
from clipbot.bot.handlers import messages
from clipbot.bot.serialise import reply_to_json
from clipbot.domain.invites import session_invite
from clipbot.domain.people import Person, Registration
from clipbot.domain.protected_time import Slot
from clipbot.outbox.dispatcher import Failed, Sent
from clipbot.storage import repository
from clipbot.storage.database import Database
from clipbot.storage.models import file_offers
from clipbot.workflows.planner import INVITE_CONTENT_TYPE, INVITE_FILENAME, INVITE_KEY
from fakes.teams_connector import FILE_CONSENT_CONTENT_TYPE, FILE_INFO_CONTENT_TYPE, ConnectorRequest
from fakes.ward_files import NOW
from teams_harness import ORGANISATION, STUDENT, TENANT, USERS, TeamsHarness, run_harness, seed

BOOKED_TEXT = "Your protected learning time with Grace Obi is booked: Monday 2 March, 10:30 to 11:00."
SECOND_STUDENT = USERS["S2"]


def booking_invite() -> bytes:
    start = NOW.replace(hour=10, minute=30)
    slot = Slot(start, start + timedelta(minutes=30), "RN1", "2026-03-02 Early")
    student = Person("S1", "Amira Khan", Registration.STUDENT, email="amira.khan@example.org")
    mentor = Person("RN1", "Grace Obi", Registration.REGISTERED_NURSE, email="grace.obi@example.org")
    return session_invite(slot, student=student, mentor=mentor, ward_name="6 West", uid="clipbot-pt-1", now=NOW)


INVITE = booking_invite()


def booked_payload(invite: bytes = INVITE) -> dict[str, Any]:
    entry = {"filename": INVITE_FILENAME, "content_type": INVITE_CONTENT_TYPE, "base64": base64.b64encode(invite).decode()}
    return {**reply_to_json(Reply(BOOKED_TEXT)), INVITE_KEY: entry}


async def send_booking(teams: TeamsHarness, payload: dict[str, Any] | None = None) -> object:
    sender = TeamsOutboxSender(teams.bot.messenger)
    return await sender.send_to_person(ORGANISATION, TENANT, "S1", Reply(BOOKED_TEXT), payload or booked_payload())


def consent_cards(teams: TeamsHarness, user=STUDENT) -> list[tuple[ConnectorRequest, dict[str, Any]]]:
    """Return each accepted message with a file consent card in the user's chat, with its card."""
    return [
        (request, attachment)
        for request in teams.sent_to(user.personal_chat)
        for attachment in request.attachments(FILE_CONSENT_CONTENT_TYPE)
    ]


def replies_to(teams: TeamsHarness, user=STUDENT) -> list[str]:
    """Return the text of every reply to a file consent response in the user's chat.

    The harness gives invoke activities ids starting "f:". Proactive sends are replies too, but to
    the event activity that continue_conversation makes up.
    """
    return [
        request.body.get("text", "") for request in teams.connector.sent(user.personal_chat)
        if request.kind == "reply" and (request.activity_id or "").startswith("f:")
    ]


@pytest.fixture
async def booked(teams: TeamsHarness) -> AsyncIterator[tuple[TeamsHarness, dict[str, Any], str]]:
    """The student has installed the app and received a booking; yields the consent card and its message id."""
    await teams.install(STUDENT)
    assert await send_booking(teams) is not None
    [(request, card)] = consent_cards(teams)
    assert request.answered_id is not None
    yield teams, card, request.answered_id


async def accept(teams: TeamsHarness, card: dict[str, Any], card_id: str, *, user=STUDENT) -> tuple[int, Any]:
    context = card["content"]["acceptContext"]
    info = teams.connector.upload_info()
    return await teams.respond_to_file_consent(user, "accept", context=context, upload_info=info, reply_to_id=card_id)


# Offering the invitation


async def test_invite_sent_as_consent_card(teams):
    await teams.install(STUDENT)

    result = await send_booking(teams)

    # The card describes the file and the session, so the message's own text is not sent.
    [sent] = teams.sent_to(STUDENT.personal_chat)
    assert BOOKED_TEXT not in sent.text
    assert result == Sent(sent.answered_id)
    [(_, card)] = consent_cards(teams)
    assert card["name"] == INVITE_FILENAME
    assert card["content"]["sizeInBytes"] == len(INVITE)
    assert card["content"]["description"] == messages.INVITE_FILE_DESCRIPTION.format(when="Monday 2 March, 10:30 to 11:00")
    assert card["content"]["acceptContext"] == card["content"]["declineContext"]
    assert teams.connector.uploads == []


async def test_message_without_invite_has_no_card(teams):
    await teams.install(STUDENT)

    result = await send_booking(teams, reply_to_json(Reply(BOOKED_TEXT)))

    assert isinstance(result, Sent)
    assert len(teams.sent_to(STUDENT.personal_chat)) == 1
    assert consent_cards(teams) == []


async def test_failed_consent_card_retried(teams):
    await teams.install(STUDENT)
    # 500 is not retried by the messenger's Sender, so the outbox retries the whole message later.
    teams.connector.fail(STUDENT.personal_chat, 500)

    first = await send_booking(teams)
    second = await send_booking(teams)

    assert isinstance(first, Failed)
    rejected = [request for request in teams.connector.requests if request.status == 500]
    assert len(rejected) == 1
    assert rejected[0].attachments(FILE_CONSENT_CONTENT_TYPE) != []
    [sent] = teams.sent_to(STUDENT.personal_chat)
    assert second == Sent(sent.answered_id)
    assert len(consent_cards(teams)) == 1


async def test_invalid_invite_sends_message_only(teams):
    await teams.install(STUDENT)
    payload = {**reply_to_json(Reply(BOOKED_TEXT)), INVITE_KEY: {"filename": INVITE_FILENAME, "base64": "not base64!"}}

    result = await send_booking(teams, payload)

    assert isinstance(result, Sent)
    assert len(teams.sent_to(STUDENT.personal_chat)) == 1


# Allow


async def test_accept_uploads_exact_bytes(booked):
    teams, card, card_id = booked

    status, _ = await accept(teams, card, card_id)

    assert status == 200
    [upload] = teams.connector.uploaded()
    assert upload.body == INVITE
    assert upload.headers["Content-Length"] == str(len(INVITE))
    assert upload.headers["Content-Range"] == f"bytes 0-{len(INVITE) - 1}/{len(INVITE)}"
    assert "Authorization" not in upload.headers
    assert upload.query.startswith("tempauth=")


async def test_accept_sends_file_info_card(booked):
    teams, card, card_id = booked
    info = teams.connector.upload_info()

    await teams.respond_to_file_consent(
        STUDENT, "accept", context=card["content"]["acceptContext"], upload_info=info, reply_to_id=card_id
    )

    file_messages = [
        request for request in teams.sent_to(STUDENT.personal_chat) if request.attachments(FILE_INFO_CONTENT_TYPE)
    ]
    assert len(file_messages) == 1
    assert file_messages[0].body["text"] == messages.INVITE_SAVED
    [attachment] = file_messages[0].attachments(FILE_INFO_CONTENT_TYPE)
    assert attachment["contentUrl"] == info["contentUrl"]
    assert attachment["name"] == INVITE_FILENAME
    assert attachment["content"] == {"uniqueId": info["uniqueId"], "fileType": "ics"}


async def test_accept_deletes_consent_card(booked):
    teams, card, card_id = booked

    await accept(teams, card, card_id)

    assert [request.activity_id for request in teams.connector.deletes()] == [card_id]


async def test_second_accept_uploads_once(booked):
    teams, card, card_id = booked
    await accept(teams, card, card_id)

    status, _ = await accept(teams, card, card_id)

    assert status == 200
    assert len(teams.connector.uploads) == 1
    assert replies_to(teams)[-1] == messages.INVITE_ALREADY_SAVED


async def test_concurrent_accepts_upload_once(booked):
    teams, card, card_id = booked

    results = await asyncio.gather(accept(teams, card, card_id), accept(teams, card, card_id))

    assert [status for status, _ in results] == [200, 200]
    assert len(teams.connector.uploads) == 1
    replies = replies_to(teams)
    assert replies.count(messages.INVITE_SAVED) == 1
    assert replies.count(messages.INVITE_BEING_SAVED) + replies.count(messages.INVITE_ALREADY_SAVED) == 1


async def test_redelivered_accept_handled_once(booked):
    teams, card, card_id = booked
    activity = teams.activity(
        STUDENT, type="invoke", name="fileConsent/invoke", id="f:consent-redelivered", replyToId=card_id,
        value={"action": "accept", "context": card["content"]["acceptContext"], "uploadInfo": teams.connector.upload_info()},
    )

    first = await teams.post(activity)
    second = await teams.post(activity)

    assert (first[0], second[0]) == (200, 200)
    assert len(teams.connector.uploads) == 1
    assert replies_to(teams) == [messages.INVITE_SAVED]


async def test_failed_upload_tried_again(booked, caplog):
    teams, card, card_id = booked
    caplog.set_level(logging.DEBUG)
    teams.connector.fail_uploads(500)
    info = teams.connector.upload_info()

    status, _ = await teams.respond_to_file_consent(
        STUDENT, "accept", context=card["content"]["acceptContext"], upload_info=info, reply_to_id=card_id
    )

    assert status == 200
    assert replies_to(teams) == [messages.INVITE_NOT_SAVED]
    assert teams.connector.deletes() == []
    # The upload URL's token and the file's text stay out of the logs.
    assert info["uploadUrl"].split("?", 1)[1] not in caplog.text
    assert "BEGIN:VCALENDAR" not in caplog.text

    await accept(teams, card, card_id)

    assert [upload.status for upload in teams.connector.uploads] == [500, 201]
    assert teams.connector.uploaded()[0].body == INVITE
    assert replies_to(teams)[-1] == messages.INVITE_SAVED


async def claim_directly(teams: TeamsHarness, card: dict[str, Any]) -> None:
    """Claim the offer as an upload on another replica would, and leave it claimed."""
    recipient = repository.FileRecipient("teams", TENANT, STUDENT.user_id)
    async with teams.service.database.session() as session:
        claim = await repository.claim_file_offer(
            session, ORGANISATION, card["content"]["acceptContext"]["offer"], recipient,
            now=teams.clock.now(), lease=UPLOAD_LEASE,
        )
        await session.commit()
    assert claim.file is not None


async def test_accept_during_other_upload_waits(booked):
    teams, card, card_id = booked
    await claim_directly(teams, card)

    status, _ = await accept(teams, card, card_id)

    assert status == 200
    assert teams.connector.uploads == []
    assert replies_to(teams) == [messages.INVITE_BEING_SAVED]


async def test_stalled_upload_taken_over_after_lease(booked):
    teams, card, card_id = booked
    await claim_directly(teams, card)
    teams.clock.moment += UPLOAD_LEASE

    await accept(teams, card, card_id)

    assert teams.connector.uploaded()[0].body == INVITE
    assert replies_to(teams) == [messages.INVITE_SAVED]


async def test_new_offer_deletes_expired_ones(booked):
    teams, _, _ = booked
    teams.clock.moment += OFFER_LIFETIME + timedelta(seconds=1)

    await send_booking(teams)

    async with teams.service.database.session() as session:
        stored = (await session.scalars(select(file_offers.c.expires_at))).all()
    assert stored == [teams.clock.now() + OFFER_LIFETIME]


async def test_accept_from_other_user_uploads_nothing(booked):
    teams, card, card_id = booked
    await teams.install(SECOND_STUDENT)

    status, _ = await accept(teams, card, card_id, user=SECOND_STUDENT)

    assert status == 200
    assert teams.connector.uploads == []
    assert replies_to(teams, SECOND_STUDENT) == [messages.INVITE_UNAVAILABLE]


# Decline, and responses that match no offer


async def test_decline_adds_no_file(booked):
    teams, card, card_id = booked

    status, _ = await teams.respond_to_file_consent(
        STUDENT, "decline", context=card["content"]["declineContext"], reply_to_id=card_id
    )

    assert status == 200
    assert teams.connector.uploads == []
    assert replies_to(teams) == [messages.INVITE_DECLINED]
    assert [request.activity_id for request in teams.connector.deletes()] == [card_id]


async def test_accept_after_decline_uploads_nothing(booked):
    teams, card, card_id = booked
    await teams.respond_to_file_consent(STUDENT, "decline", context=card["content"]["declineContext"], reply_to_id=card_id)

    await accept(teams, card, card_id)

    assert teams.connector.uploads == []
    assert replies_to(teams)[-1] == messages.INVITE_UNAVAILABLE


async def test_unknown_token_gets_plain_reply(booked):
    teams, _, card_id = booked

    status, _ = await teams.respond_to_file_consent(
        STUDENT, "accept", context={"offer": "no-such-offer"}, upload_info=teams.connector.upload_info(),
        reply_to_id=card_id,
    )

    assert status == 200
    assert teams.connector.uploads == []
    assert replies_to(teams) == [messages.INVITE_UNAVAILABLE]


async def test_accept_without_context_gets_plain_reply(booked):
    teams, _, _ = booked

    status, _ = await teams.respond_to_file_consent(STUDENT, "accept", upload_info=teams.connector.upload_info())

    assert status == 200
    assert teams.connector.uploads == []
    assert replies_to(teams) == [messages.INVITE_UNAVAILABLE]


async def test_expired_offer_gets_plain_reply(booked):
    teams, card, card_id = booked
    teams.clock.moment += OFFER_LIFETIME + timedelta(seconds=1)

    status, _ = await accept(teams, card, card_id)

    assert status == 200
    assert teams.connector.uploads == []
    assert replies_to(teams) == [messages.INVITE_UNAVAILABLE]


@pytest.mark.parametrize("value", [
    {"action": "maybe", "context": {}},
    {"context": {}},
    {"action": "accept", "context": {}, "uploadInfo": {"name": INVITE_FILENAME}},
])
async def test_invalid_consent_value_rejected(booked, value):
    teams, _, _ = booked
    activity = teams.activity(STUDENT, type="invoke", name="fileConsent/invoke", id=f"f:bad-{len(str(value))}", value=value)

    status, _ = await teams.post(activity)

    assert status == 400
    assert teams.connector.uploads == []
    assert replies_to(teams) == []


# Upload URLs


@pytest.fixture
async def https_only(database: Database) -> AsyncIterator[TeamsHarness]:
    """A harness whose settings leave plain-http uploads off, as in production."""
    settings = TeamsSettings(allow_unauthenticated=True, organisation=ORGANISATION)
    async for harness in run_harness(database, seed, settings):
        yield harness


async def test_http_upload_url_rejected_by_default(https_only):
    teams = https_only
    await teams.install(STUDENT)
    await send_booking(teams)
    [(request, card)] = consent_cards(teams)

    status, _ = await accept(teams, card, request.answered_id)

    assert status == 200
    assert teams.connector.uploads == []
    assert replies_to(teams) == [messages.INVITE_NOT_SAVED]
