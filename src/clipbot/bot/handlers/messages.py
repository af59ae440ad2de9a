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
    "• *team*: all three at once\n"
    "• *pause until DATE*: no reminders from me until then (*resume* to hear from me again)\n"
    "Each week I offer you times for your protected learning time; press one to book it."
)

STAFF_HELP = (
    "I help nursing students and their mentors on CLiP wards. "
    "Students can ask me for their assessor, supervisor and today's coach. "
    "I'll tell you when a student's protected learning time with you is booked, and remind you before it. "
    "Type *pause until DATE* to hear nothing from me until then, and *resume* to hear from me again."
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
    "• *link @person ID*: link someone's chat account to their roster id\n"
    "• *ratings WARD*: students' average ratings, for groups of 5 ratings or more\n"
    "• *pause until DATE* and *resume*: stop and restart my reminders to you"
)

UNKNOWN = "Sorry, I didn't understand '{text}'."

NO_ASSESSOR = "You don't have a practice assessor yet. Your clinical educator will let you know once one is confirmed."
NO_SUPERVISOR = "You don't have a named practice supervisor yet. Your clinical educator will let you know once one is confirmed."
NO_COACH = (
    "Nobody can coach you on the {shift} shift. I've told your clinical educator; "
    "speak to the nurse in charge when you arrive."
)

NO_COACH_ENDED = "You had no coach on the {shift} shift, which has ended."
COACH_ENDED = "Your coach on the {shift} shift, which has ended, was {coach}."
GAP_ALERT = "⚠ Supervision gap on {ward}: {student} has no coach on the {shift} shift ({reason})."

NO_SHIFT_TODAY = "You're not on a shift today, so you have no coach today."

MISSING_WARD = "Which ward? Try '{command} WARD', for example '{command} {example}'."
BAD_DATE = "'{text}' is not a date I can read. Use YYYY-MM-DD, DD/MM/YYYY, today or tomorrow, for example 2026-03-02."

NO_CHANNEL_NOTE = (
    "This was for the {ward} channel, but the ward has none yet: run 'channel {ward}' in it. "
    "Please pass it on.\n"
)
CHANNEL_FAILED_NOTE = (
    "I couldn't post this in the {ward} channel ({reason}). Check that I'm still in the channel, or run "
    "'channel {ward}' in the channel it should go to. Please pass it on.\n"
)
DELIVERY_PROBLEM = (
    "I couldn't send {what} to {name} ({person}): {reason}. Ask them to message me once, or link their "
    "chat account with 'link @person {person}'. I'll tell you at most once a day while this lasts."
)
# Descriptions of the messages the bot sends on its own, by outbox kind, for DELIVERY_PROBLEM.
MESSAGE_KINDS = {
    "pt-offer": "this week's protected learning time offer",
    "pt-nudge": "a reminder to book protected learning time",
    "pt-suggestion": "a suggested time for protected learning",
    "pt-booked": "a protected learning time booking",
    "pt-invite": "a calendar invitation for protected learning time",
    "pt-reminder": "a reminder of a booked protected learning time session",
    "pt-check": "a 'did you meet?' check",
    "rate-shift": "a rating form",
    "rate-session": "a rating form",
    "digest": "the weekly protected learning time digest",
    "other": "a message",
}
COACH_POST_NO_STUDENTS = "No students are on this shift any more, so it has no coach groups."
COACH_POST_CHANGED = "Changed since the earlier post: these coach groups replace it.\n"
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

NOTHING_TO_CONFIRM = (
    "No pairs are waiting to be confirmed for {ward}, so nothing was sent. If you just confirmed them, "
    "that is done. To propose pairs, run 'match {ward_key}'."
)


def person_label(person: Person | None) -> str:
    if person is None:
        return "nobody yet"
    return person.name if person.name == person.key else f"{person.name} ({person.key})"


def dates(start: date, end: date) -> str:
    return f"{start:%-d %b} to {end:%-d %b %Y}"

# Protected learning time: the weekly offer, the nudge, bookings, suggestions and "Did you meet?".

PT_OFFER = "Time to book your {minutes} minutes of protected learning time for the week of {week}."
PT_OFFER_DETAIL = (
    "Each time is during a shift you share with your practice assessor or named practice supervisor. "
    "Press one to book it, and you'll both get a calendar invitation."
)
PT_OFFER_NO_SLOTS = (
    "You share no shift with your practice assessor or named practice supervisor in the week of {week}, "
    "so I have no time to offer. Suggest a time that suits you both, or tell me it's not this week."
)
PT_NUDGE = "You haven't booked your {minutes} minutes of protected learning time this week yet. These times are still free."
PT_NUDGE_NO_SLOTS = (
    "You haven't booked your protected learning time this week, and you share no more shifts with your "
    "practice assessor or named practice supervisor. Suggest a time, or tell me it's not this week."
)
PT_SLOT_BUTTON = "Book {when} with {mentor}"
PT_SUGGEST_BUTTON = "Suggest another time"
PT_DECLINE_BUTTON = "Not this week"

PT_SUGGEST_TITLE = "Suggest a time"
PT_SUGGEST_DATE_LABEL = "Date (YYYY-MM-DD or DD/MM/YYYY)"
PT_SUGGEST_TIME_LABEL = "Start time on the 24-hour clock, for example 14:30"
PT_SUGGEST_MENTOR_LABEL = "With"
PT_SUGGEST_SUBMIT = "Ask them"
PT_DECLINE_TITLE = "Not this week"
PT_DECLINE_REASON_LABEL = "Why not? Your clinical educator sees this, for example 'study day'"
PT_DECLINE_SUBMIT = "Send"

PT_BOOKED_STUDENT = "Your protected learning time with {mentor} is booked: {when}."
PT_BOOKED_MENTOR = "{student} has booked protected learning time with you: {when}."
PT_INVITE_ATTACHED = "A calendar invitation (.ics) follows, so that you can add the session to your calendar."
PT_INVITE = "Calendar invitation for your protected learning time, {when}."
PT_REMINDER = "Reminder: protected learning time with {other}, {when}."
PT_CHECK = "Did you meet {other} for protected learning time ({when})?"
PT_MET_YES = "Yes, we met"
PT_MET_NO = "No"
PT_SUGGESTION = "{student} suggests protected learning time with you: {when}. Does it suit you?"
PT_ACCEPT = "Accept"
PT_REJECT = "Can't make it"

PT_BOOKED_REPLY = (
    "Booked: protected learning time with {mentor}, {when}. "
    "I'm letting {mentor} know, and you'll both get a calendar invitation."
)
PT_ALREADY_BOOKED = (
    "You already have protected learning time booked this week: {when} with {mentor}. "
    "Nothing changed. If it no longer suits, tell {mentor}."
)
PT_SUGGESTED = "I've asked {mentor} whether {when} suits them. You'll hear back here."
PT_ACCEPTED = "Booked: protected learning time with {student}, {when}. You'll both get a calendar invitation and a reminder."
PT_SUGGESTION_ANSWERED = "That suggestion from {student} has already been answered, so nothing changed."
PT_REJECTED_STUDENT = "{mentor} can't make {when}. Suggest another time, or tell me it's not this week."
PT_REJECTED_MENTOR = "I've told {student} that the time doesn't suit you and asked them to suggest another."
PT_REJECTED_UNTOLD = "Noted, but I couldn't message {student}. Please tell them yourself that the time doesn't suit you."
PT_MENTOR_CANNOT = "{mentor} could not make the suggested time"
PT_DECLINED = (
    "Thank you. I've noted that it's not this week, and your clinical educator will see your reason "
    "in the weekly summary."
)
PT_DECLINE_NEEDS_REASON = (
    "Please give a reason, such as 'study day' or 'short-staffed'. Your clinical educator sees it in the weekly summary."
)
PT_MET_THANKS = "Thank you: I've recorded that you met."
PT_NOT_MET_THANKS = (
    "Thank you: I've recorded that you didn't meet. Your clinical educator will see it in the weekly summary."
)
PT_ALREADY_MET = "Thank you. It's already recorded that you met, so nothing changed."
PT_ALREADY_NOT_MET = "Thank you. It's already recorded that you didn't meet, so nothing changed."
PT_NO_AFTER_YES = "Thank you. {person} already answered that you met, so the session stays recorded as confirmed."

PT_SLOT_PASSED = "That time has already started or passed. Pick a later one, or suggest another time."
PT_SLOT_NOT_IN_WEEK = "That time isn't in the week it was offered for. Use a time from my latest message."
PT_NOT_YOUR_MENTOR = (
    "{mentor} is not your practice assessor or named practice supervisor this week, so I can't book with them. "
    "Use a time from my latest message."
)
PT_NO_MENTOR = (
    "You don't have a practice assessor or named practice supervisor yet, so there's nobody to book with. "
    "Your clinical educator will let you know once one is confirmed."
)
PT_MENTOR_ON_LEAVE = "{mentor} is on leave on {day}. Suggest another day."
PT_SUGGEST_OUTSIDE_WEEK = "{day} is outside the week of this offer. Pick a day from {monday} to {sunday}."
PT_SUGGEST_PAST = "{when} has already passed. Suggest a later time."
PT_WEEK_TAKEN = "{student} already has protected learning time booked this week, so I haven't booked this one as well."
PT_NOT_YOUR_SESSION = "That session isn't one of yours, so I've changed nothing."
PT_NOT_BOOKED = "That session isn't booked, so there's nothing to record. Book a time from my weekly message first."
PT_STUDENTS_ONLY = (
    "Protected learning time is booked by students on placement, and you are not on this ward's roster as a student."
)
PT_UNKNOWN_WARD = "Ward '{ward}' no longer exists, so I can't record that. Ask your clinical educator."
PT_BAD_WEEK = "'{week}' is not a week I can read. Use the buttons in my latest message."
PT_BAD_TIME = "'{text}' is not a time I can read. Use the 24-hour clock, for example 14:30."
PT_BAD_BUTTON = "Sorry, I couldn't read that button. Use the buttons in my latest message, or ask your clinical educator."

# The clinical educator's weekly digest of protected learning time.

DIGEST_HEADLINE = "Protected learning time, week of {week}: missed by {count} of your students."
DIGEST_ALL_MET = "Protected learning time, week of {week}: every student on your wards had their session."
DIGEST_LINE = "• *{student}* ({ward}): {reason}"
DIGEST_NOT_MET = "booked for {day}, but they did not meet"
DIGEST_NO_MENTOR = "no practice assessor or named practice supervisor yet"

# Ratings of coached shifts and protected learning time.

RATE_SHIFT = "How was your {shift} shift with {coach} as your coach?"
RATE_SESSION = "How was your protected learning time with {mentor} ({when})?"
RATE_PRIVACY = (
    "Rate it from 1 to 5. Your coach and mentors never see your rating, and your clinical educator sees "
    "only averages of 5 or more ratings."
)
RATE_SHIFT_BUTTON = "Rate this shift"
RATE_SESSION_BUTTON = "Rate this session"
RATE_SHIFT_TITLE = "Rate your shift"
RATE_SESSION_TITLE = "Rate your session"
RATE_SCORE_LABEL = "Your rating"
RATE_COMMENT_LABEL = "Anything to add? (optional)"
RATE_SUBMIT_LABEL = "Send rating"
RATE_THANKS = "Thank you: your rating is saved."
RATE_ALREADY = "Thank you. Your rating was already recorded, so nothing changed."
RATE_BAD_SCORE = "'{text}' is not a rating. Choose a whole number from 1 to 5."
RATE_STUDENTS_ONLY = "Only students on placement rate shifts and sessions, and you are not on a roster as a student."
RATE_NOT_YOURS = (
    "I can't find a session of yours that you met for, so there is nothing to rate. "
    "Rate a session once you or your mentor have answered that you met."
)

RATINGS_HEADLINE = "Ratings for {ward}"
RATINGS_SHIFTS = "Coached shifts"
RATINGS_SESSIONS = "Protected learning time"
RATINGS_AVERAGE = "{average:.1f} out of 5 from {count} ratings"
RATINGS_TOO_FEW = "{count} ratings so far, and an average is shown from {minimum}"
RATINGS_BY_MENTOR = "*{kind}* by mentor, for groups of {minimum} or more ratings"
RATINGS_PRIVACY = (
    "Only averages are shown, and only for groups of at least {minimum} ratings, so that no student can be identified."
)

# Pausing clipbot's own messages.

PAUSE_USAGE = "Tell me the last day to pause, for example 'pause until 2026-03-06' or 'pause until 06/03/2026'."
PAUSED = (
    "Paused: I won't send you anything until the end of {day}. Coach groups still appear in the ward channel. "
    "Type 'resume' to hear from me sooner."
)
PAUSE_IN_PAST = "{day} has already passed. Give today or a later date, for example 'pause until 2026-03-06'."
PAUSE_TOO_LONG = "{day} is more than {days} days away. Pause for a shorter time, or check the year."
RESUMED = "Resumed: you'll get my messages again."
NOT_PAUSED = "You weren't paused, so nothing changed."

# Calendar invitations in Microsoft Teams, which the user allows the bot to save in their OneDrive.

INVITE_FILE_DESCRIPTION = "Calendar invitation for protected learning time, {when}."
INVITE_FILE_DESCRIPTION_NO_TIME = "Calendar invitation for your protected learning time."
INVITE_SAVED = "Your calendar invitation is saved in your OneDrive. Open it to add the session to your calendar."
INVITE_DECLINED = "No calendar invitation was added. Your protected learning time is still booked."
INVITE_ALREADY_SAVED = "This calendar invitation is already saved in your OneDrive, so I haven't saved it again."
INVITE_BEING_SAVED = "I'm already saving this calendar invitation. It will appear here shortly."
INVITE_UNAVAILABLE = (
    "This calendar invitation has expired or is no longer available, so nothing was saved. "
    "Your protected learning time booking hasn't changed."
)
INVITE_NOT_SAVED = (
    "I couldn't save the calendar invitation in your OneDrive, so nothing was added. "
    "Your protected learning time is still booked. Press Allow on the card again to try once more."
)
