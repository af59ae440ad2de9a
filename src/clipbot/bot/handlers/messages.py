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
    "• *match WARD*: propose a practice assessor and named practice supervisor for each student; "
    "*match WARD again* proposes afresh, replacing confirmed pairs when you confirm\n"
    "• *coaches WARD [DATE]*: the coach groups for each shift on that day (today if no date; DATE as YYYY-MM-DD or DD/MM/YYYY)"
)

UNKNOWN = "Sorry, I didn't understand '{text}'."

NO_ASSESSOR = "You don't have a practice assessor yet. Your clinical educator will let you know once one is confirmed."
NO_SUPERVISOR = "You don't have a named practice supervisor yet. Your clinical educator will let you know once one is confirmed."
NO_SHIFT_TODAY = "You're not on a shift today, so you have no coach today."

MISSING_WARD = "Which ward? Try '{command} WARD', for example '{command} {example}'."
BAD_DATE = "'{text}' is not a date I can read. Use YYYY-MM-DD or DD/MM/YYYY, for example 2026-03-02."

NOTHING_TO_CONFIRM = "There are no proposed pairs to confirm for {ward}. Run 'match {ward}' first."


def person_label(person: Person | None) -> str:
    if person is None:
        return "nobody yet"
    return person.name if person.name == person.key else f"{person.name} ({person.key})"


def dates(start: date, end: date) -> str:
    return f"{start:%-d %b} to {end:%-d %b %Y}"
