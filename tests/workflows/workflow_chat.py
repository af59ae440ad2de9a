"""A platform-like conversation for the workflow tests, and readers of the outbox and session tables."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select

from clipbot.bot.events import Button, Event, EventKind, Form, Reply
from clipbot.bot.handlers.context import HandlerContext
from clipbot.bot.handlers.router import dispatch
from clipbot.bot.serialise import reply_from_json
from clipbot.service import WardService
from clipbot.storage.database import Database
from clipbot.storage.models import outbox, protected_sessions, ratings
from workflow_ward import ORGANISATION


class Chat:
    """One person's conversation: records replies, forms opened for them and messages to others."""

    def __init__(self, service: WardService, person: str | None, *, forms: bool = True) -> None:
        self.service = service
        self.person = person
        self.replies: list[Reply] = []
        self.forms: list[Form] = []
        self.notices: list[tuple[str, Reply]] = []
        self.with_forms = forms

    def context(self) -> HandlerContext:
        async def reply(message: Reply) -> None:
            self.replies.append(message)

        async def notify(person: str, message: Reply) -> bool:
            self.notices.append((person, message))
            return True

        async def show_form(form: Form) -> None:
            self.forms.append(form)

        return HandlerContext(
            reply=reply, notify=notify, service=self.service, logger=logging.getLogger("test"),
            show_form=show_form if self.with_forms else None,
        )

    async def send(self, text: str = "", *, action: str | None = None, values: dict[str, str] | None = None) -> str:
        """Dispatch one event and return the text of the replies it caused."""
        start = len(self.replies)
        event = Event(
            kind=EventKind.ACTION if action else EventKind.MESSAGE, platform="slack", organisation=ORGANISATION,
            user=f"U-{self.person}", person=self.person, text=text, action=action, values=values or {},
            workspace="T1", conversation="D1", direct=True,
        )
        await dispatch(event, self.context())
        return "\n".join(reply.text for reply in self.replies[start:])

    async def press(self, button: Button) -> str:
        return await self.send(action=button.action, values={"value": button.value})

    async def submit(self, form: Form, **inputs: str) -> str:
        return await self.send(action=form.action, values={**inputs, "context": form.context})


async def outbox_rows(database: Database, prefix: str = "") -> dict[str, Any]:
    """Return the outbox rows whose idempotency key starts with the organisation, then `prefix`."""
    wanted = f"{ORGANISATION}:{prefix}"
    async with database.session() as session:
        rows = (await session.execute(select(outbox).where(outbox.c.idempotency_key.startswith(wanted)))).all()
    return {row.idempotency_key[len(ORGANISATION) + 1:]: row for row in rows}


async def outbox_reply(database: Database, key: str) -> Reply:
    rows = await outbox_rows(database, key)
    return reply_from_json(rows[key].payload)


async def session_rows(database: Database) -> list[Any]:
    async with database.session() as session:
        return list((await session.execute(select(protected_sessions).order_by(protected_sessions.c.id))).all())


async def rating_count(database: Database) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(ratings)) or 0)


def button(reply: Reply, action: str, index: int = 0) -> Button:
    return [item for item in reply.buttons if item.action == action][index]
