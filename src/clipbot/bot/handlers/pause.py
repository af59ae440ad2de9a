"""`pause until DATE` and `resume`: anyone can stop clipbot's own messages to them for a while.

A pause delays every personal message: offers, nudges, reminders, rating requests and digests.
Coach posts in the ward channel still go out, because they are not addressed to one person.
"""

from __future__ import annotations

from clipbot.bot.events import Event, Reply
from clipbot.bot.handlers import messages
from clipbot.bot.handlers.context import HandlerContext
from clipbot.service import UserError
from clipbot.workflows.service import WorkflowService, parse_date

PAUSE = "pause"
RESUME = "resume"


def is_pause_command(event: Event) -> bool:
    words = event.text.split()
    return event.action is None and bool(words) and words[0].casefold() in (PAUSE, RESUME)


async def pause_or_resume(event: Event, context: HandlerContext) -> None:
    workflows = WorkflowService.of(context.service)
    person = event.person or ""
    words = event.text.split()
    if words[0].casefold() == RESUME:
        cleared = await workflows.resume(person)
        await context.reply(Reply(messages.RESUMED if cleared else messages.NOT_PAUSED))
        return

    arguments = [word for word in words[1:] if word.casefold() != "until"]
    if len(arguments) != 1:
        raise UserError(messages.PAUSE_USAGE)
    until = await workflows.pause(person, parse_date(arguments[0]))
    await context.reply(Reply(messages.PAUSED.format(day=f"{until:%A %-d %B %Y}")))
