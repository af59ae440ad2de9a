"""Ward set-up from chat: importing a roster, linking chat accounts, choosing the ward channel.

The permission check has already run in `educator.run_educator_command` (or runs here for a form
submission, which arrives without the command text).
"""

from __future__ import annotations

from clipbot.bot.events import Attachment, Event, Form, FormInput, Reply, Section
from clipbot.bot.handlers import messages
from clipbot.bot.handlers.context import HandlerContext
from clipbot.bot.handlers.permissions import check_educator
from clipbot.domain.ward import LearningEnvironment
from clipbot.service import UserError

IMPORT_ROSTER = "roster.import"
# Larger rosters belong on the server's command line; 2 MB is several thousand shift rows.
MAX_ROSTER_BYTES = 2_000_000


async def import_roster(event: Event, context: HandlerContext, arguments: list[str]) -> None:
    """Import the CSV files attached to the message, or open a form to paste them into."""
    if not arguments:
        raise UserError(messages.MISSING_WARD.format(command="roster import", example="6-west"))
    ward = await context.service.find_ward(" ".join(arguments))
    if not await check_educator(event, context, "roster import", ward.key):
        return
    if event.attachments:
        people, shifts = _roster_files(event.attachments)
        await _import(context, ward, people, shifts)
        return
    if context.show_form is None:
        await context.reply(Reply(messages.ROSTER_IMPORT_USAGE.format(ward_key=ward.key)))
        return
    await context.show_form(roster_form(ward))


def roster_form(ward: LearningEnvironment) -> Form:
    return Form(
        title=messages.ROSTER_FORM_TITLE,
        action=IMPORT_ROSTER,
        inputs=(
            FormInput("people", "people.csv (paste the whole file)", multiline=True),
            FormInput("shifts", "shifts.csv (paste the whole file)", multiline=True),
        ),
        submit_label="Import",
        context=ward.key,
    )


def is_roster_form(event: Event) -> bool:
    return event.action == IMPORT_ROSTER


async def submit_roster_form(event: Event, context: HandlerContext) -> None:
    ward_key = event.values.get("context", "")
    if not await check_educator(event, context, "roster import", ward_key):
        return
    ward = await context.service.find_ward(ward_key)
    people = event.values.get("people", "").encode("utf-8")
    shifts = event.values.get("shifts", "").encode("utf-8")
    await _import(context, ward, Attachment("people.csv", people), Attachment("shifts.csv", shifts))


def _roster_files(attachments: tuple[Attachment, ...]) -> tuple[Attachment, Attachment]:
    people = [a for a in attachments if "people" in a.name.casefold()]
    shifts = [a for a in attachments if "shift" in a.name.casefold()]
    if len(people) != 1 or len(shifts) != 1:
        names = ", ".join(a.name for a in attachments) or "no files"
        raise UserError(messages.ROSTER_FILES_NEEDED.format(names=names))
    return people[0], shifts[0]


async def _import(context: HandlerContext, ward: LearningEnvironment, people: Attachment, shifts: Attachment) -> None:
    for attachment in (people, shifts):
        if len(attachment.content) > MAX_ROSTER_BYTES:
            raise UserError(messages.ROSTER_TOO_LARGE.format(
                name=attachment.name, size=len(attachment.content), limit=MAX_ROSTER_BYTES
            ))
    report = await context.service.import_roster_csv(ward, people.content, shifts.content)
    lines = [f"{kind}: {counts}" for kind, counts in report.items() if kind != "ward"]
    await context.reply(Reply(f"Imported the roster for {ward.name}.", sections=(Section("\n".join(lines)),)))


async def link_account(event: Event, context: HandlerContext, arguments: list[str]) -> None:
    """Link the mentioned chat user to a roster person on one of the educator's wards."""
    if not event.mentions or len(arguments) < 2:
        raise UserError(messages.LINK_USAGE)
    person = await context.service.link_account(
        educator=event.person or "", platform=event.platform, workspace=event.workspace or "",
        user=event.mentions[0], person_key=arguments[-1],
    )
    await context.reply(Reply(messages.LINKED.format(user=arguments[0], person=messages.person_label(person))))


async def set_ward_channel(event: Event, context: HandlerContext, ward: LearningEnvironment) -> None:
    if event.direct or not event.conversation:
        raise UserError(messages.CHANNEL_NEEDS_CHANNEL.format(ward_key=ward.key))
    await context.service.set_ward_channel(ward.key, event.platform, event.workspace or "", event.conversation)
    await context.reply(Reply(messages.CHANNEL_SET.format(ward=ward.name)))
