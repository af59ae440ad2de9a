"""The Slack side of the outbox: the bot's own messages sent through SlackBot."""

from __future__ import annotations

from collections.abc import Mapping

from clipbot.bot.adapters.slack.app import SlackBot
from clipbot.bot.events import Reply
from clipbot.outbox.dispatcher import SendResult, Sent, Unreachable


class SlackOutboxSender:
    """Deliver outbox messages as Slack direct messages and ward channel posts.

    NOTE: a calendar invite in the payload is not uploaded to Slack yet; the message text gives the
    session's time. A Web API error other than an unreachable user is reported as Unreachable
    after slack_sdk's own retries, so such a message is not retried by the dispatcher.
    """

    def __init__(self, bot: SlackBot) -> None:
        self.bot = bot

    async def send_to_person(
        self, organisation: str, workspace: str, person: str, reply: Reply, payload: Mapping[str, object]
    ) -> SendResult:
        if await self.bot.send_to_person(organisation, workspace, person, reply):
            return Sent(None)
        return Unreachable("the Slack user cannot get direct messages")

    async def post_to_ward(self, organisation: str, ward: str, reply: Reply) -> SendResult:
        delivery = await self.bot.post_to_ward(organisation, ward, reply)
        return Sent(None) if delivery.delivered else Unreachable(delivery.problem or "the ward channel is unavailable")
