from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from clipbot.bot.events import Reply
from clipbot.service import WardService


@dataclass(frozen=True, slots=True)
class HandlerContext:
    """What a handler may use: replies bound to the conversation, and the ward service.

    `notify` sends a message to a roster person in their direct conversation; the adapter knows how
    to reach them. It returns False when that person cannot be reached.
    """

    reply: Callable[[Reply], Awaitable[None]]
    notify: Callable[[str, Reply], Awaitable[bool]]
    service: WardService
    logger: logging.Logger
