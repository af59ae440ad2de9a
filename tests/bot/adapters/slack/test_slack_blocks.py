"""Neutral replies and forms rendered as Block Kit, within Slack's limits."""

from __future__ import annotations

import re
from typing import Any

import pytest

from clipbot.bot.adapters.slack.blocks import (
    HOME_CUT_NOTE,
    MAX_MESSAGE_TEXT,
    action_from_id,
    render_home,
    render_message,
    render_modal,
    split_text,
)
from clipbot.bot.events import Button, ButtonStyle, Fact, Form, FormInput, Reply, Section


def section_texts(message: dict[str, Any]) -> list[str]:
    return [block["text"]["text"] for block in message["blocks"] if block["type"] == "section" and "text" in block]


def field_texts(message: dict[str, Any]) -> list[str]:
    return [
        field["text"]
        for block in message["blocks"] if block["type"] == "section"
        for field in block.get("fields", [])
    ]


def buttons_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [element for block in message["blocks"] if block["type"] == "actions" for element in block["elements"]]


def message_text_size(message: dict[str, Any]) -> int:
    button_labels = sum(len(button["text"]["text"]) for button in buttons_of(message))
    return sum(map(len, section_texts(message))) + sum(map(len, field_texts(message))) + button_labels


def roster_line(number: int) -> str:
    return (
        f"*Student {number:03d} (S{number:03d})*, adult: assessor Grace Obi (RN1), "
        f"supervisor Hugh Bell (RN2), coach on the Early shift Ivy Ross (RN3)"
    )


def test_short_reply_is_one_message():
    messages = render_message(Reply("Coach groups for the Early shift"))
    assert len(messages) == 1
    assert messages[0]["text"] == "Coach groups for the Early shift"
    assert section_texts(messages[0]) == ["Coach groups for the Early shift"]


def test_empty_reply_renders_nothing():
    assert render_message(Reply("")) == []


def test_user_text_escaped_emphasis_kept():
    reply = Reply(
        "Notes for <6 West> & A&E",
        sections=(Section("*Amira Khan* wrote <@U0001> & <!here>", (Fact("A&E <ward>", "Jo > Ben"),)),),
    )
    message = render_message(reply)[0]
    assert message["text"] == "Notes for &lt;6 West&gt; &amp; A&amp;E"
    assert section_texts(message)[1] == "*Amira Khan* wrote &lt;@U0001&gt; &amp; &lt;!here&gt;"
    assert field_texts(message) == ["*A&amp;E &lt;ward&gt;*\nJo &gt; Ben"]


def test_facts_become_fields():
    facts = (Fact("Students", "2"), Fact("Registered nurses", "4"), Fact("Healthcare assistants", "1"))
    message = render_message(Reply("6 West", sections=(Section(facts=facts),)))[0]
    assert field_texts(message) == ["*Students*\n2", "*Registered nurses*\n4", "*Healthcare assistants*\n1"]
    assert len(message["blocks"]) == 2


def test_fact_without_label_is_value_only():
    message = render_message(Reply("6 West", sections=(Section(facts=(Fact("", "Amira Khan"),)),)))[0]
    assert field_texts(message) == ["Amira Khan"]


def test_many_facts_ten_fields_per_section():
    facts = tuple(Fact(f"Coach {number}", f"Student {number}") for number in range(23))
    message = render_message(Reply("Coach groups", sections=(Section(facts=facts),)))[0]
    counts = [len(block["fields"]) for block in message["blocks"] if "fields" in block]
    assert counts == [10, 10, 3]
    assert len(field_texts(message)) == 23


def test_section_text_and_fields_share_block():
    section = Section("Coach → students", (Fact("Grace Obi", "Amira Khan, Ben Price"),))
    message = render_message(Reply("Coach groups", sections=(section,)))[0]
    block = message["blocks"][1]
    assert block["text"]["text"] == "Coach → students"
    assert block["fields"][0]["text"] == "*Grace Obi*\nAmira Khan, Ben Price"


def test_long_fact_shown_as_text_in_full():
    students = ", ".join(f"Student {number:03d}" for number in range(200))
    message = render_message(Reply("Coach groups", sections=(Section(facts=(Fact("Grace Obi", students),)),)))[0]
    assert field_texts(message) == []
    assert "".join(section_texts(message)[1:]).replace("\n", " ").count("Student") == 200
    for text in section_texts(message):
        assert len(text) <= 3000


def test_long_text_splits_on_line_breaks():
    lines = [f"Line {number:03d} " + "x" * 60 for number in range(100)]
    message = render_message(Reply("Roster", sections=(Section("\n".join(lines)),)))[0]
    chunks = section_texts(message)[1:]
    assert len(chunks) > 1
    for chunk in chunks:
        assert len(chunk) <= 3000
    assert [line for chunk in chunks for line in chunk.split("\n")] == lines


def test_long_line_splits_between_words():
    words = [f"word{number}" for number in range(1000)]
    chunks = split_text(" ".join(words), 3000)
    assert len(chunks) > 1
    assert [word for chunk in chunks for word in chunk.split(" ")] == words


def test_huge_word_cut_outside_entities():
    text = "x" + "&amp;" * 2000
    chunks = split_text(text, 3000)
    for chunk in chunks:
        assert len(chunk) <= 3000
        assert re.fullmatch(r"x?(&amp;)+", chunk)
    assert "".join(chunks) == text


def test_blank_text_makes_no_section():
    message = render_message(Reply("Roster", sections=(Section("\n \n"), Section())))[0]
    assert len(message["blocks"]) == 1


def test_long_roster_paginates_with_part_headlines():
    reply = Reply(
        "6 West: 10 shifts from 2 Mar to 6 Mar 2026.",
        sections=tuple(Section(roster_line(number)) for number in range(120)),
        buttons=(Button("Confirm and notify", "match.confirm", "6-west", ButtonStyle.PRIMARY),),
    )
    messages = render_message(reply)
    assert len(messages) == 3
    for number, message in enumerate(messages, start=1):
        headline = f"6 West: 10 shifts from 2 Mar to 6 Mar 2026. (part {number} of 3)"
        assert len(message["blocks"]) <= 50
        assert message_text_size(message) <= MAX_MESSAGE_TEXT
        assert message["text"] == headline
        assert section_texts(message)[0] == headline
        for text in section_texts(message):
            assert len(text) <= 3000

    rendered_lines = [text for message in messages for text in section_texts(message)[1:]]
    assert rendered_lines == [roster_line(number) for number in range(120)]
    assert [len(buttons_of(message)) for message in messages] == [0, 0, 1]


def test_long_roster_in_one_section_paginates_by_text():
    lines = [roster_line(number) for number in range(120)]
    messages = render_message(Reply("6 West roster", sections=(Section("\n".join(lines)),)))
    assert len(messages) > 1
    for message in messages:
        assert len(message["blocks"]) <= 50
        assert message_text_size(message) <= MAX_MESSAGE_TEXT
        for text in section_texts(message):
            assert len(text) <= 3000
    rendered_lines = [line for message in messages for text in section_texts(message)[1:] for line in text.split("\n")]
    assert rendered_lines == lines


def test_long_headline_continues_in_body():
    headline = "\n".join(f"Ward note {number:02d} " + "y" * 90 for number in range(40))
    message = render_message(Reply(headline))[0]
    texts = section_texts(message)
    assert len(texts) == 2
    assert "\n".join(texts) == headline
    assert message["text"] == texts[0]


def test_buttons_become_one_actions_block():
    buttons = (
        Button("Confirm and notify", "match.confirm", "6-west", ButtonStyle.PRIMARY),
        Button("Start again", "match.rematch", "6-west", ButtonStyle.DANGER),
        Button("Help", "help"),
    )
    message = render_message(Reply("Proposed 4 pairs", buttons=buttons))[0]
    actions = [block for block in message["blocks"] if block["type"] == "actions"]
    rendered = buttons_of(message)
    assert len(actions) == 1
    assert [button["action_id"] for button in rendered] == ["match.confirm", "match.rematch", "help"]
    assert [button.get("style") for button in rendered] == ["primary", "danger", None]
    assert [button.get("value") for button in rendered] == ["6-west", "6-west", None]
    assert rendered[0]["text"]["text"] == "Confirm and notify"


def test_more_than_25_buttons_use_more_blocks():
    buttons = tuple(Button(f"Ward {number}", f"ward.{number}") for number in range(30))
    message = render_message(Reply("Pick a ward", buttons=buttons))[0]
    sizes = [len(block["elements"]) for block in message["blocks"] if block["type"] == "actions"]
    assert sizes == [25, 5]


def test_repeated_actions_get_unique_ids():
    buttons = tuple(Button(str(score), "coach.rate", str(score)) for score in range(1, 6))
    action_ids = [button["action_id"] for button in buttons_of(render_message(Reply("Rate", buttons=buttons))[0])]
    assert len(set(action_ids)) == 5
    assert {action_from_id(action_id) for action_id in action_ids} == {"coach.rate"}


def test_long_button_label_truncated():
    label = "Confirm every proposed pair on 6 West and tell each student and mentor by message"
    text = buttons_of(render_message(Reply("Proposed", buttons=(Button(label, "match.confirm"),)))[0])[0]["text"]["text"]
    assert len(text) <= 75
    assert text.endswith("by…")


def test_button_limits_raise_value_error():
    with pytest.raises(ValueError, match="value of 2001 characters"):
        render_message(Reply("Proposed", buttons=(Button("Confirm", "match.confirm", "v" * 2001),)))
    with pytest.raises(ValueError, match="action name of 256 characters"):
        render_message(Reply("Proposed", buttons=(Button("Confirm", "a" * 256),)))
    with pytest.raises(ValueError, match="repeat marker"):
        render_message(Reply("Proposed", buttons=(Button("Confirm", "match~2"),)))


def rating_form(**changes: Any) -> Form:
    fields: dict[str, Any] = {
        "title": "Rate your shift",
        "action": "coach.rate",
        "inputs": (
            FormInput("rating", "How was your coaching today?", choices=(("4", "4 - good"), ("5", "5 - excellent"))),
            FormInput("comment", "Anything to add?", optional=True, multiline=True),
        ),
        "submit_label": "Send",
        "context": "6-west/2026-03-02/early",
    }
    fields.update(changes)
    return Form(**fields)


def test_modal_carries_action_and_context():
    view = render_modal(rating_form())
    assert view["type"] == "modal"
    assert view["callback_id"] == "coach.rate"
    assert view["private_metadata"] == "6-west/2026-03-02/early"
    assert view["title"]["text"] == "Rate your shift"
    assert view["submit"]["text"] == "Send"
    assert view["close"]["text"] == "Cancel"


def test_modal_inputs_select_and_text():
    rating, comment = render_modal(rating_form())["blocks"]
    assert rating["block_id"] == "rating"
    assert rating["element"]["type"] == "static_select"
    assert rating["element"]["action_id"] == "rating"
    assert [option["value"] for option in rating["element"]["options"]] == ["4", "5"]
    assert rating["element"]["options"][0]["text"]["text"] == "4 - good"
    assert rating.get("optional") is False
    assert comment["element"]["type"] == "plain_text_input"
    assert comment["element"]["multiline"] is True
    assert comment["optional"] is True


def test_modal_title_truncated_to_24():
    title = render_modal(rating_form(title="Rate your coaching on the Early shift"))["title"]["text"]
    assert len(title) == 24
    assert title.endswith("…")


def test_modal_context_limit_names_length():
    assert render_modal(rating_form(context="c" * 3000))["private_metadata"] == "c" * 3000
    with pytest.raises(ValueError, match="3,001 characters"):
        render_modal(rating_form(context="c" * 3001))


def test_modal_block_limit_raises():
    inputs = tuple(FormInput(f"note{number}", f"Note {number}") for number in range(101))
    assert len(render_modal(rating_form(inputs=inputs[:100]))["blocks"]) == 100
    with pytest.raises(ValueError, match="101 inputs"):
        render_modal(rating_form(inputs=inputs))


def test_modal_choice_limits():
    choices = tuple((f"S{number}", f"Student {number}") for number in range(101))
    with pytest.raises(ValueError, match="101 choices"):
        render_modal(rating_form(inputs=(FormInput("student", "Student", choices=choices),)))
    with pytest.raises(ValueError, match="value of 151 characters"):
        render_modal(rating_form(inputs=(FormInput("student", "Student", choices=(("s" * 151, "Amira"),)),)))
    label = render_modal(rating_form(inputs=(FormInput("student", "Student", choices=(("S1", "A" * 80),)),)))
    assert len(label["blocks"][0]["element"]["options"][0]["text"]["text"]) == 75


def test_modal_rejects_bad_inputs():
    with pytest.raises(ValueError, match="2 inputs named 'rating'"):
        render_modal(rating_form(inputs=(FormInput("rating", "A"), FormInput("rating", "B"))))
    with pytest.raises(ValueError, match="named 'context'"):
        render_modal(rating_form(inputs=(FormInput("context", "Context"),)))
    with pytest.raises(ValueError, match="no inputs"):
        render_modal(rating_form(inputs=()))
    with pytest.raises(ValueError, match="no title"):
        render_modal(rating_form(title=" "))


def test_modal_without_context_has_no_metadata():
    assert "private_metadata" not in render_modal(rating_form(context=""))


def test_home_view_renders_reply():
    reply = Reply(
        "Your placement on 6 West",
        sections=(Section("Your practice assessor is Grace Obi (RN1)."),),
        buttons=(Button("Rate today's coaching", "coach.rate.open"),),
    )
    view = render_home(reply)
    assert view["type"] == "home"
    assert [block["type"] for block in view["blocks"]] == ["section", "section", "actions"]
    assert "submit" not in view


def test_home_view_cut_to_100_blocks():
    reply = Reply(
        "Students on 6 West",
        sections=tuple(Section(roster_line(number)) for number in range(150)),
        buttons=(Button("Refresh", "home.refresh"),),
    )
    blocks = render_home(reply)["blocks"]
    assert len(blocks) == 100
    assert blocks[0]["text"]["text"] == "Students on 6 West"
    assert blocks[-2]["text"]["text"] == HOME_CUT_NOTE
    assert blocks[-1]["type"] == "actions"
    assert blocks[-3]["text"]["text"] == roster_line(96)


def test_empty_home_view_raises():
    with pytest.raises(ValueError, match="no text, sections or buttons"):
        render_home(Reply(""))
