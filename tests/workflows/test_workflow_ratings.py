"""Ratings summaries: averages only for groups of five or more, never to mentors."""

from __future__ import annotations

from clipbot.bot.handlers import messages
from clipbot.service import WardService
from clipbot.storage.workflows import RatingSubject, RatingTotal
from clipbot.workflows.ratings import RatingRef, summarise
from clipbot.workflows.service import WorkflowService
from workflow_chat import Chat

SHIFT = RatingSubject.SHIFT


def test_four_ratings_show_no_average() -> None:
    summary = summarise("4-north", [RatingTotal(SHIFT, "PA1", 4, 18)])

    shifts = summary.overall[list(RatingSubject).index(SHIFT)]
    assert shifts.count == 4
    assert shifts.average is None
    assert summary.by_mentor == ()


def test_five_ratings_show_average() -> None:
    summary = summarise("4-north", [RatingTotal(SHIFT, "PA1", 5, 21)])

    shifts = summary.overall[list(RatingSubject).index(SHIFT)]
    assert shifts.average == 4.2
    assert [(group.mentor, group.average) for group in summary.by_mentor] == [("PA1", 4.2)]


def test_mentor_group_hidden_when_rest_is_small() -> None:
    # Showing PA1's six next to the overall nine would give away PA2's three.
    summary = summarise("4-north", [RatingTotal(SHIFT, "PA1", 6, 24), RatingTotal(SHIFT, "PA2", 3, 6)])

    assert summary.by_mentor == ()
    assert summary.overall[list(RatingSubject).index(SHIFT)].average == 30 / 9


def test_mentor_groups_shown_when_all_large() -> None:
    summary = summarise("4-north", [RatingTotal(SHIFT, "PA1", 6, 24), RatingTotal(SHIFT, "PA2", 5, 15)])

    assert [(group.mentor, group.count) for group in summary.by_mentor] == [("PA1", 6), ("PA2", 5)]


def test_smallest_group_dropped_first() -> None:
    totals = [RatingTotal(SHIFT, "PA1", 9, 36), RatingTotal(SHIFT, "PA2", 5, 20), RatingTotal(SHIFT, "NS1", 2, 4)]

    summary = summarise("4-north", totals)

    # Hiding PA2 as well leaves seven hidden ratings, enough that none can be worked out.
    assert [group.mentor for group in summary.by_mentor] == ["PA1"]


async def _rate_shifts(ward_service: WardService, count: int) -> None:
    workflows = WorkflowService.of(ward_service)
    days = ["2026-03-23", "2026-03-24", "2026-03-25", "2026-03-26", "2026-03-27"]
    for index in range(count):
        student = "S1" if index % 2 == 0 else "S2"
        shift = f"{days[index // 2]} Early"
        ref = RatingRef(SHIFT, "4-north", f"4-north/{shift}", "PA1")
        assert await workflows.rate(student, ref, "4", "fine") is True


async def test_educator_summary_below_threshold(ward_service: WardService) -> None:
    await _rate_shifts(ward_service, 4)

    educator = Chat(ward_service, "CE1")
    await educator.send("ratings 4-north")

    facts = [fact for section in educator.replies[-1].sections for fact in section.facts]
    assert educator.replies[-1].text == "Ratings for 4 North"
    assert (facts[0].label, facts[0].value) == ("Protected learning time", "0 ratings so far, and an average is shown from 5")
    assert (facts[1].label, facts[1].value) == ("Coached shifts", "4 ratings so far, and an average is shown from 5")
    assert len(facts) == 2


async def test_educator_summary_at_threshold(ward_service: WardService) -> None:
    await _rate_shifts(ward_service, 5)

    educator = Chat(ward_service, "CE1")
    await educator.send("ratings 4-north")

    facts = [fact for section in educator.replies[-1].sections for fact in section.facts]
    assert (facts[1].label, facts[1].value) == ("Coached shifts", "4.0 out of 5 from 5 ratings")
    assert (facts[2].label, facts[2].value) == ("Grace Obi", "4.0 out of 5 from 5 ratings")


async def test_mentor_cannot_see_ratings(ward_service: WardService) -> None:
    await _rate_shifts(ward_service, 5)

    answer = await Chat(ward_service, "PA1").send("ratings 4-north")

    assert answer.startswith(messages.EDUCATOR_ONLY.format(command="ratings"))
    assert "4.0" not in answer


async def test_shift_rating_by_staff_rejected(ward_service: WardService) -> None:
    ref = RatingRef(SHIFT, "4-north", "4-north/2026-03-23 Early", "PA1")

    answer = await Chat(ward_service, "PA2").send(action="rating.submit", values={"score": "5", "context": ref.encode()})

    assert answer == messages.RATE_STUDENTS_ONLY
