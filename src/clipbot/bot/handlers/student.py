"""Students asking who supports them: their practice assessor, named supervisor and today's coach."""

from __future__ import annotations

from datetime import datetime

from clipbot.bot.events import Event, Reply, Section
from clipbot.bot.handlers import messages
from clipbot.bot.handlers.context import HandlerContext
from clipbot.service import StudentTeam

ASSESSOR_WORDS = ("assessor", "sign-off", "signoff")
SUPERVISOR_WORDS = ("supervisor", "mentor")
COACH_WORDS = ("coach",)
TEAM_WORDS = ("team", "who", "everyone", "all")


def asks_about_team(event: Event) -> bool:
    words = event.text.casefold()
    return any(word in words for word in ASSESSOR_WORDS + SUPERVISOR_WORDS + COACH_WORDS + TEAM_WORDS)


async def answer_team_question(event: Event, context: HandlerContext) -> None:
    team = await context.service.student_team(event.person or "")
    words = event.text.casefold()
    wants_assessor = any(word in words for word in ASSESSOR_WORDS)
    wants_supervisor = any(word in words for word in SUPERVISOR_WORDS)
    wants_coach = any(word in words for word in COACH_WORDS)
    if not (wants_assessor or wants_supervisor or wants_coach):
        wants_assessor = wants_supervisor = wants_coach = True

    sections: list[Section] = []
    if wants_assessor:
        sections.append(Section(_assessor_text(team)))
    if wants_supervisor:
        sections.append(Section(_supervisor_text(team)))
    if wants_coach:
        sections.append(_coach_section(team, context.service.now()))
        await _alert_educators(team, context)
    await context.reply(Reply(text=sections[0].text, sections=tuple(sections[1:])))


def _assessor_text(team: StudentTeam) -> str:
    if team.assessor is None:
        return messages.NO_ASSESSOR
    return f"Your practice assessor is {messages.person_label(team.assessor)}."


def _supervisor_text(team: StudentTeam) -> str:
    if team.supervisor is None:
        return messages.NO_SUPERVISOR
    return f"Your named practice supervisor is {messages.person_label(team.supervisor)}."


def _coach_section(team: StudentTeam, now: datetime) -> Section:
    if not team.shifts_today:
        return Section(messages.NO_SHIFT_TODAY)
    lines = []
    for plan, coach in team.shifts_today:
        # A night that started yesterday and a shift later today can both be listed after midnight.
        label = plan.shift.label()
        if plan.shift.ends_at <= now:
            line = messages.NO_COACH_ENDED.format(shift=label) if coach is None else messages.COACH_ENDED.format(
                shift=label, coach=messages.person_label(coach)
            )
        elif coach is None:
            line = messages.NO_COACH.format(shift=label)
        else:
            line = f"Your coach on the {label} shift is {messages.person_label(coach)}."
        if plan.shift.starts_at <= now < plan.shift.ends_at:
            line = "Right now, " + line[0].lower() + line[1:]
        lines.append(line)
    return Section("\n".join(lines))


async def _alert_educators(team: StudentTeam, context: HandlerContext) -> None:
    """Tell the ward's clinical educators straight away about a shift where the student has no coach.

    Each educator is alerted once per student and shift, however often the student asks about their
    coach, and not at all about a shift that has ended.
    """
    now = context.service.now()
    gaps = [plan for plan, coach in team.shifts_today if coach is None and now < plan.shift.ends_at]
    if not gaps or team.ward is None:
        return
    for educator in await context.service.ward_educators(team.ward.key):
        for plan in gaps:
            if not await context.service.claim_gap_alert(educator, team.student.key, plan.shift):
                continue
            reason = next((gap.reason for gap in plan.gaps if gap.student == team.student.key), "")
            await context.notify(educator, Reply(messages.GAP_ALERT.format(
                student=messages.person_label(team.student), shift=plan.shift.label(), ward=team.ward.name, reason=reason,
            )))
