"""The Teams side of the outbox: the bot's own messages sent as proactive messages."""

from __future__ import annotations

from collections.abc import Mapping

from clipbot.bot.adapters.teams.app import TeamsMessenger
from clipbot.bot.events import Reply
from clipbot.outbox.dispatcher import SendResult, Sent, Unreachable


class TeamsOutboxSender:
    """Deliver outbox messages from stored conversation references, paced and retried by the messenger.

    NOTE: a calendar invite in the payload is not attached in Teams yet; the message gives the time.
    """

    def __init__(self, messenger: TeamsMessenger) -> None:
        self.messenger = messenger

    async def send_to_person(
        self, organisation: str, workspace: str, person: str, reply: Reply, payload: Mapping[str, object]
    ) -> SendResult:
        if await self.messenger.notify(organisation, workspace, person, reply):
            return Sent(None)
        return Unreachable("the Teams user cannot be reached")

    async def post_to_ward(self, organisation: str, ward: str, reply: Reply) -> SendResult:
        delivery = await self.messenger.post_to_ward(organisation, ward, reply)
        return Sent(None) if delivery.delivered else Unreachable(delivery.problem or "the ward channel is unavailable")
