"""The Slack adapter: Slack request bodies in, neutral events out; neutral replies in, Block Kit out.

`translate` and `blocks` are pure: they do no I/O. Verifying signatures, acknowledging requests and
calling Slack's Web API belong to the wiring beside them.
"""

from __future__ import annotations

from clipbot.bot.adapters.slack.blocks import render_home, render_message, render_modal
from clipbot.bot.adapters.slack.translate import (
    HOME_OPENED,
    PLATFORM,
    event_from_slack,
    is_retry,
    slack_user_of,
)

__all__ = [
    "HOME_OPENED",
    "PLATFORM",
    "event_from_slack",
    "is_retry",
    "render_home",
    "render_message",
    "render_modal",
    "slack_user_of",
]
