"""The Microsoft Teams adapter: Bot Framework activities in, Adaptive Cards out.

`translate` turns activities into neutral events and reads the ids that the wiring stores;
`cards` renders neutral replies and forms as Adaptive Cards. Both are pure. Every import of the
Bot Framework SDK (botbuilder) in clipbot stays inside this package.
"""

from __future__ import annotations

from clipbot.bot.adapters.teams.cards import (
    MAX_CARD_BYTES,
    card_size,
    message_activity,
    render_card,
    render_cards,
    render_form,
)
from clipbot.bot.adapters.teams.translate import (
    PLATFORM,
    TeamsIdentity,
    conversation_reference_of,
    event_from_activity,
    identity_of,
    invoke_error,
    invoke_response,
    members_added,
)

__all__ = [
    "MAX_CARD_BYTES",
    "PLATFORM",
    "TeamsIdentity",
    "card_size",
    "conversation_reference_of",
    "event_from_activity",
    "identity_of",
    "invoke_error",
    "invoke_response",
    "members_added",
    "message_activity",
    "render_card",
    "render_cards",
    "render_form",
]
