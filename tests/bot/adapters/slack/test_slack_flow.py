"""A placement set up in Slack from start to finish, driven only by signed HTTP requests."""

from __future__ import annotations

import re

from clipbot.bot.handlers import messages
from slack_harness import (
    EDUCATOR,
    PEOPLE_CSV,
    SHIFTS_CSV,
    STUDENT,
    SlackHarness,
    buttons_of,
    direct_channel,
)

WARD_CHANNEL = "C0600"
# Slack users of the registered nurses RN1 to RN3, who may become mentors.
NURSES = ("U0004", "U0005", "U0006")


async def test_roster_to_student_answer(slack_new_ward: SlackHarness):
    slack = slack_new_ward

    # The educator opens the import form and pastes both CSV files into it.
    await slack.command("roster import 6-west")
    await slack.settle()
    [opened] = slack.fake.calls_to("views.open")
    form = opened.arguments["view"]
    await slack.interaction(slack.form_submission(form, {"people": PEOPLE_CSV, "shifts": SHIFTS_CSV}))
    await slack.settle()
    assert slack.direct_text(EDUCATOR).startswith("Imported the roster for 6 West.")

    # The ward channel is chosen, then pairs are proposed and confirmed with the button.
    await slack.command("channel 6-west", channel=WARD_CHANNEL)
    await slack.command("match 6-west")
    await slack.settle()
    assert messages.CHANNEL_SET.format(ward="6 West") in slack.ephemeral_text(EDUCATOR)
    [confirm] = buttons_of(slack.ephemeral_to(EDUCATOR)[-1])
    await slack.interaction(slack.button_press(confirm))
    await slack.settle()
    assert "Confirmed 4 pairs for 6 West and told each student and mentor." in slack.ephemeral_text(EDUCATOR)

    # Each student gets their team, and each mentor their student, in a direct message.
    for student in ("U0002", "U0003"):
        assert slack.direct_text(student).startswith("Your placement team on 6 West is confirmed")
    mentor_messages = [slack.direct_text(nurse) for nurse in NURSES]
    assert sum(text.count("You are now") for text in mentor_messages) == 4

    # Coach groups go to the ward channel.
    await slack.command("coaches 6-west 2026-03-02")
    await slack.settle()
    assert slack.posts_in(WARD_CHANNEL) == ["Coach groups for the Early Mon 02 Mar 06:30-14:30 shift"]

    # The student asks who their assessor is and gets the one named in their confirmation.
    confirmation = slack.direct_text(STUDENT)
    assessor = re.search(r"Your practice assessor is (.+?) \(", confirmation)
    assert assessor is not None
    await slack.direct_message(STUDENT, "who is my assessor?")
    await slack.settle()
    answer = [call.arguments["text"] for call in slack.fake.messages_to(direct_channel(STUDENT))][-1]
    assert answer.startswith(f"Your practice assessor is {assessor.group(1)} (")
