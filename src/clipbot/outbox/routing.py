"""Delivering an outbox message on the chat platform its recipient uses.

The planner does not know whether a student uses Slack or Teams, so each message goes to the
`RoutingSender` (the dispatcher's default sender). It looks up the person's linked chat accounts,
or which platform has the ward's channel, and hands the message to that platform's sender.

A ward post that cannot go to the ward's channel goes to the ward's clinical educators. When a
person cannot be reached, the clinical educators of the message's ward get a notice, at most one a
day per person. A message that names no ward is only logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from clipbot.bot.events import Reply
from clipbot.bot.handlers import messages
from clipbot.bot.serialise import InvalidPayloadError, reply_from_json, reply_to_json
from clipbot.clock import Clock, SystemClock
from clipbot.domain.protected_time import LONDON
from clipbot.domain.roles import Role
from clipbot.outbox.dispatcher import Failed, RetryAfter, SendResult, Sent, Unreachable
from clipbot.storage import repository
from clipbot.storage.database import Database
from clipbot.storage.outbox import ClaimedMessage, NewMessage, OutboxState, RecipientKind
from clipbot.workflows.planner import COACH_UPDATE, DELIVERY_PROBLEM, UPDATES_KEY, WORKFLOW_KEY, version_of

logger = logging.getLogger(__name__)

# How long a notice about a person who cannot be reached is worth sending.
NOTICE_WINDOW = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class _WardPost:
    """The platform, channel and message id of a ward post, stored as its platform message id "platform|channel|id"."""

    platform: str
    channel: str
    message_id: str

    def encode(self) -> str:
        return f"{self.platform}|{self.channel}|{self.message_id}"

    @classmethod
    def decode(cls, text: str | None) -> _WardPost | None:
        """Return the post an id describes, or None for the id of a message that was not a channel post."""
        parts = (text or "").split("|", 2)
        return cls(*parts) if len(parts) == 3 and all(parts) else None


class PlatformSender(Protocol):
    """The two deliveries one chat platform offers for the bot's own messages."""

    async def send_to_person(
        self, organisation: str, workspace: str, person: str, reply: Reply, payload: Mapping[str, object]
    ) -> SendResult: ...

    async def post_to_ward(self, organisation: str, ward: str, reply: Reply) -> SendResult: ...

    async def update_ward_post(self, organisation: str, ward: str, message_id: str, reply: Reply) -> SendResult:
        """Change a post that `post_to_ward` made, given the id in its Sent result.

        Unreachable means that the post can no longer be changed, for example because someone deleted it.
        """
        ...


class RoutingSender:
    """Send each message through the platform where its recipient can be reached.

    A person's message goes to their most recently linked reachable account. A ward's post goes to
    the first platform, in the order of `platforms`, that has its channel, or else to its clinical
    educators.
    """

    def __init__(
        self, database: Database, platforms: Mapping[str, PlatformSender], clock: Clock | None = None
    ) -> None:
        self.database = database
        self.platforms = dict(platforms)
        self.clock = clock or SystemClock()
        # Each platform's rate limit, as the time until which nothing more is sent to it.
        self._rate_limited_until: dict[str, datetime] = {}

    async def _through(self, platform: str, send: Callable[[], Awaitable[SendResult]]) -> SendResult:
        """Call one platform's sender, unless that platform is rate limited.

        A rate limit holds back only its own platform's messages. Its RetryAfter carries the platform
        as its scope, so that the dispatcher does not hold back the other platforms' messages too.
        """
        now = self.clock.now()
        limited_until = self._rate_limited_until.get(platform)
        if limited_until is not None and limited_until > now:
            return RetryAfter((limited_until - now).total_seconds(), scope=platform)
        result = await send()
        if isinstance(result, RetryAfter):
            self._rate_limited_until[platform] = self.clock.now() + timedelta(seconds=result.seconds)
            return RetryAfter(result.seconds, scope=platform)
        return result

    async def send(self, message: ClaimedMessage) -> SendResult:
        try:
            reply = reply_from_json(message.payload)
        except InvalidPayloadError:
            # The error text may quote the message, so neither the log nor the row keeps it.
            logger.error("Outbox message %s (%s) has an invalid payload and cannot be sent.", message.id, message.kind)
            return Failed("invalid payload")
        if message.recipient_kind is RecipientKind.WARD:
            if message.kind == COACH_UPDATE:
                return await self._update_ward_post(message, reply)
            return await self._post_to_ward(message, reply)
        return await self._send_to_person(message, reply)

    async def _send_to_person(self, message: ClaimedMessage, reply: Reply) -> SendResult:
        result = await self._deliver_to_person(message, reply)
        if isinstance(result, Unreachable):
            await self._report_unreachable(message, result)
        return result

    async def _deliver_to_person(self, message: ClaimedMessage, reply: Reply) -> SendResult:
        async with self.database.session() as session:
            accounts = await repository.chat_accounts_of_person(session, message.organisation, message.recipient)
        for account in accounts:
            sender = self.platforms.get(account.platform)
            if sender is not None and account.reachable:
                return await self._through(account.platform, partial(
                    sender.send_to_person, message.organisation, account.workspace, message.recipient, reply,
                    message.payload,
                ))
        return Unreachable("the person has no reachable chat account linked")

    async def _report_unreachable(self, message: ClaimedMessage, result: Unreachable) -> None:
        """Tell the clinical educators of the message's ward that a person cannot be reached, once a day per person.

        The notice is an outbox message of its own. A notice that cannot be delivered either is only
        logged, as is a message that names no ward.
        """
        logger.warning(
            "Outbox message %s (%s) could not reach person %s: %s.", message.id, message.kind, message.recipient, result.reason
        )
        facts = message.payload.get(WORKFLOW_KEY)
        ward = facts.get("ward") if isinstance(facts, Mapping) else None
        if message.kind == DELIVERY_PROBLEM or not isinstance(ward, str) or not ward:
            return

        now = self.clock.now()
        day = now.astimezone(ZoneInfo(LONDON)).date()
        async with self.database.transaction() as session:
            educators = await self._educators(session, message.organisation, ward)
            person = await repository.find_person(session, message.organisation, message.recipient)
            text = messages.DELIVERY_PROBLEM.format(
                name=person.name if person is not None else message.recipient,
                person=message.recipient,
                what=messages.MESSAGE_KINDS.get(message.kind, messages.MESSAGE_KINDS["other"]),
                reason=result.reason,
            )
            payload = {**reply_to_json(Reply(text)), WORKFLOW_KEY: {"ward": ward, "person": message.recipient}}
            for educator in educators:
                if educator == message.recipient:
                    continue
                await repository.enqueue(session, message.organisation, NewMessage(
                    idempotency_key=f"{message.organisation}:{DELIVERY_PROBLEM}:{educator}:{message.recipient}:{day}",
                    kind=DELIVERY_PROBLEM, recipient_kind=RecipientKind.PERSON, recipient=educator,
                    payload=payload, due_at=now, not_after=now + NOTICE_WINDOW,
                ))

    @staticmethod
    async def _educators(session: AsyncSession, organisation: str, ward: str) -> list[str]:
        stored = await repository.list_assignments(session, organisation, ward=ward, roles=[Role.CLINICAL_EDUCATOR])
        return sorted({item.assignment.person for item in stored if item.assignment.ward == ward})

    async def _post_to_ward(self, message: ClaimedMessage, reply: Reply) -> SendResult:
        """Post in the ward's channel. A Sent result carries the platform and channel with the post's id."""
        for platform, sender in self.platforms.items():
            async with self.database.session() as session:
                channel = await repository.ward_channel(session, message.organisation, message.recipient, platform)
            if channel is not None:
                result = await self._through(
                    platform, partial(sender.post_to_ward, message.organisation, message.recipient, reply)
                )
                if isinstance(result, Sent) and result.platform_message_id is not None:
                    return Sent(_WardPost(platform, channel.channel_id, result.platform_message_id).encode())
                if isinstance(result, Unreachable):
                    logger.warning(
                        "Outbox message %s could not be posted in the %s channel of ward %s: %s.",
                        message.id, platform, message.recipient, result.reason,
                    )
                    note = messages.CHANNEL_FAILED_NOTE.format(ward=message.recipient, reason=result.reason)
                    return await self._send_to_educators(message, reply, note)
                return result
        return await self._send_to_educators(message, reply, messages.NO_CHANNEL_NOTE.format(ward=message.recipient))

    async def _update_ward_post(self, message: ClaimedMessage, reply: Reply) -> SendResult:
        """Change the coach post that a `coach-post-update` message updates, or post the new groups when it cannot be changed.

        The post to change is the latest earlier version that was sent: the post itself, or an update
        that had to be posted as a new message. While an earlier version is still waiting to be sent,
        this one waits too, so the channel never ends up showing older groups.
        """
        target = await self._latest_sent_version(message)
        if isinstance(target, Failed):
            return target
        if target is not None:
            sender = self.platforms.get(target.platform)
            async with self.database.session() as session:
                channel = await repository.ward_channel(session, message.organisation, message.recipient, target.platform)
            if sender is not None and channel is not None and channel.channel_id == target.channel:
                result = await self._through(target.platform, partial(
                    sender.update_ward_post, message.organisation, message.recipient, target.message_id, reply
                ))
                if not isinstance(result, Unreachable):
                    return Sent(target.encode()) if isinstance(result, Sent) else result
                logger.info(
                    "Could not change the coach post for outbox message %s (%s); posting it again.", message.id, result.reason
                )
        changed = Reply(messages.COACH_POST_CHANGED + reply.text, sections=reply.sections, buttons=reply.buttons, form=reply.form)
        return await self._post_to_ward(message, changed)

    async def _latest_sent_version(self, message: ClaimedMessage) -> _WardPost | Failed | None:
        post_key = str(message.payload.get(UPDATES_KEY, ""))
        keys = [f"{post_key}:update:{number}" for number in range(version_of(message.payload) - 1, 1, -1)] + [post_key]
        async with self.database.session() as session:
            for key in keys:
                found = await repository.find_message(session, key)
                if found is None:
                    continue
                if found.state in (OutboxState.PENDING, OutboxState.SENDING):
                    return Failed("an earlier version of the coach post has not been sent yet")
                if found.state is OutboxState.SENT:
                    return _WardPost.decode(found.platform_message_id)
        return None

    async def _send_to_educators(self, message: ClaimedMessage, reply: Reply, note_text: str) -> SendResult:
        """Give a ward post that could not go to the ward's channel to its clinical educators, who can pass it on."""
        async with self.database.session() as session:
            educators = await self._educators(session, message.organisation, message.recipient)
        note = Reply(note_text + reply.text, sections=reply.sections, buttons=reply.buttons, form=reply.form)
        results = [await self._send_to_person(replace(message, recipient=educator), note) for educator in educators]
        # One educator who has it is enough. Otherwise a rate limit or failure is worth a retry,
        # because nobody has the post yet.
        for kind in (Sent, RetryAfter, Failed):
            found = next((result for result in results if isinstance(result, kind)), None)
            if found is not None:
                return found
        return Unreachable("the ward's channel cannot be used and none of its clinical educators can be reached")
