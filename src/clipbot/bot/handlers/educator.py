"""Clinical educator commands: roster, match (with confirmation) and coaches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from clipbot.bot.events import Button, ButtonStyle, Event, Fact, Reply, Section
from clipbot.bot.handlers import messages, setup
from clipbot.bot.handlers.context import HandlerContext
from clipbot.bot.handlers.permissions import check_educator
from clipbot.domain.coaching import ShiftPlan
from clipbot.domain.people import Person
from clipbot.domain.roles import Role
from clipbot.domain.ward import LearningEnvironment
from clipbot.service import MatchOutcome, StoredAssignment, UserError

EDUCATOR_COMMANDS = ("roster", "match", "coaches", "link", "channel")
CONFIRM_MATCH = "match.confirm"
REMATCH_WORDS = ("again", "rematch", "afresh")


def command_word(event: Event) -> str:
    words = event.text.split()
    return words[0].casefold() if words else ""


def is_educator_command(event: Event) -> bool:
    return command_word(event) in EDUCATOR_COMMANDS


async def _split_ward_argument(event: Event, context: HandlerContext, command: str) -> list[str]:
    arguments = event.text.split()[1:]
    if not arguments:
        wards = await context.service.educator_wards(event.person or "")
        raise UserError(messages.MISSING_WARD.format(command=command, example=wards[0] if wards else "6-west"))
    return arguments


async def run_educator_command(event: Event, context: HandlerContext) -> None:
    command = command_word(event)
    if not await check_educator(event, context, command, None):
        return
    arguments = await _split_ward_argument(event, context, command)
    if command == "roster" and arguments[0].casefold() == "import":
        await setup.import_roster(event, context, arguments[1:])
        return
    if command == "link":
        await setup.link_account(event, context, arguments)
        return
    day = parse_day(arguments[-1], context.service.today()) if command == "coaches" and len(arguments) > 1 else None
    rematch = command == "match" and len(arguments) > 1 and arguments[-1].casefold() in REMATCH_WORDS
    ward_text = " ".join(arguments[:-1] if day or rematch else arguments)

    ward = await context.service.find_ward(ward_text)
    if not await check_educator(event, context, command, ward.key):
        return
    if command == "roster":
        await _show_roster(ward.key, context)
    elif command == "match":
        await _propose_matches(ward.key, context, rematch=rematch)
    elif command == "channel":
        await setup.set_ward_channel(event, context, ward)
    else:
        await _show_coaches(ward.key, day, context)


RELATIVE_DAYS = {"yesterday": -1, "today": 0, "tomorrow": 1}


def parse_day(text: str, today: date) -> date | None:
    """Read a date typed after a ward: YYYY-MM-DD, DD/MM/YYYY, today, tomorrow or yesterday.

    Returns None when `text` is no date at all (it is then part of the ward's name).
    """
    if text.casefold() in RELATIVE_DAYS:
        return today + timedelta(days=RELATIVE_DAYS[text.casefold()])
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    if any(character.isdigit() for character in text):
        raise UserError(messages.BAD_DATE.format(text=text))
    return None


async def _show_roster(ward_key: str, context: HandlerContext) -> None:
    summary = await context.service.roster_summary(ward_key)
    period = (
        f"{summary.shift_count} shifts from {summary.first_day:%-d %b} to {summary.last_day:%-d %b %Y}"
        if summary.first_day and summary.last_day else "no shifts yet"
    )
    sections = [Section(
        facts=(
            Fact("Students", str(len(summary.students))),
            Fact("Registered nurses", str(len(summary.registered_nurses))),
            Fact("Other registered staff", str(len(summary.other_registered))),
            Fact("Healthcare assistants", str(len(summary.unregistered))),
        )
    )]
    for student in summary.students:
        mentors = summary.mentors.get(student.key, {})
        sections.append(Section(
            f"*{messages.person_label(student)}*, {student.field or 'field not recorded'}: "
            f"assessor {messages.person_label(mentors.get(Role.PRACTICE_ASSESSOR))}, "
            f"supervisor {messages.person_label(mentors.get(Role.NAMED_PRACTICE_SUPERVISOR))}"
        ))
    for breach in summary.breaches:
        sections.append(Section(f"⚠ {breach.message}"))
    await context.reply(Reply(f"{summary.ward.name}: {period}.", sections=tuple(sections)))


async def _propose_matches(ward_key: str, context: HandlerContext, *, rematch: bool) -> None:
    outcome = await context.service.propose_matches(ward_key, rematch=rematch)
    await context.reply(describe_matches(outcome))


def describe_matches(outcome: MatchOutcome, *, with_buttons: bool = True) -> Reply:
    """Build the educator's view of proposed pairs: reasons, kept pairs and unmatched students."""
    people = outcome.people
    by_student: dict[str, list[str]] = {}
    for pair in outcome.result.pairs:
        by_student.setdefault(pair.student, []).append(
            f"{pair.role}: {messages.person_label(people.get(pair.person))}, {pair.reason}"
        )
    sections = [
        Section(f"*{messages.person_label(people.get(student))}*\n" + "\n".join(lines))
        for student, lines in sorted(by_student.items())
    ]
    for item in outcome.kept:
        assignment = item.assignment
        sections.append(Section(
            f"*{messages.person_label(people.get(assignment.student or ''))}* keeps "
            f"{messages.person_label(people.get(assignment.person))} as {assignment.role} (confirmed earlier)"
        ))
    for unmatched in outcome.result.unmatched:
        sections.append(Section(
            f"⚠ *{messages.person_label(people.get(unmatched.student))}* has no {unmatched.role}: {unmatched.reason}"
        ))

    count = len(outcome.result.pairs)
    buttons: tuple[Button, ...] = ()
    if count:
        students = len({pair.student for pair in outcome.result.pairs})
        headline = (
            f"Proposed {count} pairs for {students} students on {outcome.ward.name}. "
            f"Check them, then confirm to tell each student and mentor."
        )
        if with_buttons:
            buttons = (Button("Confirm and notify", CONFIRM_MATCH, outcome.ward.key, ButtonStyle.PRIMARY),)
    else:
        headline = (
            f"Matched {outcome.ward.name} afresh: every confirmed pair is still the best choice, so nothing changes."
            if outcome.rematch else f"No new pairs to propose for {outcome.ward.name}."
        )
    return Reply(headline, sections=tuple(sections), buttons=buttons)


def is_match_confirmation(event: Event) -> bool:
    return event.action == CONFIRM_MATCH


async def confirm_matches(event: Event, context: HandlerContext) -> None:
    ward_key = event.values.get("value", "")
    if not await check_educator(event, context, "match", ward_key):
        return
    ward, confirmed = await context.service.confirm_matches(ward_key)
    if not confirmed:
        await context.reply(Reply(messages.NOTHING_TO_CONFIRM.format(ward=ward.name, ward_key=ward.key)))
        return

    people = await context.service.people_by_key(
        {key for item in confirmed for key in (item.assignment.person, item.assignment.student) if key}
    )
    unreachable: list[str] = []
    for recipient, note in pairing_messages(ward, confirmed, people):
        if not await context.notify(recipient, note):
            unreachable.append(recipient)
    await context.reply(describe_confirmation(ward, confirmed, unreachable=unreachable, people=people))


def pairing_messages(
    ward: LearningEnvironment, confirmed: Sequence[StoredAssignment], people: Mapping[str, Person]
) -> list[tuple[str, Reply]]:
    """Build the message each student and each mentor gets when pairs are confirmed."""
    by_student: dict[str, list[StoredAssignment]] = {}
    for item in confirmed:
        by_student.setdefault(item.assignment.student or "", []).append(item)
    notes: list[tuple[str, Reply]] = []
    for student, items in sorted(by_student.items()):
        lines = [
            f"Your {item.assignment.role} is {messages.person_label(people.get(item.assignment.person))}: {item.reason}."
            for item in items
        ]
        first = items[0].assignment
        notes.append((student, Reply(
            f"Your placement team on {ward.name} is confirmed for {messages.dates(first.start, first.end)}.",
            sections=(Section("\n".join(lines)),),
        )))
        for item in items:
            notes.append((item.assignment.person, Reply(
                f"You are now {messages.person_label(people.get(student))}'s {item.assignment.role} on {ward.name}, "
                f"{messages.dates(item.assignment.start, item.assignment.end)}."
            )))
    return notes


def describe_confirmation(
    ward: LearningEnvironment, confirmed: Sequence[StoredAssignment], *, unreachable: Sequence[str],
    people: Mapping[str, Person],
) -> Reply:
    headline = f"Confirmed {len(confirmed)} pairs for {ward.name} and told each student and mentor."
    if not unreachable:
        return Reply(headline)
    names = ", ".join(messages.person_label(people.get(key)) for key in sorted(set(unreachable)))
    return Reply(headline, sections=(Section(f"⚠ I couldn't message {names}. Please tell them yourself."),))


def coach_post(plan: ShiftPlan, people: dict[str, Person]) -> Reply:
    """Build the ward-channel post for one shift's coach groups."""
    facts = tuple(
        Fact(messages.person_label(people.get(group.coach)),
             ", ".join(messages.person_label(people.get(student)) for student in group.students))
        for group in plan.groups
    )
    sections = [Section("Coach → students", facts)] if facts else []
    for gap in plan.gaps:
        sections.append(Section(f"⚠ Supervision gap: {messages.person_label(people.get(gap.student))}: {gap.reason}"))
    return Reply(f"Coach groups for the {plan.shift.label()} shift", sections=tuple(sections))


async def _show_coaches(ward_key: str, day: date | None, context: HandlerContext) -> None:
    """Post each shift's coach groups to the ward channel, or show them where there is none."""
    coach_day = await context.service.coach_plans(ward_key, day)
    if not coach_day.plans:
        await context.reply(Reply(f"No students are on shift on {coach_day.ward.name} on {coach_day.day:%A %-d %B %Y}."))
        return
    posts = [coach_post(plan, coach_day.people) for plan in coach_day.plans]
    if context.post_to_ward is None:
        for post in posts:
            await context.reply(post)
        return

    for post in posts:
        delivery = await context.post_to_ward(coach_day.ward.key, post)
        if not delivery.delivered:
            await context.reply(Reply(delivery.problem or messages.NOT_POSTED.format(ward=coach_day.ward.name)))
            for unposted in posts:
                await context.reply(unposted)
            return
    gaps = sum(len(plan.gaps) for plan in coach_day.plans)
    headline = f"Posted the coach groups for {len(posts)} shifts on {coach_day.day:%A %-d %B} to the {coach_day.ward.name} channel."
    sections = (Section(f"⚠ {gaps} supervision {'gap' if gaps == 1 else 'gaps'}: see the posts."),) if gaps else ()
    await context.reply(Reply(headline, sections=sections))
