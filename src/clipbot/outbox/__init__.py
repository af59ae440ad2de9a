"""Messages that clipbot sends on its own: coach posts, protected-time nudges, rating forms, digests.

The planning layer enqueues them with `clipbot.storage.outbox.enqueue`, with a `Reply` serialised
by `clipbot.bot.serialise.reply_to_json` as the payload. The `Dispatcher` claims due messages and
hands them to a `Sender` per platform, after asking an optional `Gate` whether to send now, later or
never, and `start_scheduler` runs it at a fixed interval. Senders rebuild the reply with
`reply_from_json(message.payload)`.
"""

from clipbot.outbox.dispatcher import (
    DEFAULT_SENDER,
    MAX_SENDS_PER_CLAIM,
    SEND,
    BatchSummary,
    Defer,
    Dispatcher,
    Drop,
    Failed,
    Gate,
    GateDecision,
    RetryAfter,
    Send,
    Sender,
    SendResult,
    Sent,
    Unreachable,
    default_owner,
)
from clipbot.outbox.scheduler import dispatch_due_messages, start_scheduler, stop
from clipbot.storage.outbox import ClaimedMessage, NewMessage, OutboxState, RecipientKind

__all__ = [
    "DEFAULT_SENDER",
    "MAX_SENDS_PER_CLAIM",
    "SEND",
    "BatchSummary",
    "ClaimedMessage",
    "Defer",
    "Dispatcher",
    "Drop",
    "Failed",
    "Gate",
    "GateDecision",
    "NewMessage",
    "OutboxState",
    "RecipientKind",
    "RetryAfter",
    "Send",
    "SendResult",
    "Sender",
    "Sent",
    "Unreachable",
    "default_owner",
    "dispatch_due_messages",
    "start_scheduler",
    "stop",
]
