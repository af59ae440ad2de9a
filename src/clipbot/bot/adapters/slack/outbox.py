"""The Slack side of the outbox: the bot's own messages sent through SlackBot.

slack_sdk retries a 429 and a dropped connection itself (MAX_API_RETRIES times, see `app.py`).
What still fails after that becomes a SendResult for the dispatcher:
- a 429 becomes RetryAfter with Slack's Retry-After, so the dispatcher holds back its messages;
- a user who cannot get direct messages, or a ward channel the bot cannot post in, is Unreachable;
- anything else, such as a 5xx, a lost connection or another Web API error, is Failed, which the
  dispatcher retries with back-off.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from clipbot.bot.adapters.slack.app import CHANNEL_PROBLEMS, UNREACHABLE_ERRORS, SlackBot
from clipbot.bot.events import Reply
from clipbot.domain.invites import SUMMARY
from clipbot.outbox.dispatcher import Failed, RetryAfter, SendResult, Sent, Unreachable
from clipbot.workflows.planner import calendar_invite

logger = logging.getLogger(__name__)

# The wait after a 429 that has no usable Retry-After header.
DEFAULT_RETRY_AFTER_SECONDS = 30.0
# Error codes that some methods return for a rate limit without HTTP 429.
RATE_LIMIT_ERRORS = frozenset({"ratelimited", "rate_limited"})
# chat.update's codes for a message that can no longer be changed, so a new one is posted instead.
LOST_MESSAGE_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
# The title Slack shows on an uploaded calendar invitation: the event's own summary.
INVITE_TITLE = SUMMARY

_SEND_ERRORS = (SlackClientError, aiohttp.ClientError, TimeoutError)


class SlackOutboxSender:
    """Deliver outbox messages as Slack direct messages and ward channel posts, and edit the posts when the groups change.

    A `pt-invite` message is its calendar invitation, shared in the direct message with the text as
    the file's comment. So a failed upload is retried like any failed message, and posts nothing twice.

    NOTE: slack_sdk's 429 retry (RateLimitRetry in `app.py`) waits the whole Retry-After, up to
    MAX_API_RETRIES times, inside one send. A Retry-After over about 15 s can make that send outlast
    the 30 s that the dispatcher allows with its default lease, so a second dispatcher could send the
    same message.
    """

    def __init__(self, bot: SlackBot) -> None:
        self.bot = bot

    async def send_to_person(
        self, organisation: str, workspace: str, person: str, reply: Reply, payload: Mapping[str, object]
    ) -> SendResult:
        invite = calendar_invite(payload)
        try:
            ts = await self.bot.send_to_person(
                organisation, workspace, person, reply,
                attachment=invite, attachment_title=INVITE_TITLE if invite is not None else None,
            )
        except _SEND_ERRORS as error:
            return result_of_error(error)
        if ts is None:
            return Unreachable("the person has no reachable Slack user in this workspace")
        return Sent(ts)

    async def post_to_ward(self, organisation: str, ward: str, reply: Reply) -> SendResult:
        try:
            ts = await self.bot.post_to_ward(organisation, ward, reply)
        except _SEND_ERRORS as error:
            return result_of_error(error)
        if ts is None:
            return Unreachable("the ward has no Slack channel")
        return Sent(ts)

    async def update_ward_post(self, organisation: str, ward: str, message_id: str, reply: Reply) -> SendResult:
        try:
            changed = await self.bot.update_ward_post(organisation, ward, message_id, reply)
        except SlackApiError as error:
            if error.response is not None and error.response.get("error") in LOST_MESSAGE_ERRORS:
                return Unreachable(f"Slack error {error.response.get('error')}")
            return result_of_error(error)
        except _SEND_ERRORS as error:
            return result_of_error(error)
        if not changed:
            return Unreachable("the ward has no Slack channel")
        return Sent(message_id)


def result_of_error(error: Exception) -> SendResult:
    """Map what a Web API call raised after slack_sdk's retries to the dispatcher's SendResult."""
    if not isinstance(error, SlackApiError) or error.response is None:
        return Failed(f"could not reach Slack ({type(error).__name__})")

    status = error.response.status_code
    code = str(error.response.get("error") or "")
    if status == 429 or code in RATE_LIMIT_ERRORS:
        return RetryAfter(retry_after_seconds(error.response.headers))
    if code in UNREACHABLE_ERRORS or code in CHANNEL_PROBLEMS:
        return Unreachable(f"Slack error {code}")
    if status != 200:
        return Failed(f"Slack returned HTTP {status}" + (f" ({code})" if code else ""))
    return Failed(f"Slack error {code or 'without a code'}")


def retry_after_seconds(headers: Mapping[str, object] | None) -> float:
    """Return the Retry-After header in seconds, or DEFAULT_RETRY_AFTER_SECONDS when it is missing or invalid."""
    for name, value in (headers or {}).items():
        if name.lower() != "retry-after":
            continue
        # slack_sdk passes aiohttp's headers, whose values are strings, but other mappings may contain lists.
        text = value[0] if isinstance(value, list | tuple) and value else value
        try:
            return max(0.0, float(str(text).strip()))
        except ValueError:
            logger.warning("Ignored a Retry-After header from Slack that is not a number: %r", str(text)[:40])
            break
    return DEFAULT_RETRY_AFTER_SECONDS
