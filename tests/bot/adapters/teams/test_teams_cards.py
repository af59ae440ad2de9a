"""Adaptive Cards rendered from neutral replies and forms: structure, Markdown, actions and sizes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botbuilder.schema import Activity
from hypothesis import given, settings
from hypothesis import strategies as st

from clipbot.bot.adapters.teams.cards import (
    MAX_CARD_BYTES,
    card_size,
    message_activity,
    render_card,
    render_cards,
    render_form,
    to_markdown,
)
from clipbot.bot.adapters.teams.translate import event_from_activity
from clipbot.bot.events import Button, ButtonStyle, EventKind, Fact, Form, FormInput, Reply, Section

CONFIRM = Button("Confirm and notify", "match.confirm", "6-west", ButtonStyle.PRIMARY)
RATING_FORM = Form(
    title="Rate your coach for the early shift",
    action="rating.submit",
    inputs=(
        FormInput("score", "Score", choices=(("5", "5: excellent"), ("3", "3: fine"), ("1", "1: poor"))),
        FormInput("comment", "Comment", optional=True, multiline=True),
    ),
    submit_label="Send rating",
    context="E-6-west-2026-03-02",
)


def roster_reply(lines: int) -> Reply:
    """Build a ward roster reply shaped like the educator's 'roster' reply, one section per student."""
    sections = tuple(
        Section(
            f"*Student {number:03d} (S{number:03d})*, adult: assessor Registered Nurse {number:03d} "
            f"(RN{number:03d}), supervisor Registered Nurse {number + 1:03d} (RN{number + 1:03d})"
        )
        for number in range(1, lines + 1)
    )
    return Reply("6 West: 56 shifts from 2 Mar to 29 Mar 2026.", sections=sections, buttons=(CONFIRM,))


def texts_of(card: dict[str, Any]) -> list[str]:
    return [element["text"] for element in card["body"] if element["type"] == "TextBlock"]


def body_of_type(card: dict[str, Any], element_type: str) -> list[dict[str, Any]]:
    return [element for element in card["body"] if element["type"] == element_type]


def submit_activity(data: dict[str, Any]) -> Activity:
    """Build the message Teams sends when an Action.Submit with `data` is pressed in a personal chat."""
    return Activity().deserialize({
        "type": "message", "id": "1772446000001", "text": "", "value": data,
        "from": {"id": "29:1Rt6yUe2Wq9sam"}, "recipient": {"id": "28:5e7a1c90-2b3d-4f6e-8a1c-9d0b7e6f5a32"},
        "conversation": {"id": "a:1Wd5HcK9pLm3personalSam", "conversationType": "personal"},
    })


def execute_activity(verb: str, data: dict[str, Any]) -> Activity:
    """Build the invoke Teams sends when an Action.Execute with `verb` and `data` is pressed."""
    return Activity().deserialize({
        "type": "invoke", "name": "adaptiveCard/action", "id": "f:invoke-0001",
        "value": {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"},
        "from": {"id": "29:1Rt6yUe2Wq9sam"}, "recipient": {"id": "28:5e7a1c90-2b3d-4f6e-8a1c-9d0b7e6f5a32"},
        "conversation": {"id": "a:1Wd5HcK9pLm3personalSam", "conversationType": "personal"},
    })


# Card structure


def test_card_header_fields():
    card = render_card(Reply("Hello"))
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.5"


def test_card_headline_is_bold_wrapped_text():
    card = render_card(Reply("No new pairs to propose for 6 West."))
    assert card["body"][0] == {
        "type": "TextBlock", "text": "No new pairs to propose for 6 West.", "wrap": True, "weight": "Bolder",
    }


def test_card_without_buttons_has_no_actions():
    assert "actions" not in render_card(Reply("Hello"))


def test_card_section_text_is_text_block():
    card = render_card(Reply("Headline", sections=(Section("Your coach today is Grace Obi (RN1)."),)))
    assert card["body"][1] == {
        "type": "TextBlock", "text": "Your coach today is Grace Obi (RN1).", "wrap": True, "separator": True,
    }


def test_card_facts_are_fact_set():
    section = Section("Coach → students", (Fact("Grace Obi (RN1)", "Amira Khan (S1), Ben Price (S2)"),))
    card = render_card(Reply("Coach groups for the early shift", sections=(section,)))
    assert body_of_type(card, "FactSet") == [
        {"type": "FactSet", "facts": [{"title": "Grace Obi (RN1)", "value": "Amira Khan (S1), Ben Price (S2)"}]}
    ]


def test_card_facts_only_section_is_separated():
    card = render_card(Reply("Roster", sections=(Section(facts=(Fact("Students", "2"),)),)))
    assert card["body"][1]["separator"] is True


def test_card_empty_section_adds_nothing():
    card = render_card(Reply("Roster", sections=(Section(),)))
    assert len(card["body"]) == 1


def test_card_emphasis_becomes_bold():
    card = render_card(Reply("Pairs", sections=(Section("*Amira Khan (S1)*, adult: assessor *Grace Obi*"),)))
    assert texts_of(card)[1] == "**Amira Khan (S1)**, adult: assessor **Grace Obi**"


def test_card_emphasis_in_headline_and_facts():
    card = render_card(Reply("*6 West*", sections=(Section(facts=(Fact("*Coach*", "*Grace*"),)),)))
    assert texts_of(card)[0] == "**6 West**"
    assert body_of_type(card, "FactSet")[0]["facts"] == [{"title": "**Coach**", "value": "**Grace**"}]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("*a* and *b*", "**a** and **b**"),
        ("**already bold**", "**already bold**"),
        ("2 * 3 = 6", "2 * 3 = 6"),
        ("*not\nacross lines*", "*not\n\nacross lines*"),
        ("Ask me:\n• *assessor*\n• *coach*", "Ask me:\n\n• **assessor**\n\n• **coach**"),
    ],
)
def test_to_markdown(text, expected):
    assert to_markdown(text) == expected


# Buttons


def test_button_is_execute_with_submit_fallback():
    card = render_card(Reply("Proposed 2 pairs", buttons=(CONFIRM,)))
    assert card["actions"] == [{
        "type": "Action.Execute",
        "title": "Confirm and notify",
        "verb": "match.confirm",
        "data": {"action": "match.confirm", "value": "6-west"},
        "style": "positive",
        "fallback": {
            "type": "Action.Submit",
            "title": "Confirm and notify",
            "data": {"action": "match.confirm", "value": "6-west"},
            "style": "positive",
        },
    }]


@pytest.mark.parametrize(
    "style, expected", [(ButtonStyle.DEFAULT, None), (ButtonStyle.PRIMARY, "positive"), (ButtonStyle.DANGER, "destructive")]
)
def test_button_styles(style, expected):
    card = render_card(Reply("Choose", buttons=(Button("Go", "go", style=style),)))
    assert card["actions"][0].get("style") == expected


def test_buttons_keep_their_order():
    buttons = (Button("First", "one"), Button("Second", "two"), Button("Third", "three"))
    card = render_card(Reply("Choose", buttons=buttons))
    assert [action["verb"] for action in card["actions"]] == ["one", "two", "three"]


def test_button_fallback_and_execute_give_same_event():
    action = render_card(Reply("Proposed 2 pairs", buttons=(CONFIRM,)))["actions"][0]
    submitted = event_from_activity(submit_activity(action["fallback"]["data"]), organisation="o", person="CE1")
    executed = event_from_activity(execute_activity(action["verb"], action["data"]), organisation="o", person="CE1")
    assert submitted is not None
    assert executed is not None
    assert (submitted.action, dict(submitted.values)) == (executed.action, dict(executed.values))
    assert submitted.action == "match.confirm"
    assert dict(submitted.values) == {"value": "6-west"}


# Forms


def test_form_title_and_inputs():
    card = render_form(RATING_FORM)
    assert card["version"] == "1.5"
    assert texts_of(card) == ["Rate your coach for the early shift"]
    assert [element["type"] for element in card["body"][1:]] == ["Input.ChoiceSet", "Input.Text"]


def test_form_choice_set():
    choice_set = body_of_type(render_form(RATING_FORM), "Input.ChoiceSet")[0]
    assert choice_set["id"] == "score"
    assert choice_set["label"] == "Score"
    assert choice_set["choices"] == [
        {"title": "5: excellent", "value": "5"}, {"title": "3: fine", "value": "3"}, {"title": "1: poor", "value": "1"},
    ]
    assert choice_set["isRequired"] is True
    assert "Score" in choice_set["errorMessage"]


def test_form_optional_multiline_text():
    text_input = body_of_type(render_form(RATING_FORM), "Input.Text")[0]
    assert text_input == {
        "type": "Input.Text", "id": "comment", "label": "Comment", "isMultiline": True, "isRequired": False,
    }


def test_form_required_single_line_text():
    form = Form("Leave a note", "note.add", (FormInput("note", "Note"),))
    text_input = body_of_type(render_form(form), "Input.Text")[0]
    assert text_input["isMultiline"] is False
    assert text_input["isRequired"] is True
    assert text_input["errorMessage"] == "Fill in 'Note' before you submit."


def test_form_has_one_submit_execute_with_fallback():
    card = render_form(RATING_FORM)
    data = {"action": "rating.submit", "context": "E-6-west-2026-03-02"}
    assert card["actions"] == [{
        "type": "Action.Execute", "title": "Send rating", "verb": "rating.submit", "data": data, "style": "positive",
        "fallback": {"type": "Action.Submit", "title": "Send rating", "data": data, "style": "positive"},
    }]


def test_form_submission_round_trips_to_event():
    submit = render_form(RATING_FORM)["actions"][0]
    # Teams merges the input values, keyed by input id, into the action's data.
    data = {**submit["fallback"]["data"], "score": "5", "comment": "Explained every step"}
    event = event_from_activity(submit_activity(data), organisation="o", person="S1")
    assert event is not None
    assert event.kind is EventKind.ACTION
    assert event.action == "rating.submit"
    assert dict(event.values) == {"context": "E-6-west-2026-03-02", "score": "5", "comment": "Explained every step"}


@pytest.mark.parametrize("name", ["action", "context", "msteams"])
def test_form_reserved_input_name_raises(name):
    form = Form("Note", "note.add", (FormInput(name, "Note"),))
    with pytest.raises(ValueError, match=f"named '{name}'"):
        render_form(form)


def test_form_duplicate_input_name_raises():
    form = Form("Note", "note.add", (FormInput("note", "Note"), FormInput("note", "Another note")))
    with pytest.raises(ValueError, match="two inputs named 'note'"):
        render_form(form)


def test_reply_with_form_holds_inputs_and_actions():
    reply = Reply("Your early shift is over.", buttons=(Button("Not now", "rating.skip"),), form=RATING_FORM)
    card = render_card(reply)
    assert [element["type"] for element in card["body"]] == ["TextBlock", "TextBlock", "Input.ChoiceSet", "Input.Text"]
    assert [action["verb"] for action in card["actions"]] == ["rating.submit", "rating.skip"]


def test_reply_with_form_buttons_ignore_inputs():
    reply = Reply("Your early shift is over.", buttons=(Button("Not now", "rating.skip"),), form=RATING_FORM)
    skip = render_card(reply)["actions"][1]
    assert skip["associatedInputs"] == "none"
    assert skip["fallback"]["associatedInputs"] == "none"


def test_reply_without_form_buttons_have_no_input_setting():
    action = render_card(Reply("Proposed 2 pairs", buttons=(CONFIRM,)))["actions"][0]
    assert "associatedInputs" not in action


# Sizes and splitting


def test_card_size_counts_utf8_bytes():
    assert card_size({"text": "⚠ gap"}) == len('{"text": "⚠ gap"}'.encode("utf-8"))


def test_card_size_matches_serialised_card():
    card = render_card(roster_reply(5))
    assert card_size(card) == len(json.dumps(card, ensure_ascii=False).encode("utf-8"))


def test_card_limit_is_under_28_kilobytes():
    assert MAX_CARD_BYTES <= 28_000


def test_short_reply_is_one_unnumbered_card():
    reply = roster_reply(10)
    assert render_cards(reply) == [render_card(reply)]


def test_roster_300_lines_splits():
    reply = roster_reply(300)
    assert card_size(render_card(reply)) > MAX_CARD_BYTES
    assert len(render_cards(reply)) > 1


def test_roster_300_lines_under_limit():
    for card in render_cards(roster_reply(300)):
        assert card_size(card) < MAX_CARD_BYTES


def test_roster_300_lines_content_once():
    reply = roster_reply(300)
    section_texts = [text for card in render_cards(reply) for text in texts_of(card)[1:]]
    assert section_texts == [to_markdown(section.text) for section in reply.sections]


def test_roster_300_lines_numbered_headlines():
    cards = render_cards(roster_reply(300))
    headlines = [texts_of(card)[0] for card in cards]
    assert headlines == [
        f"6 West: 56 shifts from 2 Mar to 29 Mar 2026. (part {number} of {len(cards)})"
        for number in range(1, len(cards) + 1)
    ]


def test_roster_300_lines_button_last():
    cards = render_cards(roster_reply(300))
    assert all("actions" not in card for card in cards[:-1])
    assert [action["verb"] for action in cards[-1]["actions"]] == ["match.confirm"]


def test_split_reply_puts_form_on_last_card():
    reply = Reply("Rate your coaches", sections=roster_reply(300).sections, form=RATING_FORM)
    cards = render_cards(reply)
    with_inputs = [index for index, card in enumerate(cards) if body_of_type(card, "Input.ChoiceSet")]
    assert with_inputs == [len(cards) - 1]


def test_split_non_ascii_under_limit():
    sections = tuple(Section(f"⚠ Supervision gap: *Zoë Ó Briain {number}* has no coach → ask the nurse in charge") for number in range(400))
    for card in render_cards(Reply("Coach groups", sections=sections)):
        assert card_size(card) < MAX_CARD_BYTES


def test_oversize_text_section_raises_with_size_and_limit():
    reply = Reply("Roster", sections=(Section("x" * 30_000),))
    with pytest.raises(ValueError, match=rf"section of \d+ bytes .* limit is {MAX_CARD_BYTES} bytes"):
        render_cards(reply)


def test_oversize_fact_section_raises():
    facts = tuple(Fact(f"Registered Nurse {number}", f"Student {number}, Student {number + 1}") for number in range(1_000))
    reply = Reply("Coach groups", sections=(Section("Coach → students", facts),))
    with pytest.raises(ValueError, match="does not fit in one Teams card"):
        render_cards(reply)


def test_oversize_section_among_small_ones_raises():
    sections = (*roster_reply(5).sections, Section("y" * 29_000), *roster_reply(5).sections)
    with pytest.raises(ValueError, match="Split it into smaller sections"):
        render_cards(Reply("Roster", sections=sections))


def test_oversize_form_raises():
    inputs = tuple(FormInput(f"note{number}", f"Note {number} " + "z" * 200) for number in range(200))
    reply = Reply("Notes", form=Form("Write notes", "notes.add", inputs))
    with pytest.raises(ValueError, match="form and buttons"):
        render_cards(reply)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=9_000), max_size=40))
def test_split_sections_fit_and_appear_once(lengths):
    sections = tuple(Section(f"section {index} " + "w" * length) for index, length in enumerate(lengths))
    cards = render_cards(Reply("Report", sections=sections, buttons=(CONFIRM,)))
    assert all(card_size(card) < MAX_CARD_BYTES for card in cards)
    assert [text for card in cards for text in texts_of(card)[1:]] == [section.text for section in sections]
    assert sum(len(card.get("actions", [])) for card in cards) == 1


# Activities


def test_message_activity_wraps_card():
    card = render_card(Reply("Hello"))
    activity = message_activity(card)
    assert activity.type == "message"
    assert len(activity.attachments) == 1
    assert activity.attachments[0].content_type == "application/vnd.microsoft.card.adaptive"
    assert activity.attachments[0].content == card


def test_message_activity_serialises_with_wire_names():
    card = render_card(Reply("Hello"))
    serialised = message_activity(card).serialize()
    assert serialised["attachments"] == [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}]
