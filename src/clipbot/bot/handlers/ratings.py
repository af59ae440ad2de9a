"""Ratings in chat: the student's rating form, and the educator's anonymous `ratings WARD` summary.

Mentors never see ratings: the summary is for clinical educators only, and it shows averages of
groups of at least five ratings, never a single score or comment.
"""

from __future__ import annotations

from clipbot.bot.events import Event, Fact, Reply, Section
from clipbot.bot.handlers import messages
from clipbot.bot.handlers.context import HandlerContext
from clipbot.bot.handlers.permissions import check_educator
from clipbot.bot.handlers.protected import open_form
from clipbot.domain.people import Person
from clipbot.service import UserError
from clipbot.storage.workflows import RatingSubject
from clipbot.workflows.ratings import MIN_GROUP, RATE_OPEN, RATE_SUBMIT, GroupAverage, RatingsSummary, decode_rating, rating_form
from clipbot.workflows.service import WorkflowService

RATINGS_COMMAND = "ratings"

_KIND_LABELS = {RatingSubject.SHIFT: messages.RATINGS_SHIFTS, RatingSubject.SESSION: messages.RATINGS_SESSIONS}


def is_rating_action(event: Event) -> bool:
    return event.action in (RATE_OPEN, RATE_SUBMIT)


async def handle_rating_action(event: Event, context: HandlerContext) -> None:
    try:
        if event.action == RATE_OPEN:
            await open_form(context, rating_form(decode_rating(event.values.get("value", ""))))
            return
        ref = decode_rating(event.values.get("context", ""))
    except ValueError:
        context.logger.warning("Unreadable %s value from user %s on %s.", event.action, event.user, event.platform)
        raise UserError(messages.PT_BAD_BUTTON) from None

    workflows = WorkflowService.of(context.service)
    added = await workflows.rate(event.person or "", ref, event.values.get("score", ""), event.values.get("comment"))
    await context.reply(Reply(messages.RATE_THANKS if added else messages.RATE_ALREADY))


def is_ratings_command(event: Event) -> bool:
    words = event.text.split()
    return event.action is None and bool(words) and words[0].casefold() == RATINGS_COMMAND


async def show_ratings(event: Event, context: HandlerContext) -> None:
    if not await check_educator(event, context, RATINGS_COMMAND, None):
        return
    arguments = event.text.split()[1:]
    if not arguments:
        raise UserError(messages.MISSING_WARD.format(command=RATINGS_COMMAND, example="6-west"))
    ward = await context.service.find_ward(" ".join(arguments))
    if not await check_educator(event, context, RATINGS_COMMAND, ward.key):
        return
    summary, people = await WorkflowService.of(context.service).ratings_summary(ward.key)
    await context.reply(describe_summary(ward.name, summary, people))


def _average_text(group: GroupAverage) -> str:
    if group.average is None:
        return messages.RATINGS_TOO_FEW.format(count=group.count, minimum=MIN_GROUP)
    return messages.RATINGS_AVERAGE.format(average=group.average, count=group.count)


def describe_summary(ward_name: str, summary: RatingsSummary, people: dict[str, Person]) -> Reply:
    """Build the educator's view: each kind's overall average, then the mentors' groups that are large enough."""
    overall = tuple(Fact(_KIND_LABELS[group.subject_kind], _average_text(group)) for group in summary.overall)
    sections = [Section(facts=overall)]
    for kind in RatingSubject:
        groups = [group for group in summary.by_mentor if group.subject_kind is kind]
        if not groups:
            continue
        facts = tuple(
            Fact(people[group.mentor].name if group.mentor in people else str(group.mentor), _average_text(group))
            for group in groups
        )
        sections.append(Section(messages.RATINGS_BY_MENTOR.format(kind=_KIND_LABELS[kind], minimum=MIN_GROUP), facts))
    sections.append(Section(messages.RATINGS_PRIVACY.format(minimum=MIN_GROUP)))
    return Reply(messages.RATINGS_HEADLINE.format(ward=ward_name), sections=tuple(sections))
