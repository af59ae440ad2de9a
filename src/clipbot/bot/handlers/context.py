from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from clipbot.bot.events import Form, Reply
from clipbot.service import WardService


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of a message sent on someone's behalf; `problem` describes what went wrong in words."""

    delivered: bool
    problem: str | None = None


DELIVERED = Delivery(True)


@dataclass(frozen=True, slots=True)
class HandlerContext:
    """The capabilities a handler gets: replies bound to the conversation, and the ward service.

    `notify` sends a message to a roster person in their direct conversation and returns False when
    that person cannot be reached. `post_to_ward` posts in the ward's channel. `show_form` opens a
    form for the user (a Slack modal, an Adaptive Card). `publish_home` sets their home view (the
    Slack App Home tab). An adapter without such a surface leaves it None, and handlers reply instead.
    """

    reply: Callable[[Reply], Awaitable[None]]
    notify: Callable[[str, Reply], Awaitable[bool]]
    service: WardService
    logger: logging.Logger
    post_to_ward: Callable[[str, Reply], Awaitable[Delivery]] | None = None
    show_form: Callable[[Form], Awaitable[None]] | None = None
    publish_home: Callable[[Reply], Awaitable[None]] | None = None
