"""The planner: keys, due times and not_after for weeks across both 2026 clock changes, and the digest."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import pytest

from clipbot.bot.serialise import reply_from_json
from clipbot.domain.protected_time import ProtectedTimePolicy
from clipbot.domain.roles import Role, RoleAssignment
from clipbot.domain.roster import Roster
from clipbot.domain.shifts import Leave
from clipbot.storage.outbox import NewMessage, RecipientKind
from clipbot.storage.workflows import ProtectedSession, SessionState
from clipbot.workflows import protected as pt
from clipbot.workflows.planner import INVITE_KEY, PlannerSettings, plan
from workflow_ward import MARCH_MONDAY, OCTOBER_MONDAY, local, ward_roster

WEEK_13 = "2026-W13"


def _plan(roster: Roster | Sequence[Roster], now: datetime, horizon: timedelta = timedelta(days=8), *,
          sessions: Sequence[ProtectedSession] = (), settings: PlannerSettings | None = None) -> dict[str, NewMessage]:
    rosters = [roster] if isinstance(roster, Roster) else list(roster)
    assigned = [item for each in rosters for item in each.assignments]
    planned = plan(roster, assigned, now, horizon, sessions=sessions, settings=settings)
    return {message.idempotency_key: message for message in planned}


def _session(state: SessionState, start: datetime, *, session_id: int = 7, student: str = "S1",
             mentor: str | None = "PA1", decided_by: str = "S1", reason: str | None = None,
             booked_at: datetime | None = None) -> ProtectedSession:
    created = booked_at or local(MARCH_MONDAY, 8, 0)
    return ProtectedSession(
        id=session_id, student=student, mentor=mentor, ward="4-north", iso_week=WEEK_13,
        shift_key=f"{start.date().isoformat()} Early", starts_at=start.astimezone(UTC),
        ends_at=(start + timedelta(hours=1)).astimezone(UTC), state=state, reason=reason, decided_by=decided_by,
        created_at=created, updated_at=created,
    )


def test_coach_posts_before_shift_across_spring_change() -> None:
    planned = _plan(ward_roster(MARCH_MONDAY), local(MARCH_MONDAY, 0, 0))

    before = planned["coach-post:4-north:2026-03-23 Early"]
    after = planned["coach-post:4-north:2026-03-30 Early"]
    assert before.due_at == local(MARCH_MONDAY, 6, 0)
    assert before.due_at.astimezone(UTC).hour == 6
    assert after.due_at == local(date(2026, 3, 30), 6, 0)
    assert after.due_at.astimezone(UTC).hour == 5
    assert after.not_after == local(date(2026, 3, 30), 14, 30)
    assert after.recipient_kind is RecipientKind.WARD
    assert after.recipient == "4-north"


def test_coach_post_lead_is_configurable() -> None:
    settings = PlannerSettings(coach_post_lead=timedelta(minutes=45))

    planned = _plan(ward_roster(MARCH_MONDAY), local(MARCH_MONDAY, 0, 0), settings=settings)

    assert planned["coach-post:4-north:2026-03-23 Early"].due_at == local(MARCH_MONDAY, 5, 45)


def test_coach_post_payload_names_groups() -> None:
    planned = _plan(ward_roster(MARCH_MONDAY), local(MARCH_MONDAY, 0, 0))

    post = reply_from_json(planned["coach-post:4-north:2026-03-23 Early"].payload)

    assert post.text == "Coach groups for the Early Mon 23 Mar 06:30-14:30 shift"


def test_offers_on_first_working_day_march() -> None:
    planned = _plan(ward_roster(MARCH_MONDAY), local(MARCH_MONDAY, 0, 0))

    assert planned["pt-offer:S1:2026-W13"].due_at == local(MARCH_MONDAY, 9, 0)
    assert planned["pt-offer:S2:2026-W13"].recipient == "S2"
    assert planned["pt-offer:S1:2026-W13"].not_after == local(date(2026, 3, 29), 23, 59) + timedelta(seconds=59)
    # The next week's offer is after the change to British Summer Time: still 09:00 local.
    assert planned["pt-offer:S1:2026-W14"].due_at.astimezone(UTC) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_nudge_wednesday_noon_by_default() -> None:
    planned = _plan(ward_roster(MARCH_MONDAY), local(MARCH_MONDAY, 0, 0))

    assert planned["pt-nudge:S1:2026-W13"].due_at == local(date(2026, 3, 25), 12, 0)


def test_nudge_day_and_time_configurable() -> None:
    settings = PlannerSettings(nudge=ProtectedTimePolicy(nudge_weekday=3, nudge_time=time(10, 30)))
    planned = _plan(ward_roster(MARCH_MONDAY), local(MARCH_MONDAY, 0, 0), settings=settings)

    assert planned["pt-nudge:S1:2026-W13"].due_at == local(date(2026, 3, 26), 10, 30)


def test_nudge_offers_only_later_slots() -> None:
    planned = _plan(ward_roster(MARCH_MONDAY), local(MARCH_MONDAY, 0, 0))

    nudge = reply_from_json(planned["pt-nudge:S1:2026-W13"].payload)

    labels = [item.label for item in nudge.buttons if item.action == pt.BOOK]
    assert labels == [
        "Book Wed 25 Mar 12:30 with Grace Obi",
        "Book Thu 26 Mar 07:30 with Grace Obi",
        "Book Fri 27 Mar 07:30 with Grace Obi",
    ]


def test_offers_and_posts_october_week() -> None:
    planned = _plan(ward_roster(OCTOBER_MONDAY), local(OCTOBER_MONDAY, 0, 0))

    assert planned["pt-offer:S1:2026-W43"].due_at.astimezone(UTC) == datetime(2026, 10, 19, 8, 0, tzinfo=UTC)
    assert planned["pt-nudge:S1:2026-W43"].due_at.astimezone(UTC) == datetime(2026, 10, 21, 11, 0, tzinfo=UTC)
    after = planned["coach-post:4-north:2026-10-26 Early"]
    assert after.due_at.astimezone(UTC) == datetime(2026, 10, 26, 6, 0, tzinfo=UTC)


def test_night_shift_post_and_rating_across_autumn_change() -> None:
    saturday = date(2026, 10, 24)
    roster = ward_roster(OCTOBER_MONDAY, student_nights=[saturday])

    planned = _plan(roster, local(saturday, 12, 0), timedelta(days=1))

    post = planned["coach-post:4-north:2026-10-24 Night"]
    assert post.due_at == local(saturday, 22, 0)
    # The night the clocks go back lasts nine hours: 21:30 to 06:30 UTC.
    assert post.not_after is not None
    assert post.not_after.astimezone(UTC) - post.due_at.astimezone(UTC) == timedelta(hours=9, minutes=30)
    rating = planned["rate-shift:S1:2026-10-24 Night"]
    assert rating.due_at.astimezone(UTC) == datetime(2026, 10, 25, 6, 30, tzinfo=UTC)
    assert rating.not_after == rating.due_at + timedelta(days=2)


def test_rating_request_after_each_coached_shift() -> None:
    planned = _plan(ward_roster(MARCH_MONDAY), local(MARCH_MONDAY, 0, 0), timedelta(days=1))

    ratings = sorted(key for key in planned if key.startswith("rate-shift:"))
    assert ratings == ["rate-shift:S1:2026-03-23 Early", "rate-shift:S2:2026-03-23 Early"]
    assert planned["rate-shift:S1:2026-03-23 Early"].due_at == local(MARCH_MONDAY, 14, 30)


def test_offer_waits_for_easter_tuesday() -> None:
    easter_monday = date(2026, 4, 6)

    planned = _plan(ward_roster(easter_monday), local(easter_monday, 0, 0))

    assert planned["pt-offer:S1:2026-W15"].due_at == local(date(2026, 4, 7), 9, 0)


def test_plan_respects_horizon_and_not_after() -> None:
    now = local(date(2026, 3, 25), 10, 0)
    horizon = timedelta(hours=6)

    planned = _plan(ward_roster(MARCH_MONDAY), now, horizon)

    assert all(message.due_at <= now + horizon for message in planned.values())
    assert all(message.not_after is None or message.not_after > now for message in planned.values())
    # The week's offer was due on Monday but is still worth sending, so a late planner still finds it.
    assert "pt-offer:S1:2026-W13" in planned
    assert "coach-post:4-north:2026-03-24 Early" not in planned


def test_plan_is_deterministic() -> None:
    roster = ward_roster(MARCH_MONDAY)
    now = local(MARCH_MONDAY, 7, 0)

    first = plan(roster, roster.assignments, now, timedelta(days=3))
    second = plan(ward_roster(MARCH_MONDAY), list(reversed(roster.assignments)), now, timedelta(days=3))

    assert first == second


def test_booked_week_gets_no_nudge() -> None:
    booked = _session(SessionState.BOOKED, local(date(2026, 3, 24), 10, 30))

    planned = _plan(ward_roster(MARCH_MONDAY), local(MARCH_MONDAY, 0, 0), sessions=[booked])

    assert "pt-nudge:S1:2026-W13" not in planned
    assert "pt-nudge:S2:2026-W13" in planned


def test_declined_week_gets_no_nudge() -> None:
    declined = ProtectedSession(
        id=3, student="S1", mentor=None, ward="4-north", iso_week=WEEK_13, shift_key=None, starts_at=None,
        ends_at=None, state=SessionState.DECLINED, reason="study day", decided_by="S1",
        created_at=local(MARCH_MONDAY, 9, 0), updated_at=local(MARCH_MONDAY, 9, 0),
    )

    planned = _plan(ward_roster(MARCH_MONDAY), local(MARCH_MONDAY, 0, 0), sessions=[declined])

    assert "pt-nudge:S1:2026-W13" not in planned


def test_student_on_leave_all_week_gets_nothing() -> None:
    roster = ward_roster(MARCH_MONDAY, leave=[Leave("S2", MARCH_MONDAY, date(2026, 3, 29))])

    planned = _plan(roster, local(MARCH_MONDAY, 0, 0), timedelta(days=5))

    assert "pt-offer:S2:2026-W13" not in planned
    assert not any(key.startswith("rate-shift:S2:") for key in planned)


def test_mentor_on_leave_not_offered_as_slot_or_coach() -> None:
    tuesday = date(2026, 3, 24)
    roster = ward_roster(MARCH_MONDAY, leave=[Leave("PA1", tuesday, tuesday)])

    planned = _plan(roster, local(MARCH_MONDAY, 0, 0))

    offer = reply_from_json(planned["pt-offer:S1:2026-W13"].payload)
    assert not any("Tue 24 Mar" in item.label for item in offer.buttons)
    post = reply_from_json(planned["coach-post:4-north:2026-03-24 Early"].payload)
    assert all("Grace Obi" not in fact.label for section in post.sections for fact in section.facts)


def test_booked_session_messages() -> None:
    booked = _session(SessionState.BOOKED, local(date(2026, 3, 24), 10, 30))

    planned = _plan(ward_roster(MARCH_MONDAY), local(MARCH_MONDAY, 8, 0), timedelta(days=3), sessions=[booked])

    assert planned["pt-booked:7:S1"].due_at == local(MARCH_MONDAY, 8, 0)
    assert planned["pt-booked:7:PA1"].recipient == "PA1"
    assert planned["pt-reminder:7:PA1"].due_at == local(date(2026, 3, 24), 9, 30)
    assert planned["pt-reminder:7:S1"].not_after == local(date(2026, 3, 24), 10, 30)
    assert planned["pt-check:7:S1"].due_at == local(date(2026, 3, 24), 12, 0)
    # The invitation is a message of its own, due with the booking, so that each is retried alone.
    assert INVITE_KEY not in planned["pt-booked:7:S1"].payload
    assert planned["pt-invite:7:S1"].due_at == planned["pt-booked:7:S1"].due_at
    # A booking made just before the session still reaches both people while it runs.
    assert planned["pt-invite:7:PA1"].not_after == local(date(2026, 3, 24), 11, 30)
    assert planned["pt-booked:7:S1"].not_after == local(date(2026, 3, 24), 11, 30)
    assert reply_from_json(planned["pt-invite:7:S1"].payload).text == (
        "Calendar invitation for your protected learning time, Tuesday 24 March, 10:30 to 11:30."
    )
    invite = base64.b64decode(planned["pt-invite:7:S1"].payload[INVITE_KEY]["base64"])
    assert b"METHOD:REQUEST" in invite
    assert b"ATTENDEE" in invite


def test_early_session_reminder_evening_before() -> None:
    booked = _session(SessionState.BOOKED, local(date(2026, 3, 24), 7, 30))

    planned = _plan(ward_roster(MARCH_MONDAY), local(MARCH_MONDAY, 8, 0), timedelta(days=3), sessions=[booked])

    assert planned["pt-reminder:7:S1"].due_at == local(MARCH_MONDAY, 20, 0)


def test_confirmed_session_asks_for_rating() -> None:
    confirmed = _session(SessionState.CONFIRMED, local(date(2026, 3, 24), 10, 30))

    planned = _plan(ward_roster(MARCH_MONDAY), local(date(2026, 3, 24), 11, 0), timedelta(hours=2), sessions=[confirmed])

    request = planned["rate-session:7"]
    assert request.recipient == "S1"
    assert request.due_at == local(date(2026, 3, 24), 11, 30)


def test_suggestion_goes_to_mentor() -> None:
    offered = _session(SessionState.OFFERED, local(date(2026, 3, 26), 10, 0), mentor="NS1")

    planned = _plan(ward_roster(MARCH_MONDAY), local(MARCH_MONDAY, 8, 0), timedelta(hours=1), sessions=[offered])

    suggestion = reply_from_json(planned["pt-suggestion:7"].payload)
    assert planned["pt-suggestion:7"].recipient == "NS1"
    assert [item.action for item in suggestion.buttons] == [pt.ACCEPT, pt.REJECT]


DIGEST_DUE = local(date(2026, 3, 30), 9, 0)


def _digest(planned: dict[str, NewMessage], educator: str = "CE1") -> str:
    reply = reply_from_json(planned[f"digest:{educator}:{WEEK_13}"].payload)
    return "\n".join([reply.text] + [section.text for section in reply.sections])


def test_digest_due_after_week_ends() -> None:
    planned = _plan(ward_roster(MARCH_MONDAY), DIGEST_DUE + timedelta(minutes=30), timedelta(0))

    assert planned[f"digest:CE1:{WEEK_13}"].due_at.astimezone(UTC) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_digest_not_planned_before_due() -> None:
    planned = _plan(ward_roster(MARCH_MONDAY), DIGEST_DUE - timedelta(minutes=1), timedelta(days=1))

    assert f"digest:CE1:{WEEK_13}" not in planned


def test_digest_lists_who_missed_and_why() -> None:
    confirmed = _session(SessionState.CONFIRMED, local(date(2026, 3, 24), 10, 30))
    declined = ProtectedSession(
        id=8, student="S2", mentor=None, ward="4-north", iso_week=WEEK_13, shift_key=None, starts_at=None,
        ends_at=None, state=SessionState.DECLINED, reason="study day", decided_by="S2",
        created_at=local(MARCH_MONDAY, 9, 0), updated_at=local(MARCH_MONDAY, 9, 0),
    )

    planned = _plan(ward_roster(MARCH_MONDAY), DIGEST_DUE, timedelta(0), sessions=[confirmed, declined])

    assert _digest(planned) == (
        "Protected learning time, week of 23 March: missed by 1 of your students.\n"
        "• *Ben Price* (4 North): not this week: study day"
    )


def test_digest_not_met_and_no_reply() -> None:
    not_met = _session(SessionState.NOT_MET, local(date(2026, 3, 24), 10, 30))

    planned = _plan(ward_roster(MARCH_MONDAY), DIGEST_DUE, timedelta(0), sessions=[not_met])

    assert _digest(planned).splitlines()[1:] == [
        "• *Amira Khan* (4 North): not this week: booked for Tue 24 Mar, but they did not meet",
        "• *Ben Price* (4 North): no reply",
    ]


def test_digest_no_shared_shift_and_unmatched() -> None:
    roster = ward_roster(MARCH_MONDAY)
    roster.duties = [duty for duty in roster.duties if duty.person != "PA2"]
    roster.assignments = [item for item in roster.assignments if item.student != "S1"]

    planned = _plan(roster, DIGEST_DUE, timedelta(0))

    assert _digest(planned).splitlines()[1:] == [
        "• *Amira Khan* (4 North): no practice assessor or named practice supervisor yet",
        "• *Ben Price* (4 North): not on shift with their assessor or supervisor that week",
    ]


def test_digest_all_met() -> None:
    sessions = [
        _session(SessionState.CONFIRMED, local(date(2026, 3, 24), 10, 30)),
        _session(SessionState.CONFIRMED, local(date(2026, 3, 25), 10, 30), session_id=9, student="S2", mentor="PA2"),
    ]

    planned = _plan(ward_roster(MARCH_MONDAY), DIGEST_DUE, timedelta(0), sessions=sessions)

    assert _digest(planned) == "Protected learning time, week of 23 March: every student on your wards had their session."


def test_digest_one_message_per_educator() -> None:
    north = ward_roster(MARCH_MONDAY)
    south = ward_roster(MARCH_MONDAY, ward="5-south", name="5 South", suffix="B")
    south.assignments.append(RoleAssignment(Role.CLINICAL_EDUCATOR, "CE2", date(2026, 1, 1), date.max, ward="5-south"))

    planned = _plan([north, south], DIGEST_DUE, timedelta(0))

    digests = sorted(key for key in planned if key.startswith("digest:"))
    assert digests == [f"digest:CE1:{WEEK_13}", f"digest:CE2:{WEEK_13}"]
    lines = _digest(planned).splitlines()
    assert lines[0] == "Protected learning time, week of 23 March: missed by 4 of your students."
    assert lines[1:] == [
        "• *Amira Khan* (4 North): no reply",
        "• *Ben Price* (4 North): no reply",
        "• *Amira Khan B* (5 South): no reply",
        "• *Ben Price B* (5 South): no reply",
    ]
    assert len(_digest(planned, "CE2").splitlines()) == 3


def test_settings_reject_negative_durations() -> None:
    with pytest.raises(ValueError, match="reminder_lead is -1 day"):
        PlannerSettings(reminder_lead=timedelta(days=-1))
