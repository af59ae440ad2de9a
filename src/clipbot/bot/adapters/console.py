"""The console adapter: the same handlers in a terminal, with no platform credentials.

Translation between lines of text and neutral events is pure (`event_from_line`, `render_reply`);
`ConsoleChat` adds the little state a terminal needs: the numbered buttons of the last reply.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable

from clipbot.bot.events import Button, Event, EventKind, Reply
from clipbot.bot.handlers.context import HandlerContext
from clipbot.bot.handlers.router import dispatch
from clipbot.service import WardService

logger = logging.getLogger(__name__)

PLATFORM = "console"
_EMPHASIS = re.compile(r"\*([^*\n]+)\*")


def event_from_line(
    line: str, *, person: str | None, organisation: str, buttons: tuple[Button, ...], event_id: str
) -> Event:
    """Turn a typed line into an event; a line that is a shown button's number presses it."""
    text = line.strip()
    if text.isdigit() and 1 <= int(text) <= len(buttons):
        button = buttons[int(text) - 1]
        return Event(
            kind=EventKind.ACTION, platform=PLATFORM, organisation=organisation, user=person or "console",
            person=person, action=button.action, values={"value": button.value}, event_id=event_id, direct=True,
        )
    return Event(
        kind=EventKind.MESSAGE, platform=PLATFORM, organisation=organisation, user=person or "console",
        person=person, text=text, event_id=event_id, direct=True,
    )


def render_reply(reply: Reply, *, first_button: int = 1) -> str:
    lines = [_plain(reply.text)]
    for section in reply.sections:
        if section.text:
            lines.append(_plain(section.text))
        for fact in section.facts:
            lines.append(f"  {_plain(fact.label)}: {_plain(fact.value)}")
    for number, button in enumerate(reply.buttons, start=first_button):
        lines.append(f"  [{number}] {button.label}  (type {number})")
    return "\n".join(lines)


def _plain(text: str) -> str:
    return _EMPHASIS.sub(r"\1", text)


class ConsoleChat:
    """A conversation between one roster person and the bot, written to `write`."""

    def __init__(self, service: WardService, person: str | None, write: Callable[[str], None]) -> None:
        self.service = service
        self.person = person
        self.write = write
        self._buttons: tuple[Button, ...] = ()
        self._event_numbers = itertools.count(1)

    @property
    def buttons(self) -> tuple[Button, ...]:
        """The buttons shown since the last line was sent, numbered from 1 in this order."""
        return self._buttons

    async def send(self, line: str) -> None:
        event = event_from_line(
            line, person=self.person, organisation=self.service.organisation, buttons=self._buttons,
            event_id=f"console-{next(self._event_numbers)}",
        )
        self._buttons = ()
        context = HandlerContext(
            reply=self._reply, notify=self._notify, service=self.service, logger=logger
        )
        await dispatch(event, context)

    async def _reply(self, reply: Reply) -> None:
        self.write(render_reply(reply, first_button=len(self._buttons) + 1))
        self._buttons += reply.buttons

    async def _notify(self, person: str, reply: Reply) -> bool:
        found = await self.service.find_person(person)
        name = found.name if found else person
        self.write(f"(direct message to {name})\n" + render_reply(reply))
        return True
