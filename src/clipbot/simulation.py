"""A month of the bot's own messages in simulated time, with simulated people answering them.

The demo uses it to show what `clipbot serve` does unasked: it plans due messages, sends them
through the outbox dispatcher (gate included, so quiet hours and sleep after nights apply), and
the people press the buttons the messages carry, through the same handlers as Slack and Teams.
One student turns one week down, so the educator's weekly digest has something to report.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from clipbot.bot.adapters.console import render_reply
from clipbot.bot.events import Event, EventKind, Form, Reply
from clipbot.bot.handlers.context import DELIVERED, Delivery, HandlerContext
from clipbot.bot.handlers.router import dispatch
from clipbot.bot.serialise import reply_from_json
from clipbot.clock import FixedClock
from clipbot.outbox.dispatcher import Dispatcher, SendResult, Sent
from clipbot.service import WardService
from clipbot.storage.outbox import ClaimedMessage, RecipientKind
from clipbot.workflows import planner
from clipbot.workflows import protected as pt
from clipbot.workflows import ratings
from clipbot.workflows.gate import WorkflowGate
from clipbot.workflows.service import WorkflowService

logger = logging.getLogger(__name__)

# How far simulated time moves between dispatcher runs, and how often planning runs.
STEP = timedelta(minutes=30)
PLAN_EVERY = timedelta(hours=6)


@dataclass
class Answers:
    """The simulated people's replies: everyone books the first slot, meets and rates their shifts 4."""

    # This student turns down the first offer with free times from the second week on.
    decliner: str | None = None
    declined: bool = False


@dataclass
class Transcript:
    counts: Counter[str] = field(default_factory=Counter)
    lines: list[str] = field(default_factory=list)


class SimulatedSender:
    """Prints each message and lets its recipient answer it at once, through the handlers."""

    def __init__(self, service: WardService, answers: Answers, write: Callable[[str], None], verbose: bool,
                 detail_until: datetime) -> None:
        self.service = service
        self.answers = answers
        self.write = write
        self.verbose = verbose
        # Without verbose, messages are listed one line each until then; digests are always shown.
        self.detail_until = detail_until
        self.started = service.clock.now()
        self.transcript = Transcript()

    async def send(self, message: ClaimedMessage) -> SendResult:
        reply = reply_from_json(message.payload)
        kind = message.idempotency_key.split(":")[1]
        now = self.service.clock.now()
        self.transcript.counts[kind] += 1
        to = f"#{message.recipient}" if message.recipient_kind is RecipientKind.WARD else message.recipient
        if self.verbose or kind == "digest":
            self.write(f"[{now:%a %d %b %H:%M}] to {to}:\n{render_reply(reply)}\n")
        elif kind != "coach-post" and now < self.detail_until:
            self.write(f"[{now:%a %d %b %H:%M}] to {to}: {reply.text}{_attached(message.payload)}")
        if message.recipient_kind is RecipientKind.PERSON:
            await self._answer(message.recipient, kind, reply, now)
        return Sent(None)

    async def _answer(self, person: str, kind: str, reply: Reply, now: datetime) -> None:
        # The first button of each action: the earliest time offered, for example.
        buttons = {}
        for button in reply.buttons:
            buttons.setdefault(button.action, button)
        if kind in ("pt-offer", "pt-nudge") and pt.BOOK in buttons:
            second_week = now >= self.started + timedelta(days=7)
            if person == self.answers.decliner and second_week and not self.answers.declined:
                self.answers.declined = True
                form = await self._press(person, pt.DECLINE, buttons[pt.DECLINE].value)
                if form is not None:
                    await self._submit(person, form, {"reason": "study day at university"})
            else:
                await self._press(person, pt.BOOK, buttons[pt.BOOK].value)
        elif kind == "pt-check" and pt.MET in buttons:
            yes = next(button for button in reply.buttons if button.action == pt.MET and button.value.endswith("yes"))
            await self._press(person, pt.MET, yes.value)
        elif kind.startswith("rate-") and ratings.RATE_OPEN in buttons:
            form = await self._press(person, ratings.RATE_OPEN, buttons[ratings.RATE_OPEN].value)
            if form is not None:
                await self._submit(person, form, {"score": "5" if kind == "rate-session" else "4", "comment": ""})

    async def _press(self, person: str, action: str, value: str) -> Form | None:
        return await self._dispatch(person, action, {"value": value})

    async def _submit(self, person: str, form: Form, values: dict[str, str]) -> None:
        await self._dispatch(person, form.action, {**values, "context": form.context})

    async def _dispatch(self, person: str, action: str, values: dict[str, str]) -> Form | None:
        forms: list[Form] = []

        async def reply(message: Reply) -> None:
            if message.form is not None:
                forms.append(message.form)
            elif self.verbose:
                self.write(f"  ({person} sees) {message.text}")

        async def notify(recipient: str, message: Reply) -> bool:
            self.write(f"  (direct message to {recipient}) {message.text}")
            return True

        async def post_to_ward(ward: str, message: Reply) -> Delivery:
            return DELIVERED

        event = Event(
            kind=EventKind.ACTION, platform="console", organisation=self.service.organisation, user=person,
            person=person, action=action, values=values, direct=True,
        )
        context = HandlerContext(reply=reply, notify=notify, service=self.service, logger=logger,
                                 post_to_ward=post_to_ward)
        await dispatch(event, context)
        return forms[0] if forms else None


async def simulate(service: WardService, start: datetime, end: datetime, answers: Answers,
                   write: Callable[[str], None], *, verbose: bool = False,
                   detail_until: datetime | None = None) -> Transcript:
    """Move a FixedClock from `start` to `end`, planning and sending as `clipbot serve` would."""
    clock = FixedClock(start)
    service.clock = clock
    workflows = WorkflowService(service.database, clock, service.organisation)
    sender = SimulatedSender(service, answers, write, verbose, detail_until or end)
    dispatcher = Dispatcher(
        service.database, {"default": sender}, clock, owner="demo", gate=WorkflowGate(service.database),
        batch_size=500,
    )
    next_plan = start
    while clock.moment <= end:
        if clock.moment >= next_plan:
            await workflows.enqueue_plan(PLAN_EVERY + STEP)
            next_plan += PLAN_EVERY
        await dispatcher.run_until_idle()
        clock.moment += STEP
    return sender.transcript


def _attached(payload: dict[str, object]) -> str:
    """Describe the calendar invitation that a message carries, or return "" when it has none."""
    invite = planner.calendar_invite(payload)
    return "" if invite is None else f" [{invite.name} attached, {len(invite.content)} bytes]"
