"""The home view (the Slack App Home tab): a student's team and week, an educator's wards."""

from __future__ import annotations

from clipbot.bot.events import Event, Fact, Reply, Section
from clipbot.bot.handlers import messages
from clipbot.bot.handlers.context import HandlerContext

HOME_OPENED = "home.opened"


def is_home_opened(event: Event) -> bool:
    return event.action == HOME_OPENED


async def show_home(event: Event, context: HandlerContext) -> None:
    reply = await build_home(event, context)
    if context.publish_home is None:
        await context.reply(reply)
    else:
        await context.publish_home(reply)


async def build_home(event: Event, context: HandlerContext) -> Reply:
    if event.person is None:
        return Reply(messages.NOT_LINKED)
    person = await context.service.find_person(event.person)
    if person is not None and person.is_student:
        return await _student_home(event.person, context)
    wards = await context.service.educator_wards(event.person)
    if wards:
        return await _educator_home(wards, context)
    return Reply(messages.STAFF_HELP)


async def _student_home(student: str, context: HandlerContext) -> Reply:
    team = await context.service.student_team(student, week=True)
    facts = (
        Fact("Practice assessor", messages.person_label(team.assessor)),
        Fact("Named practice supervisor", messages.person_label(team.supervisor)),
    )
    lines = []
    for plan, coach in team.shifts_today:
        who = messages.person_label(coach) if coach else "not set yet (your clinical educator knows)"
        lines.append(f"{plan.shift.label()}: coach {who}")
    week = "\n".join(lines) or "You have no shifts this week."
    ward = team.ward.name if team.ward else "no ward yet"
    return Reply(
        f"Your placement: {ward}",
        sections=(Section(facts=facts), Section(f"*This week*\n{week}"), Section(messages.STUDENT_HELP)),
    )


async def _educator_home(wards: list[str], context: HandlerContext) -> Reply:
    sections = []
    for ward_key in wards:
        overview = await context.service.ward_overview(ward_key)
        lines = [f"*{overview.ward.name}*: {len(overview.students)} students"]
        if overview.unmatched:
            names = ", ".join(messages.person_label(person) for person in overview.unmatched)
            lines.append(f"⚠ Without a confirmed assessor and supervisor: {names}")
        for plan, gap in overview.gaps_today:
            lines.append(f"⚠ Supervision gap today, {plan.shift.label()}: {messages.person_label(overview.people.get(gap.student))}")
        if not overview.unmatched and not overview.gaps_today:
            lines.append("Every student is matched, and nobody is without a coach today.")
        sections.append(Section("\n".join(lines)))
    sections.append(Section(messages.EDUCATOR_HELP))
    return Reply("Your wards", sections=tuple(sections))
