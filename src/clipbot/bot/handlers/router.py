"""Routes each neutral event to one handler, and is the error boundary around every handler."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from clipbot.bot.events import Event, Reply
from clipbot.bot.handlers import educator, home, messages, pause, protected, ratings, setup, student
from clipbot.bot.handlers.context import HandlerContext
from clipbot.service import UserError

logger = logging.getLogger(__name__)

HELP_WORDS = ("help", "?", "hello", "hi")


@dataclass(frozen=True, slots=True)
class Route:
    """`applies` is a cheap synchronous test; `handle` does the work."""

    name: str
    applies: Callable[[Event], bool]
    handle: Callable[[Event, HandlerContext], Awaitable[None]]


def is_help(event: Event) -> bool:
    return event.action is None and event.text.strip().casefold() in HELP_WORDS + ("",)


async def show_help(event: Event, context: HandlerContext) -> None:
    if event.person is None:
        await context.reply(Reply(messages.NOT_LINKED))
        return
    person = await context.service.find_person(event.person)
    if person is not None and person.is_student:
        await context.reply(Reply(messages.STUDENT_HELP))
    elif await context.service.educator_wards(event.person):
        await context.reply(Reply(messages.EDUCATOR_HELP))
    else:
        await context.reply(Reply(messages.STAFF_HELP))


async def answer_unknown(event: Event, context: HandlerContext) -> None:
    await context.reply(Reply(messages.UNKNOWN.format(text=event.text.strip()[:80])))
    await show_help(event, context)


def _linked(handle: Callable[[Event, HandlerContext], Awaitable[None]]):
    async def handle_if_linked(event: Event, context: HandlerContext) -> None:
        if event.person is None:
            await context.reply(Reply(messages.NOT_LINKED))
            return
        await handle(event, context)

    return handle_if_linked


# Tried in this order; the first route that applies handles the event.
ROUTES: tuple[Route, ...] = (
    Route("match confirmation", educator.is_match_confirmation, educator.confirm_matches),
    Route("roster form", setup.is_roster_form, setup.submit_roster_form),
    Route("protected time action", protected.is_protected_time_action, _linked(protected.handle_protected_time_action)),
    Route("rating action", ratings.is_rating_action, _linked(ratings.handle_rating_action)),
    Route("home opened", home.is_home_opened, home.show_home),
    Route("help", is_help, show_help),
    Route("educator command", educator.is_educator_command, educator.run_educator_command),
    Route("pause", pause.is_pause_command, _linked(pause.pause_or_resume)),
    Route("ratings", ratings.is_ratings_command, ratings.show_ratings),
    Route("student question", student.asks_about_team, _linked(student.answer_team_question)),
)


async def dispatch(event: Event, context: HandlerContext) -> None:
    """Handle one event; a user error is shown as it is, anything else gets the fixed apology."""
    route = next((route for route in ROUTES if route.applies(event)), None)
    name = route.name if route else "unknown"
    try:
        if route is None:
            await answer_unknown(event, context)
        else:
            await route.handle(event, context)
    except UserError as error:
        await context.reply(Reply(str(error)))
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception(
            "Handler '%s' failed for event %s from user %s on %s in organisation %s.",
            name, event.event_id, event.user, event.platform, event.organisation,
        )
        await context.reply(Reply(messages.APOLOGY))
