"""Delivering an outbox message on the chat platform its recipient uses.

The planner does not know whether a student uses Slack or Teams, so each message goes to the
`RoutingSender` (the dispatcher's default sender). It looks up the person's linked chat accounts,
or which platform has the ward's channel, and hands the message to that platform's sender.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Protocol

from clipbot.bot.events import Reply
from clipbot.bot.serialise import InvalidPayloadError, reply_from_json
from clipbot.domain.roles import Role
from clipbot.outbox.dispatcher import Failed, RetryAfter, SendResult, Sent, Unreachable
from clipbot.storage import repository
from clipbot.storage.database import Database
from clipbot.storage.outbox import ClaimedMessage, RecipientKind

logger = logging.getLogger(__name__)

NO_CHANNEL_NOTE = (
    "This was for the {ward} channel, but the ward has none yet: run 'channel {ward}' in it. "
    "Please pass it on.\n"
)


class PlatformSender(Protocol):
    """The two deliveries one chat platform offers for the bot's own messages."""

    async def send_to_person(
        self, organisation: str, workspace: str, person: str, reply: Reply, payload: Mapping[str, object]
    ) -> SendResult: ...

    async def post_to_ward(self, organisation: str, ward: str, reply: Reply) -> SendResult: ...


class RoutingSender:
    """Send each message through the platform where its recipient can be reached.

    A person's message goes to their most recently linked reachable account. A ward's post goes to
    the first platform, in the order of `platforms`, that has its channel, or else to its clinical
    educators.
    """

    def __init__(self, database: Database, platforms: Mapping[str, PlatformSender]) -> None:
        self.database = database
        self.platforms = dict(platforms)

    async def send(self, message: ClaimedMessage) -> SendResult:
        try:
            reply = reply_from_json(message.payload)
        except InvalidPayloadError:
            # The error text may quote the message, so neither the log nor the row keeps it.
            logger.error("Outbox message %s (%s) has an invalid payload and cannot be sent.", message.id, message.kind)
            return Failed("invalid payload")
        if message.recipient_kind is RecipientKind.WARD:
            return await self._post_to_ward(message, reply)
        return await self._send_to_person(message, reply)

    async def _send_to_person(self, message: ClaimedMessage, reply: Reply) -> SendResult:
        async with self.database.session() as session:
            accounts = await repository.chat_accounts_of_person(session, message.organisation, message.recipient)
        for account in accounts:
            sender = self.platforms.get(account.platform)
            if sender is not None and account.reachable:
                return await sender.send_to_person(
                    message.organisation, account.workspace, message.recipient, reply, message.payload
                )
        return Unreachable("the person has no reachable chat account linked")

    async def _post_to_ward(self, message: ClaimedMessage, reply: Reply) -> SendResult:
        for platform, sender in self.platforms.items():
            async with self.database.session() as session:
                channel = await repository.ward_channel(session, message.organisation, message.recipient, platform)
            if channel is not None:
                return await sender.post_to_ward(message.organisation, message.recipient, reply)
        return await self._send_to_educators(message, reply)

    async def _send_to_educators(self, message: ClaimedMessage, reply: Reply) -> SendResult:
        """Give a ward post with no channel to the ward's clinical educators, who can pass it on."""
        async with self.database.session() as session:
            stored = await repository.list_assignments(
                session, message.organisation, ward=message.recipient, roles=[Role.CLINICAL_EDUCATOR]
            )
        educators = sorted({item.assignment.person for item in stored if item.assignment.ward == message.recipient})
        note = Reply(
            NO_CHANNEL_NOTE.format(ward=message.recipient) + reply.text,
            sections=reply.sections, buttons=reply.buttons, form=reply.form,
        )
        results = [await self._send_to_person(replace(message, recipient=educator), note) for educator in educators]
        # One educator who has it is enough. Otherwise a rate limit or failure is worth a retry,
        # because nobody has the post yet.
        for kind in (Sent, RetryAfter, Failed):
            found = next((result for result in results if isinstance(result, kind)), None)
            if found is not None:
                return found
        return Unreachable("the ward has no channel and none of its clinical educators can be reached")
