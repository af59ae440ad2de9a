"""Console transcripts: a student, a nurse and an educator talking to the bot about one ward."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta


from clipbot.bot.adapters.console import ConsoleChat, event_from_line, render_reply
from clipbot.bot.events import Button, Event, EventKind, Fact, Reply, Section
from clipbot.bot.handlers.context import HandlerContext
from clipbot.bot.handlers.router import dispatch
from clipbot.bot.handlers import messages
from six_west import LONDON, MONDAY, ORGANISATION, six_west
from clipbot.clock import FixedClock
from clipbot.domain.roster import Roster
from clipbot.domain.shifts import Leave
from clipbot.domain.ward import LearningEnvironment
from clipbot.service import WardService
from clipbot.storage.database import Database

class Transcript:
    """One person's side of a console conversation; `said` holds everything the bot wrote."""

    def __init__(self, service: WardService, person: str | None) -> None:
        self.said: list[str] = []
        self.chat = ConsoleChat(service, person, self.said.append)

    async def say_action(self, action: str, value: str) -> str:
        start = len(self.said)
        event = Event(
            kind=EventKind.ACTION, platform="console", organisation=ORGANISATION, user=self.chat.person or "x",
            person=self.chat.person, action=action, values={"value": value}, event_id="test-action",
        )
        await dispatch(event, HandlerContext(self.chat._reply, self.chat._notify, self.chat.service, logging.getLogger()))
        return "\n".join(self.said[start:])

    async def say(self, line: str) -> str:
        start = len(self.said)
        await self.chat.send(line)
        return "\n".join(self.said[start:])


async def test_student_help_lists_questions(service):
    answer = await Transcript(service, "S1").say("help")
    assert "assessor" in answer
    assert "coach" in answer


async def test_student_without_pairs_told_to_wait(service):
    answer = await Transcript(service, "S1").say("who is my assessor?")
    assert answer == messages.NO_ASSESSOR


async def test_educator_matches_and_confirms(service):
    educator = Transcript(service, "CE1")
    proposal = await educator.say("match 6-west")
    assert "Proposed 4 pairs for 2 students on 6 West" in proposal
    assert proposal.count("practice assessor:") == 2
    assert proposal.count("named practice supervisor:") == 2
    assert "on 5 of your 5 shifts" in proposal
    assert "[1] Confirm and notify" in proposal

    confirmation = await educator.say("1")
    assert "Confirmed 4 pairs for 6 West" in confirmation
    assert "(direct message to Amira Khan)" in confirmation
    assert "(direct message to Ben Price)" in confirmation
    assert confirmation.count("You are now") == 4


async def test_student_sees_confirmed_team(service):
    educator = Transcript(service, "CE1")
    await educator.say("match 6-west")
    await educator.say("1")

    student = Transcript(service, "S1")
    assessor_answer = await student.say("who is my assessor?")
    supervisor_answer = await student.say("supervisor")
    coach_answer = await student.say("who's my coach today")
    assert assessor_answer.startswith("Your practice assessor is ")
    assert supervisor_answer.startswith("Your named practice supervisor is ")
    assert "Right now, your coach on the Early Mon 02 Mar 06:30-14:30 shift is " in coach_answer
    assessor = assessor_answer.removeprefix("Your practice assessor is ").rstrip(".")
    supervisor = supervisor_answer.removeprefix("Your named practice supervisor is ").rstrip(".")
    assert assessor != supervisor


async def test_coach_groups_avoid_nurse_in_charge(service):
    answer = await Transcript(service, "CE1").say("coaches 6-west 2026-03-02")
    assert "Coach groups for the Early Mon 02 Mar 06:30-14:30 shift" in answer
    group_lines = [line for line in answer.splitlines() if "Amira Khan" in line]
    assert len(group_lines) == 1
    assert "Ben Price" in group_lines[0]
    assert "Jane Fox" not in answer


async def test_coaches_on_day_without_students(service):
    answer = await Transcript(service, "CE1").say("coaches 6-west 07/03/2026")
    assert answer == "No students are on shift on 6 West on Saturday 7 March 2026."


async def test_roster_summary_counts_people(service):
    answer = await Transcript(service, "CE1").say("roster 6 West")
    assert "6 West: 10 shifts from 2 Mar to 6 Mar 2026." in answer
    assert "Students: 2" in answer
    # The four ward nurses and Sam Carter, the educator.
    assert "Registered nurses: 5" in answer
    assert "Healthcare assistants: 1" in answer


async def test_second_match_keeps_confirmed_pairs(service):
    educator = Transcript(service, "CE1")
    await educator.say("match 6-west")
    await educator.say("1")
    again = await educator.say("match 6-west")
    assert "No new pairs to propose for 6 West." in again
    assert again.count("(confirmed earlier)") == 4


async def test_rematch_unchanged_keeps_pairs(service):
    educator = Transcript(service, "CE1")
    await educator.say("match 6-west")
    await educator.say("1")
    again = await educator.say("match 6-west again")
    assert "Matched 6 West afresh: every confirmed pair is still the best choice" in again
    assert again.count("(confirmed earlier)") == 4


async def test_rematch_replaces_assessor_on_leave(service):
    educator = Transcript(service, "CE1")
    student = Transcript(service, "S1")
    await educator.say("match 6-west")
    await educator.say("1")
    first = (await student.say("assessor")).removeprefix("Your practice assessor is ").rstrip(".")
    first_key = first.split("(")[1].rstrip(")")

    # The assessor goes on leave for the whole week, so the ward re-imports its roster.
    roster = six_west()
    roster.duties = [duty for duty in roster.duties if duty.person != first_key]
    roster.leave = [Leave(first_key, MONDAY, MONDAY + timedelta(days=6))]
    await service.import_roster(roster)

    again = await educator.say("match 6-west again")
    assert "Proposed" in again
    confirmation = await educator.say("1")
    assert "Confirmed" in confirmation
    second = (await student.say("assessor")).removeprefix("Your practice assessor is ").rstrip(".")
    assert second != first
    assert first_key not in second


async def test_student_refused_educator_commands(service):
    student = Transcript(service, "S1")
    for command in ("match 6-west", "roster 6-west", "coaches 6-west"):
        answer = await student.say(command)
        assert answer.startswith(messages.EDUCATOR_ONLY.format(command=command.split()[0]))
        assert answer.endswith("Your clinical educator is Sam Carter.")


async def test_nurse_refused_educator_commands(service):
    answer = await Transcript(service, "RN1").say("match 6-west")
    assert answer.startswith("Only a ward's clinical educator can run 'match'.")


async def test_nurse_cannot_press_confirm(service):
    educator = Transcript(service, "CE1")
    await educator.say("match 6-west")
    nurse = Transcript(service, "RN1")
    # The nurse cannot see the educator's button, so send the action the button carries directly.
    answer = await nurse.say_action("match.confirm", "6-west")
    assert answer.startswith("Only a ward's clinical educator can run 'match'.")


async def test_educator_refused_other_ward(service):
    other = Roster(ward=LearningEnvironment("7-east", "7 East"))
    await service.import_roster(other)
    answer = await Transcript(service, "CE1").say("roster 7-east")
    assert answer == messages.NOT_YOUR_WARD.format(ward="7-east", command="roster", wards="6-west")


async def test_unlinked_user_told_what_to_do(service):
    answer = await Transcript(service, None).say("who is my assessor?")
    assert answer == messages.NOT_LINKED


async def test_unknown_text_gets_help(service):
    answer = await Transcript(service, "S1").say("bananas")
    assert "Sorry, I didn't understand 'bananas'." in answer
    assert "Ask me:" in answer
    assert "• assessor: who your practice assessor is" in answer


async def test_command_input_errors_named(service):
    educator = Transcript(service, "CE1")
    assert await educator.say("match") == messages.MISSING_WARD.format(command="match", example="6-west")
    assert await educator.say("coaches 6-west 31/02/2026") == messages.BAD_DATE.format(text="31/02/2026")
    unknown_ward = await educator.say("roster 9-north")
    assert unknown_ward == "There is no ward called '9-north'. Wards: 6-west."


async def test_handler_failure_gets_apology(tmp_path, caplog):
    broken = WardService(Database(f"sqlite+aiosqlite:///{tmp_path}/missing/clipbot.sqlite3"),
                         FixedClock(datetime(2026, 3, 2, 9, tzinfo=LONDON)), ORGANISATION)
    transcript = Transcript(broken, "S1")
    with caplog.at_level(logging.ERROR):
        answer = await transcript.say("who is my assessor?")
    assert answer == messages.APOLOGY
    assert "student question" in caplog.text
    assert "who is my assessor" not in caplog.text


def test_line_with_button_number_becomes_action():
    buttons = (Button("Confirm and notify", "match.confirm", "6-west"),)
    event = event_from_line("1", person="CE1", organisation="o", buttons=buttons, event_id="e1")
    assert event.kind is EventKind.ACTION
    assert event.action == "match.confirm"
    assert event.values == {"value": "6-west"}


def test_number_without_button_stays_text():
    event = event_from_line("2", person="CE1", organisation="o", buttons=(), event_id="e1")
    assert event.kind is EventKind.MESSAGE
    assert event.text == "2"


def test_render_reply_strips_emphasis():
    reply = Reply("*Coach* groups", sections=(Section("for *today*", (Fact("Grace", "Amira"),)),),
                  buttons=(Button("Confirm", "x"),))
    assert render_reply(reply) == "Coach groups\nfor today\n  Grace: Amira\n  [1] Confirm  (type 1)"
