"""Protected learning time in chat: booking an offered slot, suggesting a time, "not this week", "Did you meet?".

The buttons and forms come from `clipbot.workflows.protected`, in messages the planner sends.
Every press and submission goes through `WorkflowService`, which checks that the person is the
student or mentor concerned.
"""

from __future__ import annotations

from clipbot.bot.events import Event, Form, Reply
from clipbot.bot.handlers import messages
from clipbot.bot.handlers.context import HandlerContext
from clipbot.service import UserError
from clipbot.storage.workflows import SessionState
from clipbot.workflows import protected as pt
from clipbot.workflows.service import SessionResult, WorkflowService, mentor_choices

ACTIONS = (pt.BOOK, pt.SUGGEST, pt.SUGGEST_FORM, pt.DECLINE, pt.DECLINE_FORM, pt.ACCEPT, pt.REJECT, pt.MET)


def is_protected_time_action(event: Event) -> bool:
    return event.action in ACTIONS


async def open_form(context: HandlerContext, form: Form) -> None:
    """Open `form` where the platform can (a Slack modal, a Teams card), or send it as a reply."""
    if context.show_form is not None:
        await context.show_form(form)
    else:
        await context.reply(Reply(form.title, form=form))


async def handle_protected_time_action(event: Event, context: HandlerContext) -> None:
    workflows = WorkflowService.of(context.service)
    person = event.person or ""
    value = event.values.get("value", "")
    try:
        # Every value is read before anything is done, so a ValueError here only means a bad value.
        slot = pt.decode_slot(value) if event.action == pt.BOOK else None
        week = _week_of(event)
        session_id = pt.decode_session_id(value) if event.action in (pt.ACCEPT, pt.REJECT) else None
        meeting = _decode_meeting(value) if event.action == pt.MET else None
    except ValueError:
        # Only a button or form that clipbot did not make gets here: its value could not be read.
        context.logger.warning("Unreadable %s value from user %s on %s.", event.action, event.user, event.platform)
        raise UserError(messages.PT_BAD_BUTTON) from None

    if slot is not None:
        await _book(workflows, person, slot, context)
    elif week is not None and event.action == pt.SUGGEST:
        mentors = await workflows.mentors_for(person, week)
        if not mentors:
            raise UserError(messages.PT_NO_MENTOR)
        await open_form(context, pt.suggest_form(week, mentor_choices(mentors)))
    elif week is not None and event.action == pt.SUGGEST_FORM:
        await _suggest(workflows, person, event, week, context)
    elif week is not None and event.action == pt.DECLINE:
        await open_form(context, pt.decline_form(week))
    elif week is not None:
        await workflows.decline_week(person, week, event.values.get("reason", ""))
        await context.reply(Reply(messages.PT_DECLINED))
    elif session_id is not None:
        await _answer_suggestion(workflows, person, session_id, event.action == pt.ACCEPT, context)
    elif meeting is not None:
        await _answer_meeting(workflows, person, *meeting, context)


def _week_of(event: Event) -> pt.WeekRef | None:
    """Read the week from a Suggest or Not this week button, or from the form either one opened."""
    if event.action in (pt.SUGGEST, pt.DECLINE):
        return pt.decode_week(event.values.get("value", ""))
    if event.action in (pt.SUGGEST_FORM, pt.DECLINE_FORM):
        return pt.decode_week(event.values.get("context", ""))
    return None


def _decode_meeting(value: str) -> tuple[int, bool]:
    """Read a "Did you meet?" button value into the session id and whether they met."""
    session_id, answer = pt.decode_session_answer(value)
    if answer not in ("yes", "no"):
        raise ValueError(f"invalid meeting reply {answer!r}")
    return session_id, answer == "yes"


async def _book(workflows: WorkflowService, student: str, choice: pt.SlotChoice, context: HandlerContext) -> None:
    result = await workflows.book(student, choice)
    if not result.changed:
        await context.reply(Reply(messages.PT_ALREADY_BOOKED.format(
            when=result.when(), mentor=result.name(result.session.mentor)
        )))
        return
    await context.reply(Reply(messages.PT_BOOKED_REPLY.format(when=result.when(), mentor=result.name(result.session.mentor))))


async def _suggest(
    workflows: WorkflowService, student: str, event: Event, ref: pt.WeekRef, context: HandlerContext
) -> None:
    mentor = event.values.get("mentor", "").strip() or None
    result = await workflows.suggest(student, ref, event.values.get("date", ""), event.values.get("time", ""), mentor)
    await context.reply(Reply(messages.PT_SUGGESTED.format(mentor=result.name(result.session.mentor), when=result.when())))


async def _answer_suggestion(
    workflows: WorkflowService, mentor: str, session_id: int, accept: bool, context: HandlerContext
) -> None:
    result = await workflows.answer_suggestion(mentor, session_id, accept=accept)
    student = result.name(result.session.student)
    if not result.changed:
        await context.reply(Reply(messages.PT_SUGGESTION_ANSWERED.format(student=student)))
        return
    if accept:
        await context.reply(Reply(messages.PT_ACCEPTED.format(student=student, when=result.when())))
        return

    ref = pt.WeekRef(result.session.ward, result.session.iso_week)
    note = Reply(
        messages.PT_REJECTED_STUDENT.format(mentor=result.name(mentor), when=result.when()), buttons=pt.week_buttons(ref)
    )
    told = await context.notify(result.session.student, note)
    await context.reply(Reply(messages.PT_REJECTED_MENTOR.format(student=student) if told else
                              messages.PT_REJECTED_UNTOLD.format(student=student)))


async def _answer_meeting(
    workflows: WorkflowService, person: str, session_id: int, met: bool, context: HandlerContext
) -> None:
    result = await workflows.record_meeting(person, session_id, met=met)
    await context.reply(Reply(_meeting_text(result, met)))


def _meeting_text(result: SessionResult, met: bool) -> str:
    if result.changed:
        return messages.PT_MET_THANKS if met else messages.PT_NOT_MET_THANKS
    if met:
        return messages.PT_ALREADY_MET
    if result.session.state is SessionState.CONFIRMED:
        return messages.PT_NO_AFTER_YES.format(person=result.name(result.session.decided_by))
    return messages.PT_ALREADY_NOT_MET
