"""Offering files with Teams file consent cards, and uploading them once the user allows it.

`offer_file` stores a file under a new random token and returns the consent card to send.
`FileConsent` handles the `fileConsent/invoke` that the card's Allow or Decline sends. On Allow it
claims the offer in the database, PUTs the bytes to the invoke's upload URL, sends a file info card
and deletes the consent card. Because of the claim, a second Allow, or an Allow on two replicas at
once, uploads nothing more. A failed upload puts the offer back, so Allow on the same card tries again.

Upload URLs are not logged, because their query string contains a token, and neither are file bytes.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial

import aiohttp
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.schema import Activity, ActivityTypes

from clipbot.bot.adapters.teams.files import (
    OfferedFile,
    UploadInfo,
    check_upload_url,
    consent_card_activity,
    file_info_activity,
    invite_description,
    read_consent_response,
    url_host,
)
from clipbot.bot.adapters.teams.sending import Sender, SendError
from clipbot.bot.handlers import messages
from clipbot.clock import Clock
from clipbot.storage import repository
from clipbot.storage.database import Database

logger = logging.getLogger(__name__)

# How long a consent card can be accepted. Protected time is booked within its ISO week, so a
# week-old invitation is for a session that has already passed.
OFFER_LIFETIME = timedelta(days=7)
# An upload keeps its claim on an offer this long, well past UPLOAD_TIMEOUT_SECONDS, so that only an
# upload that stopped without releasing the claim loses it.
UPLOAD_LEASE = timedelta(minutes=2)
UPLOAD_TIMEOUT_SECONDS = 30.0
# OneDrive takes at most this much less one byte in a single PUT to an upload session ("Upload large
# files with an upload session"). Calendar invitations are a few kilobytes.
MAX_PUT_BYTES = 60 * 1024 * 1024

_REPLY_FOR_STATE = {
    repository.FileOfferState.UPLOADING: messages.INVITE_BEING_SAVED,
    repository.FileOfferState.UPLOADED: messages.INVITE_ALREADY_SAVED,
}


class UploadError(Exception):
    """An upload failed; `status` is the HTTP status, or None when no response arrived."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class FileUploader:
    """Uploads a whole file with one PUT to an upload URL from Teams (a OneDrive upload session).

    Only https URLs are used, or plain http to 127.0.0.1 with `allow_loopback_http`, which is for
    tests. The PUT carries no Authorization header, because OneDrive's "Upload large files with an
    upload session" warns that one may cause a 401. It does not follow redirects, so an https URL
    cannot hand the file to plain http.
    """

    def __init__(self, *, allow_loopback_http: bool = False, timeout: float = UPLOAD_TIMEOUT_SECONDS) -> None:
        self.allow_loopback_http = allow_loopback_http
        self.timeout = timeout

    async def upload(self, url: str, content: bytes) -> None:
        """PUT `content` to `url`; raise UploadError for a rejected URL or file, a failed request, or a status other than 200 or 201.

        OneDrive's upload session responds 201 Created or 200 OK once the last byte has arrived.
        """
        try:
            check_upload_url(url, allow_loopback_http=self.allow_loopback_http)
        except ValueError as error:
            raise UploadError(str(error)) from None
        if not content:
            raise UploadError("The file to upload is empty, so nothing was uploaded.")
        if len(content) >= MAX_PUT_BYTES:
            raise UploadError(
                f"The file is {len(content)} bytes, too large for one upload request (under {MAX_PUT_BYTES}), "
                f"so nothing was uploaded. Offer a smaller file."
            )

        size = len(content)
        # The whole file in one range: the last byte's index is size - 1.
        headers = {"Content-Length": str(size), "Content-Range": f"bytes 0-{size - 1}/{size}"}
        host = url_host(url)
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.put(url, data=content, headers=headers, allow_redirects=False) as response,
            ):
                status = response.status
                await response.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            raise UploadError(f"The upload to {host} failed: {type(error).__name__}.") from None
        if status not in (200, 201):
            raise UploadError(f"The upload to {host} failed with HTTP {status}.", status)


async def offer_file(
    database: Database, organisation: str, tenant: str, user_id: str, file: OfferedFile, *, now: datetime
) -> Activity:
    """Store `file` as an offer to the Teams user and return the consent card activity that offers it.

    Expired offers of every organisation are deleted on the way. Raises SQLAlchemyError when the
    offer cannot be stored, in which case no card should be sent.

    NOTE: nothing else deletes expired offers, so the last ones (and the names and e-mail addresses
    in their invitations) stay in the database until the next offer is stored.
    """
    token = secrets.token_urlsafe(24)
    offer = repository.NewFileOffer(
        token=token, recipient=repository.FileRecipient(repository.TEAMS, tenant, user_id),
        filename=file.filename, content=file.content, expires_at=now + OFFER_LIFETIME,
    )
    async with database.session() as session:
        await repository.forget_file_offers_before(session, now)
        await repository.save_file_offer(session, organisation, offer, now=now)
        await session.commit()
    return consent_card_activity(file, invite_description(file.content), token)


class FileConsent:
    """Handles `fileConsent/invoke` activities: uploads accepted files, and records declined ones."""

    def __init__(self, database: Database, sender: Sender, uploader: FileUploader, clock: Clock) -> None:
        self.database = database
        self.sender = sender
        self.uploader = uploader
        self.clock = clock

    async def handle(self, turn: TurnContext, organisation: str, tenant: str, user_id: str) -> None:
        """Act on the user's Allow or Decline, then respond to the invoke: 200 once handled, 400 for an invalid value."""
        try:
            response = read_consent_response(turn.activity.value)
        except ValueError as error:
            logger.info("Rejected file consent invoke %s from user %s: %s", turn.activity.id, user_id, error)
            await send_invoke_status(turn, 400)
            return

        recipient = repository.FileRecipient(repository.TEAMS, tenant, user_id)
        conversation = _Conversation(self.sender, turn, tenant)
        if response.upload is not None:
            await self._accept(conversation, organisation, recipient, response.token, response.upload)
        else:
            await self._decline(conversation, organisation, recipient, response.token)
        await send_invoke_status(turn, 200)

    async def _accept(
        self, conversation: _Conversation, organisation: str, recipient: repository.FileRecipient, token: str | None,
        upload: UploadInfo,
    ) -> None:
        claim = repository.FileOfferClaim(None)
        if token is not None:
            async with self.database.session() as session:
                claim = await repository.claim_file_offer(
                    session, organisation, token, recipient, now=self.clock.now(), lease=UPLOAD_LEASE
                )
                await session.commit()
        if claim.file is None:
            logger.info(
                "Uploaded nothing for Teams user %s in tenant %s: their accepted file offer is %s.",
                recipient.user_id, recipient.workspace, claim.state.value if claim.state else "unknown or expired",
            )
            await conversation.say(_REPLY_FOR_STATE.get(claim.state, messages.INVITE_UNAVAILABLE))
            return

        try:
            await self.uploader.upload(upload.upload_url, claim.file.content)
        except UploadError as error:
            logger.warning(
                "Failed to upload %s for Teams user %s in tenant %s: %s",
                claim.file.filename, recipient.user_id, recipient.workspace, error,
            )
            async with self.database.session() as session:
                await repository.release_file_offer(session, organisation, claim.file.token, now=self.clock.now())
                await session.commit()
            await conversation.say(messages.INVITE_NOT_SAVED)
            return

        async with self.database.session() as session:
            await repository.finish_file_upload(session, organisation, claim.file.token, now=self.clock.now())
            await session.commit()
        logger.info(
            "Uploaded %s (%d bytes) for Teams user %s in tenant %s to %s.",
            claim.file.filename, len(claim.file.content), recipient.user_id, recipient.workspace,
            url_host(upload.upload_url),
        )
        await conversation.show_file(upload)
        await conversation.remove_consent_card()

    async def _decline(
        self, conversation: _Conversation, organisation: str, recipient: repository.FileRecipient, token: str | None
    ) -> None:
        before = None
        if token is not None:
            async with self.database.session() as session:
                before = await repository.decline_file_offer(session, organisation, token, recipient, now=self.clock.now())
                await session.commit()
        logger.info(
            "Teams user %s in tenant %s declined a file offer that was %s.",
            recipient.user_id, recipient.workspace, before.value if before else "unknown or expired",
        )
        await conversation.say(_REPLY_FOR_STATE.get(before, messages.INVITE_DECLINED))
        if before is repository.FileOfferState.OFFERED:
            await conversation.remove_consent_card()


class _Conversation:
    """Sends in the personal chat of one fileConsent/invoke turn; a send that fails for good is logged, not raised."""

    def __init__(self, sender: Sender, turn: TurnContext, tenant: str) -> None:
        self.sender = sender
        self.turn = turn
        self.tenant = tenant
        self.conversation = turn.activity.conversation.id

    async def say(self, text: str) -> None:
        activity = Activity(type=ActivityTypes.message, text=text, text_format="plain")
        await self._send(partial(self.turn.send_activity, activity), "file consent reply")

    async def show_file(self, upload: UploadInfo) -> None:
        activity = file_info_activity(upload, messages.INVITE_SAVED)
        await self._send(partial(self.turn.send_activity, activity), "file info card")

    async def remove_consent_card(self) -> None:
        """Delete the consent card that the user responded to, which Teams leaves in the chat with live buttons."""
        card_id = self.turn.activity.reply_to_id
        if card_id:
            await self._send(partial(self.turn.delete_activity, card_id), "consent card deletion")

    async def _send(self, operation: Callable[[], Awaitable[object]], description: str) -> None:
        try:
            await self.sender.send(operation, tenant=self.tenant, conversation=self.conversation, description=description)
        except SendError:
            logger.info("Gave up the %s in conversation %s; the failure was logged.", description, self.conversation)


async def send_invoke_status(turn: TurnContext, status: int) -> None:
    """Respond to a fileConsent/invoke with an HTTP status and no body, as botbuilder's TeamsActivityHandler does."""
    await turn.send_activity(Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=status)))

