"""Educator permissions, decided in this one place for every command and form."""

from __future__ import annotations

from clipbot.bot.events import Event, Reply
from clipbot.bot.handlers import messages
from clipbot.bot.handlers.context import HandlerContext


async def check_educator(event: Event, context: HandlerContext, command: str, ward_key: str | None) -> bool:
    """Reply with a refusal and return False unless the sender may run `command` for the ward.

    This is the one place that decides who may run an educator command.
    """
    if event.person is None:
        await context.reply(Reply(messages.NOT_LINKED))
        return False
    wards = await context.service.educator_wards(event.person)
    if not wards:
        names = await context.service.educator_names_for(event.person)
        refusal = messages.EDUCATOR_ONLY.format(command=command)
        if names:
            refusal += " " + messages.YOUR_EDUCATORS.format(names=" or ".join(names))
        await context.reply(Reply(refusal))
        return False
    if ward_key is not None and ward_key not in wards:
        await context.reply(Reply(messages.NOT_YOUR_WARD.format(ward=ward_key, command=command, wards=", ".join(wards))))
        return False
    return True
