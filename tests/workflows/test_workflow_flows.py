"""Protected time, ratings and pauses end to end: planned messages, button presses through router.dispatch, storage."""

from __future__ import annotations

import base64
import threading
from datetime import timedelta

from clipbot.bot.handlers import messages
from clipbot.clock import FixedClock
from clipbot.service import WardService
from clipbot.storage.database import Database
from clipbot.workflows import planner
from clipbot.workflows import protected as pt
from clipbot.workflows.planner import INVITE_KEY, PlannerSettings
from clipbot.workflows.ratings import RATE_OPEN
from clipbot.workflows.service import WorkflowService
from workflow_chat import Chat, button, outbox_reply, outbox_rows, rating_count, session_rows
from workflow_ward import MARCH_MONDAY, local

WEEK = "2026-W13"


async def _offer(ward_service: WardService, student: str = "S1"):
    await WorkflowService.of(ward_service).enqueue_plan()
    return await outbox_reply(ward_service.database, f"pt-offer:{student}:{WEEK}")


async def _book_first_slot(ward_service: WardService) -> int:
    offer = await _offer(ward_service)
    await Chat(ward_service, "S1").press(button(offer, pt.BOOK))
    return (await session_rows(ward_service.database))[0].id


async def test_offer_lists_slots_and_way_outs(ward_service: WardService) -> None:
    offer = await _offer(ward_service)

    actions = [item.action for item in offer.buttons]
    assert actions == [pt.BOOK, pt.BOOK, pt.BOOK, pt.SUGGEST, pt.DECLINE]
    assert offer.buttons[0].label == "Book Mon 23 Mar 09:30 with Grace Obi"


async def test_booking_flow_end_to_end(ward_service: WardService, database: Database) -> None:
    offer = await _offer(ward_service)
    student = Chat(ward_service, "S1")

    answer = await student.press(button(offer, pt.BOOK, 1))

    assert answer.startswith("Booked: protected learning time with Grace Obi, Tuesday 24 March, 07:30 to 08:30.")
    rows = await session_rows(database)
    assert [(row.student, row.mentor, row.state) for row in rows] == [("S1", "PA1", "booked")]
    session_id = rows[0].id
    planned = await outbox_rows(database, "pt-")
    expected = {
        f"pt-booked:{session_id}:S1", f"pt-booked:{session_id}:PA1",
        f"pt-invite:{session_id}:S1", f"pt-invite:{session_id}:PA1",
        f"pt-reminder:{session_id}:S1", f"pt-reminder:{session_id}:PA1",
        f"pt-check:{session_id}:S1", f"pt-check:{session_id}:PA1",
    }
    assert expected <= set(planned)
    # An early session's reminder goes the evening before, ahead of the 21:00 quiet hours.
    assert planned[f"pt-reminder:{session_id}:PA1"].due_at == local(MARCH_MONDAY, 20, 0)
    assert INVITE_KEY not in planned[f"pt-booked:{session_id}:PA1"].payload
    invite = base64.b64decode(planned[f"pt-invite:{session_id}:PA1"].payload[INVITE_KEY]["base64"])
    assert b"UID:clipbot-protected-time-" in invite
    assert b"DTSTART;TZID=Europe/London:20260324T073000" in invite

    check = await outbox_reply(database, f"pt-check:{session_id}:PA1")
    mentor_answer = await Chat(ward_service, "PA1").press(button(check, pt.MET, 0))

    assert mentor_answer == messages.PT_MET_THANKS
    assert (await session_rows(database))[0].state == "confirmed"
    assert f"rate-session:{session_id}" in await outbox_rows(database, "rate-session:")


async def test_booking_tells_mentor_through_outbox(ward_service: WardService, database: Database) -> None:
    session_id = await _book_first_slot(ward_service)

    told = await outbox_reply(database, f"pt-booked:{session_id}:PA1")

    assert told.text == "Amira Khan has booked protected learning time with you: Monday 23 March, 09:30 to 10:30."


async def test_second_booking_same_week_changes_nothing(ward_service: WardService, database: Database) -> None:
    offer = await _offer(ward_service)
    student = Chat(ward_service, "S1")
    await student.press(button(offer, pt.BOOK, 0))

    answer = await student.press(button(offer, pt.BOOK, 2))

    assert answer.startswith("You already have protected learning time booked this week: Monday 23 March")
    assert len(await session_rows(database)) == 1


async def test_staff_cannot_book_student_slot(ward_service: WardService, database: Database) -> None:
    offer = await _offer(ward_service)

    answer = await Chat(ward_service, "PA1").press(button(offer, pt.BOOK))

    assert answer == messages.PT_STUDENTS_ONLY
    assert await session_rows(database) == []


async def test_unlinked_user_gets_link_advice(ward_service: WardService) -> None:
    offer = await _offer(ward_service)

    answer = await Chat(ward_service, None).press(button(offer, pt.BOOK))

    assert answer == messages.NOT_LINKED


async def test_slot_already_started_is_rejected(ward_service: WardService, clock: FixedClock) -> None:
    offer = await _offer(ward_service)
    clock.moment = local(MARCH_MONDAY, 10, 0)

    answer = await Chat(ward_service, "S1").press(button(offer, pt.BOOK, 0))

    assert answer == messages.PT_SLOT_PASSED


async def test_not_this_week_records_reason(ward_service: WardService, database: Database) -> None:
    offer = await _offer(ward_service)
    student = Chat(ward_service, "S1")
    await student.press(button(offer, pt.DECLINE))

    answer = await student.submit(student.forms[-1], reason="study day")

    assert answer == messages.PT_DECLINED
    rows = await session_rows(database)
    assert [(row.state, row.reason, row.decided_by) for row in rows] == [("declined", "study day", "S1")]


async def test_not_this_week_needs_reason(ward_service: WardService, database: Database) -> None:
    offer = await _offer(ward_service)
    student = Chat(ward_service, "S1")
    await student.press(button(offer, pt.DECLINE))

    answer = await student.submit(student.forms[-1], reason="  ")

    assert answer == messages.PT_DECLINE_NEEDS_REASON
    assert await session_rows(database) == []


async def test_form_without_modal_is_sent_as_reply(ward_service: WardService) -> None:
    offer = await _offer(ward_service)
    console = Chat(ward_service, "S1", forms=False)

    await console.press(button(offer, pt.DECLINE))

    assert console.replies[-1].form is not None
    assert console.replies[-1].form.action == pt.DECLINE_FORM


async def test_suggested_time_accepted_by_mentor(ward_service: WardService, database: Database) -> None:
    offer = await _offer(ward_service)
    student = Chat(ward_service, "S1")
    await student.press(button(offer, pt.SUGGEST))
    form = student.forms[-1]
    assert [item.name for item in form.inputs] == ["date", "time", "mentor"]

    answer = await student.submit(form, date="26/03/2026", time="10.00", mentor="NS1")

    assert answer == "I've asked Hugh Bell whether Thursday 26 March, 10:00 to 11:00 suits them. You'll hear back here."
    session_id = (await session_rows(database))[0].id
    suggestion = await outbox_reply(database, f"pt-suggestion:{session_id}")
    mentor_answer = await Chat(ward_service, "NS1").press(button(suggestion, pt.ACCEPT))
    assert mentor_answer.startswith("Booked: protected learning time with Amira Khan, Thursday 26 March, 10:00 to 11:00.")
    assert (await session_rows(database))[0].state == "booked"
    assert f"pt-booked:{session_id}:S1" in await outbox_rows(database, "pt-booked:")


async def test_suggested_time_turned_down(ward_service: WardService, database: Database) -> None:
    offer = await _offer(ward_service)
    student = Chat(ward_service, "S1")
    await student.press(button(offer, pt.SUGGEST))
    await student.submit(student.forms[-1], date="2026-03-26", time="10:00", mentor="PA1")
    session_id = (await session_rows(database))[0].id
    suggestion = await outbox_reply(database, f"pt-suggestion:{session_id}")
    mentor = Chat(ward_service, "PA1")

    answer = await mentor.press(button(suggestion, pt.REJECT))

    assert answer == "I've told Amira Khan that the time doesn't suit you and asked them to suggest another."
    assert (await session_rows(database))[0].state == "declined"
    recipient, note = mentor.notices[-1]
    assert recipient == "S1"
    assert [item.action for item in note.buttons] == [pt.SUGGEST, pt.DECLINE]


async def test_suggestion_outside_week_rejected(ward_service: WardService, database: Database) -> None:
    offer = await _offer(ward_service)
    student = Chat(ward_service, "S1")
    await student.press(button(offer, pt.SUGGEST))

    answer = await student.submit(student.forms[-1], date="2026-04-02", time="10:00", mentor="PA1")

    assert answer == "Thursday 2 April is outside the week of this offer. Pick a day from Monday 23 March to Sunday 29 March."
    assert await session_rows(database) == []


async def test_suggestion_bad_time_names_value(ward_service: WardService) -> None:
    offer = await _offer(ward_service)
    student = Chat(ward_service, "S1")
    await student.press(button(offer, pt.SUGGEST))

    answer = await student.submit(student.forms[-1], date="2026-03-26", time="half ten", mentor="PA1")

    assert answer == "'half ten' is not a time I can read. Use the 24-hour clock, for example 14:30."


async def test_no_then_yes_confirms(ward_service: WardService, database: Database) -> None:
    session_id = await _book_first_slot(ward_service)
    student_check = await outbox_reply(database, f"pt-check:{session_id}:S1")
    mentor_check = await outbox_reply(database, f"pt-check:{session_id}:PA1")

    student_answer = await Chat(ward_service, "S1").press(button(student_check, pt.MET, 1))
    assert student_answer == messages.PT_NOT_MET_THANKS
    assert (await session_rows(database))[0].state == "not_met"

    mentor_answer = await Chat(ward_service, "PA1").press(button(mentor_check, pt.MET, 0))
    assert mentor_answer == messages.PT_MET_THANKS
    assert (await session_rows(database))[0].state == "confirmed"


async def test_no_after_yes_keeps_confirmed(ward_service: WardService, database: Database) -> None:
    session_id = await _book_first_slot(ward_service)
    student_check = await outbox_reply(database, f"pt-check:{session_id}:S1")
    mentor_check = await outbox_reply(database, f"pt-check:{session_id}:PA1")
    await Chat(ward_service, "PA1").press(button(mentor_check, pt.MET, 0))

    answer = await Chat(ward_service, "S1").press(button(student_check, pt.MET, 1))

    assert answer == "Thank you. Grace Obi already answered that you met, so the session stays recorded as confirmed."
    assert (await session_rows(database))[0].state == "confirmed"


async def test_outsider_cannot_answer_check(ward_service: WardService, database: Database) -> None:
    session_id = await _book_first_slot(ward_service)
    check = await outbox_reply(database, f"pt-check:{session_id}:PA1")

    answer = await Chat(ward_service, "PA2").press(button(check, pt.MET, 0))

    assert answer == messages.PT_NOT_YOUR_SESSION
    assert (await session_rows(database))[0].state == "booked"


async def test_forged_button_value_gets_apology(ward_service: WardService) -> None:
    answer = await Chat(ward_service, "S1").send(action=pt.BOOK, values={"value": "not|a|slot"})

    assert answer == messages.PT_BAD_BUTTON


async def _confirmed_session_rating(ward_service: WardService, database: Database) -> tuple[Chat, int]:
    session_id = await _book_first_slot(ward_service)
    check = await outbox_reply(database, f"pt-check:{session_id}:S1")
    student = Chat(ward_service, "S1")
    await student.press(button(check, pt.MET, 0))
    request = await outbox_reply(database, f"rate-session:{session_id}")
    await student.press(button(request, RATE_OPEN))
    return student, session_id


async def test_rating_form_thanks_once(ward_service: WardService, database: Database) -> None:
    student, _ = await _confirmed_session_rating(ward_service, database)
    form = student.forms[-1]

    first = await student.submit(form, score="4", comment="Good time to talk through my care plan.")
    second = await student.submit(form, score="1", comment="")

    assert first == messages.RATE_THANKS
    assert second == messages.RATE_ALREADY
    assert await rating_count(database) == 1


async def test_rating_rejects_score_outside_range(ward_service: WardService, database: Database) -> None:
    student, _ = await _confirmed_session_rating(ward_service, database)

    answer = await student.submit(student.forms[-1], score="6")

    assert answer == "'6' is not a rating. Choose a whole number from 1 to 5."
    assert await rating_count(database) == 0


async def test_other_student_cannot_rate_session(ward_service: WardService, database: Database) -> None:
    student, _ = await _confirmed_session_rating(ward_service, database)

    answer = await Chat(ward_service, "S2").submit(student.forms[-1], score="5")

    assert answer == messages.RATE_NOT_YOURS
    assert await rating_count(database) == 0


async def test_planner_runs_off_event_loop(ward_service: WardService, monkeypatch) -> None:
    # Planning a whole trust takes seconds of CPU, which must not hold up the server's event loop.
    threads: list[int] = []
    real_plan = planner.plan

    def recording_plan(*args, **options):
        threads.append(threading.get_ident())
        return real_plan(*args, **options)

    monkeypatch.setattr(planner, "plan", recording_plan)
    added = await WorkflowService.of(ward_service).enqueue_plan(timedelta(days=1))

    assert added > 0
    assert threads
    assert threading.get_ident() not in threads


async def test_replanning_enqueues_nothing_new(ward_service: WardService) -> None:
    workflows = WorkflowService.of(ward_service)
    first = await workflows.enqueue_plan(timedelta(days=3))
    await Chat(ward_service, "S1").press(button(await outbox_reply(ward_service.database, f"pt-offer:S1:{WEEK}"), pt.BOOK))

    second = await workflows.enqueue_plan(timedelta(days=3))

    assert first > 0
    assert second == 0


async def test_pause_and_resume(ward_service: WardService) -> None:
    student = Chat(ward_service, "S1")
    workflows = WorkflowService.of(ward_service)

    paused = await student.send("pause until 27/03/2026")
    assert paused.startswith("Paused: I won't send you anything until the end of Friday 27 March 2026.")
    assert (await workflows.paused_until("S1")).isoformat() == "2026-03-27"

    resumed = await student.send("resume")
    assert resumed == messages.RESUMED
    assert await workflows.paused_until("S1") is None


async def test_pause_date_in_past_rejected(ward_service: WardService) -> None:
    answer = await Chat(ward_service, "PA1").send("pause until 2026-03-20")

    assert answer == "20 March 2026 has already passed. Give today or a later date, for example 'pause until 2026-03-06'."


async def test_pause_without_date_explains(ward_service: WardService) -> None:
    answer = await Chat(ward_service, "PA1").send("pause")

    assert answer == messages.PAUSE_USAGE


async def test_resume_when_not_paused(ward_service: WardService) -> None:
    answer = await Chat(ward_service, "PA1").send("resume")

    assert answer == messages.NOT_PAUSED


async def test_booking_uses_reminder_lead_of_service(ward_service: WardService, database: Database) -> None:
    settings = PlannerSettings(reminder_lead=timedelta(minutes=20))
    configured = WardService(database, ward_service.clock, ward_service.organisation, planner_settings=settings)

    session_id = await _book_first_slot(configured)

    planned = await outbox_rows(database, "pt-reminder:")
    # The first slot starts at 09:30, and the default lead of an hour would give 08:30.
    assert planned[f"pt-reminder:{session_id}:S1"].due_at == local(MARCH_MONDAY, 9, 10)
    assert planned[f"pt-reminder:{session_id}:PA1"].due_at == local(MARCH_MONDAY, 9, 10)
