"""Everything the bot says to people, kept together for review and translation.

British English, written for staff on a busy shift: what happened, then what to do next.
"""

from __future__ import annotations

from datetime import date

from clipbot.domain.people import Person

APOLOGY = "Sorry, something went wrong on our side and nothing was changed. Please try again in a few minutes."

NOT_LINKED = (
    "I can't match you to anyone on a ward roster yet, so I can't answer that. "
    "Ask your clinical educator to link your account to your roster entry."
)

EDUCATOR_ONLY = (
    "Only a ward's clinical educator can run '{command}'. "
    "If you need a roster, matching or coach groups, ask your clinical educator."
)

YOUR_EDUCATORS = "Your clinical educator is {names}."

NOT_YOUR_WARD = "You are not the clinical educator for {ward}, so you can't run '{command}' for it. Your wards: {wards}."

STUDENT_HELP = (
    "Ask me:\n"
    "• *assessor*: who your practice assessor is\n"
    "• *supervisor*: who your named practice supervisor is\n"
    "• *coach*: who coaches you on today's shift\n"
    "• *team*: all three at once"
)

STAFF_HELP = (
    "I help nursing students and their mentors on CLiP wards. "
    "Students can ask me for their assessor, supervisor and today's coach."
)

EDUCATOR_HELP = (
    "Clinical educator commands:\n"
    "• *roster WARD*: people, shifts and who mentors whom\n"
    "• *roster import WARD*: import people.csv and shifts.csv, attached to the message or pasted into a form\n"
    "• *match WARD*: propose a practice assessor and named practice supervisor for each student; "
    "*match WARD again* proposes afresh, replacing confirmed pairs when you confirm\n"
    "• *coaches WARD [DATE]*: post the coach groups for each shift on that day to the ward channel "
    "(today if no date; DATE as YYYY-MM-DD or DD/MM/YYYY)\n"
    "• *channel WARD*: run in the ward's channel to have coach groups posted there\n"
    "• *link @person ID*: link someone's chat account to their roster id"
)

UNKNOWN = "Sorry, I didn't understand '{text}'."

NO_ASSESSOR = "You don't have a practice assessor yet. Your clinical educator will let you know once one is confirmed."
NO_SUPERVISOR = "You don't have a named practice supervisor yet. Your clinical educator will let you know once one is confirmed."
NO_COACH = (
    "Nobody can coach you on the {shift} shift. I've told your clinical educator; "
    "speak to the nurse in charge when you arrive."
)

GAP_ALERT = "⚠ Supervision gap on {ward}: {student} has no coach on the {shift} shift ({reason})."

NO_SHIFT_TODAY = "You're not on a shift today, so you have no coach today."

MISSING_WARD = "Which ward? Try '{command} WARD', for example '{command} {example}'."
BAD_DATE = "'{text}' is not a date I can read. Use YYYY-MM-DD or DD/MM/YYYY, for example 2026-03-02."

NOT_POSTED = "I couldn't post to the {ward} channel, so here are the coach groups to share yourself."

NO_WARD_CHANNEL = "{ward} has no channel yet. Run 'channel {ward_key}' in the ward's channel first."

CHANNEL_SET = "Coach groups for {ward} will be posted in this channel."

CHANNEL_NEEDS_CHANNEL = "Run 'channel {ward_key}' in the ward's channel itself, not in a direct message."

LINK_USAGE = "Mention the person and give their roster id, for example 'link @Amira S1'."

LINKED = "Linked {user} to {person}. They can now ask me about their placement."

ROSTER_FORM_TITLE = "Import a roster"

ROSTER_IMPORT_USAGE = (
    "Attach people.csv and shifts.csv to a message that says 'roster import {ward_key}', "
    "or paste them into the form."
)

ROSTER_TOO_LARGE = (
    "{name} is {size:,} bytes, more than the {limit:,} bytes I accept in chat. "
    "Split the roster by ward, or import it with 'clipbot roster import csv' on the server."
)

ROSTER_FILES_NEEDED = (
    "I need two CSV files, one of people and one of shifts; I got {names}. "
    "Name them so that one contains 'people' and the other 'shifts', for example people.csv and shifts.csv."
)

NOTHING_TO_CONFIRM = "There are no proposed pairs to confirm for {ward}. Run 'match {ward}' first."


def person_label(person: Person | None) -> str:
    if person is None:
        return "nobody yet"
    return person.name if person.name == person.key else f"{person.name} ({person.key})"


def dates(start: date, end: date) -> str:
    return f"{start:%-d %b} to {end:%-d %b %Y}"
