"""A placement set up end to end from Teams alone: every step is an activity posted to /api/messages.

The ward exists with Sam Carter as its clinical educator and no roster, as `clipbot educator`
leaves it. Sam imports the roster through the form card, proposes and confirms matches, sets the
ward channel and posts coach groups there; then a student asks who her assessor is.
"""

from __future__ import annotations

import re

from clipbot.bot.handlers import messages
from teams_harness import (
    EDUCATOR,
    PEOPLE_CSV,
    SHIFTS_CSV,
    STUDENT,
    TEAM_CHANNEL,
    USERS,
    TeamsHarness,
    action_of,
    text_of,
)

MENTORS_AND_STUDENTS = [USERS[key] for key in ("S1", "S2", "RN1", "RN2", "RN3")]


async def import_roster_through_form(teams: TeamsHarness) -> str:
    await teams.install(EDUCATOR)
    await teams.say(EDUCATOR, "roster import 6-west")
    form = teams.last_card_to(EDUCATOR.personal_chat)
    submit = action_of(form, "roster.import")["fallback"]
    inputs = {element["id"] for element in form["body"] if element["type"].startswith("Input.")}
    assert inputs == {"people", "shifts"}

    value = {**submit["data"], "people": PEOPLE_CSV, "shifts": SHIFTS_CSV}
    await teams.submit(EDUCATOR, value, reply_to_id="1:roster-form")
    return teams.connector.sent(EDUCATOR.personal_chat)[-1].text


async def confirm_matches(teams: TeamsHarness) -> dict:
    for user in MENTORS_AND_STUDENTS:
        await teams.install(user)
    await teams.say(EDUCATOR, "match 6-west")
    confirm = action_of(teams.last_card_to(EDUCATOR.personal_chat), "match.confirm")
    _, body = await teams.execute(EDUCATOR, confirm["verb"], confirm["data"])
    return body


async def test_whole_placement_from_teams(teams_new_ward: TeamsHarness):
    teams = teams_new_ward

    imported = await import_roster_through_form(teams)
    assert imported.startswith("Imported the roster for 6 West.")

    confirmation = await confirm_matches(teams)
    assert confirmation["statusCode"] == 200
    assert text_of(confirmation["value"]) == "Done."
    assert "Confirmed 4 pairs" in teams.text_to(EDUCATOR.personal_chat)
    for student in (USERS["S1"], USERS["S2"]):
        assert "6 West" in teams.text_to(student.personal_chat), student.name
    # Each student has a different assessor and supervisor, so at least two nurses hear about it.
    mentors_notified = [user.name for user in MENTORS_AND_STUDENTS[2:] if "6 West" in teams.text_to(user.personal_chat)]
    assert len(mentors_notified) >= 2

    await teams.mention(EDUCATOR, "channel 6-west")
    assert messages.CHANNEL_SET.format(ward="6 West") in teams.connector.sent()[-1].text

    await teams.say(EDUCATOR, "coaches 6-west 2026-03-02")
    posted = teams.text_to(TEAM_CHANNEL)
    assert "Coach groups for the Early Mon 02 Mar 06:30-14:30 shift" in posted
    assert "Amira Khan (S1)" in posted
    assert "Posted the coach groups" in teams.connector.sent(EDUCATOR.personal_chat)[-1].text

    # The student's own confirmation names her assessor; her question must give the same name.
    notified = re.search(r"Your practice assessor is (.+?) \(", teams.text_to(STUDENT.personal_chat))
    assert notified is not None
    await teams.say(STUDENT, "who is my assessor?")
    answer = teams.connector.sent(STUDENT.personal_chat)[-1].text
    assert answer.startswith(f"Your practice assessor is {notified.group(1)}")


async def test_form_submission_replaces_form_card(teams_new_ward: TeamsHarness):
    await import_roster_through_form(teams_new_ward)
    updates = teams_new_ward.connector.updates()
    assert [update.activity_id for update in updates] == ["1:roster-form"]
    assert updates[0].text == "Done."
    assert teams_new_ward.text_to(EDUCATOR.personal_chat).count("Imported the roster for 6 West.") == 1
