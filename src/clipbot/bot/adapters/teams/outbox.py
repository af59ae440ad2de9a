"""The Teams side of the outbox: the bot's own messages sent as proactive messages.

Each request goes through the messenger's `Sender`, which paces it and retries 429, 412, 502, 503,
504 and lost connections itself (see `sending.py`). What still fails after that becomes a
SendResult for the dispatcher:
- a 429 becomes RetryAfter with Teams' Retry-After, so the dispatcher holds back its messages;
- 403 or 404 is Unreachable, because the app was removed or the conversation is gone;
- anything else, such as a 5xx or no response, is Failed, which the dispatcher retries with back-off.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from botbuilder.schema import Activity
from sqlalchemy.exc import SQLAlchemyError

from clipbot.bot.adapters.teams.app import TEAMS, UNREACHABLE_STATUSES, TeamsMessenger, reply_activities
from clipbot.bot.adapters.teams.consent import offer_file
from clipbot.bot.adapters.teams.files import OfferedFile, calendar_invite
from clipbot.bot.adapters.teams.sending import THROTTLED, SendError, retry_after
from clipbot.bot.events import Reply
from clipbot.outbox.dispatcher import Failed, RetryAfter, SendResult, Sent, Unreachable
from clipbot.storage import repository

logger = logging.getLogger(__name__)

# The wait after a 429 without a usable Retry-After header.
DEFAULT_RETRY_AFTER_SECONDS = 30.0


class TeamsOutboxSender:
    """Deliver outbox messages from stored conversation references, paced and retried by the messenger.

    A `pt-invite` message's calendar invitation is sent as a file consent card alone (see
    `consent.py`), because Teams lets a bot put a file in a personal chat only once the user allows
    it. The card describes the file and the session's time, so the message's text is not sent. A
    card that cannot be stored or sent is retried like any failed message.
    """

    def __init__(self, messenger: TeamsMessenger) -> None:
        self.messenger = messenger

    async def send_to_person(
        self, organisation: str, workspace: str, person: str, reply: Reply, payload: Mapping[str, object]
    ) -> SendResult:
        async with self.messenger.database.session() as session:
            identity = await repository.identity_of_person(session, organisation, TEAMS, workspace, person)
            reference = None
            if identity is not None and identity.reachable:
                key = repository.user_reference_key(identity.user_id)
                reference = await repository.load_reference(session, organisation, TEAMS, workspace, key)
        if identity is None:
            return Unreachable("the person has no Teams user linked in this tenant")
        if not identity.reachable:
            return Unreachable("the person's Teams user is marked unreachable")
        if reference is None:
            return Unreachable("no personal chat with the person's Teams user is stored")

        invite = calendar_invite(payload)
        if invite is not None:
            result = await self._offer_file(reference, organisation, workspace, identity.user_id, invite)
        else:
            activities = reply_activities(reply)
            result = await self._send(reference, activities, tenant=workspace, description="outbox message to a person")
        if isinstance(result, Unreachable):
            # Later messages skip the user until they message the bot or install it again.
            async with self.messenger.database.session() as session:
                await repository.mark_unreachable(session, organisation, TEAMS, workspace, identity.user_id)
                await session.commit()
        return result

    async def _offer_file(
        self, reference: Mapping[str, Any], organisation: str, tenant: str, user_id: str, file: OfferedFile
    ) -> SendResult:
        """Store `file` as an offer and send its consent card."""
        try:
            card = await offer_file(
                self.messenger.database, organisation, tenant, user_id, file, now=self.messenger.clock.now()
            )
        except SQLAlchemyError as error:
            # A database error's text can contain the file's bytes, so only its type is logged.
            logger.warning(
                "Could not store the offer of %s to Teams user %s in tenant %s: %s",
                file.filename, user_id, tenant, type(error).__name__,
            )
            return Failed(f"could not store the file offer ({type(error).__name__})")
        return await self._send(reference, [card], tenant=tenant, description="file consent card")

    async def post_to_ward(self, organisation: str, ward: str, reply: Reply) -> SendResult:
        found = await self._ward_reference(organisation, ward)
        if isinstance(found, Unreachable):
            return found
        reference, tenant = found
        activities = reply_activities(reply)
        return await self._send(reference, activities, tenant=tenant, description="outbox post to a ward channel")

    async def update_ward_post(self, organisation: str, ward: str, message_id: str, reply: Reply) -> SendResult:
        """Change the activity `message_id` in the ward's channel to the reply's first card; send any further cards after it."""
        found = await self._ward_reference(organisation, ward)
        if isinstance(found, Unreachable):
            return found
        reference, tenant = found
        activities = reply_activities(reply)
        activities[0].id = message_id
        result = await self._send(reference, activities, tenant=tenant, description="outbox update of a ward channel post")
        return Sent(message_id) if isinstance(result, Sent) else result

    async def _ward_reference(self, organisation: str, ward: str) -> tuple[Mapping[str, Any], str] | Unreachable:
        """Return the stored conversation reference of the ward's Teams channel and its tenant."""
        async with self.messenger.database.session() as session:
            channel = await repository.ward_channel(session, organisation, ward, TEAMS)
            reference = None
            if channel is not None:
                key = repository.channel_reference_key(channel.channel_id)
                reference = await repository.load_reference(session, organisation, TEAMS, channel.workspace, key)
        if channel is None:
            return Unreachable("the ward has no Teams channel")
        if reference is None:
            return Unreachable("no conversation reference is stored for the ward's Teams channel")
        return reference, channel.workspace

    async def _send(
        self, reference: Mapping[str, Any], activities: list[Activity], *, tenant: str, description: str
    ) -> SendResult:
        """Send activities in order and return the result, with the first activity's id when sent.

        Only a failure of the first activity decides the result. After a later one fails, the rest are
        skipped and the failure is logged, because sending the message again would repeat the first.
        """
        try:
            progress = await self.messenger.deliver(reference, activities, tenant=tenant, description=description)
        except SendError as error:
            return result_of_error(error)

        if progress.activity_ids:
            if progress.failure is not None:
                logger.warning(
                    "Teams accepted %d of %d cards of an %s, then failed with %s, so the rest were not sent.",
                    len(progress.activity_ids), len(activities), description, _status_text(progress.failure),
                )
            return Sent(progress.activity_ids[0])
        if progress.failure is not None:
            return result_of_error(progress.failure)
        if not progress.finished:
            # The turn raised something other than SendError, which the adapter's on_turn_error logged.
            return Failed("the proactive turn stopped before any card was sent")
        return Sent(None)

def result_of_error(error: SendError) -> SendResult:
    """Map a SendError that outlasted the Sender's retries to the dispatcher's SendResult."""
    if error.status == THROTTLED:
        # The SendError is raised from the connector's HttpOperationError, which has the response headers.
        seconds = retry_after(error.__cause__) if error.__cause__ is not None else None
        return RetryAfter(DEFAULT_RETRY_AFTER_SECONDS if seconds is None else seconds)
    if error.status in UNREACHABLE_STATUSES:
        return Unreachable(f"Teams answered HTTP {error.status}")
    if error.status is None:
        return Failed("Teams did not respond")
    return Failed(f"Teams answered HTTP {error.status}")


def _status_text(error: SendError) -> str:
    return f"HTTP {error.status}" if error.status is not None else "no response"
