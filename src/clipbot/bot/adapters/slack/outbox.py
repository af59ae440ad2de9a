"""The Slack side of the outbox: the bot's own messages sent through SlackBot.

slack_sdk retries a 429 and a dropped connection itself (MAX_API_RETRIES times, see `app.py`).
What still fails after that becomes a SendResult for the dispatcher:
- a 429 becomes RetryAfter with Slack's Retry-After, so the dispatcher holds back its messages;
- a user who cannot get direct messages, or a ward channel the bot cannot post in, is Unreachable;
- anything else, such as a 5xx, a lost connection or another Web API error, is Failed, which the
  dispatcher retries with back-off.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from clipbot.bot.adapters.slack.app import CHANNEL_PROBLEMS, UNREACHABLE_ERRORS, SlackBot
from clipbot.bot.events import Attachment, Reply
from clipbot.domain.invites import SUMMARY
from clipbot.outbox.dispatcher import Failed, RetryAfter, SendResult, Sent, Unreachable
from clipbot.workflows.planner import INVITE_FILENAME, INVITE_KEY

logger = logging.getLogger(__name__)

# The wait after a 429 that has no usable Retry-After header.
DEFAULT_RETRY_AFTER_SECONDS = 30.0
# Error codes that some methods return for a rate limit without HTTP 429.
RATE_LIMIT_ERRORS = frozenset({"ratelimited", "rate_limited"})
# The title Slack shows on an uploaded calendar invitation: the event's own summary.
INVITE_TITLE = SUMMARY

_SEND_ERRORS = (SlackClientError, aiohttp.ClientError, TimeoutError)


class SlackOutboxSender:
    """Deliver outbox messages as Slack direct messages and ward channel posts.

    A `pt-booked` message's calendar invitation is uploaded to the same direct message after the
    text. NOTE: when that upload fails, the message still counts as sent and the invitation is not
    retried, because a retry would post the text twice. The text gives the session's time.

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


def calendar_invite(payload: Mapping[str, object]) -> Attachment | None:
    """Return the calendar invitation of an outbox payload as a file, or None when it has none.

    An invitation whose entry is not the planner's shape is logged and left out, so the message is
    still sent.
    """
    entry = payload.get(INVITE_KEY)
    if entry is None:
        return None
    if not isinstance(entry, Mapping) or not isinstance(entry.get("base64"), str):
        logger.warning("Left out a calendar invitation whose payload entry has no base64 text.")
        return None
    try:
        content = base64.b64decode(entry["base64"], validate=True)
    except binascii.Error:
        logger.warning("Left out a calendar invitation whose base64 text is invalid.")
        return None
    filename = entry.get("filename")
    return Attachment(filename if isinstance(filename, str) and filename else INVITE_FILENAME, content)


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
