"""Reply payloads for the outbox: a lossless round trip through JSON, and clear errors for bad payloads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clipbot.bot.events import Button, ButtonStyle, Fact, Form, FormInput, Reply, Section
from clipbot.bot.serialise import PAYLOAD_VERSION, InvalidPayloadError, reply_from_json, reply_to_json

FULL_REPLY = Reply(
    text="Rate your coach for the early shift",
    sections=(
        Section("Ward 12, *Monday* 7 September", (Fact("Coach", "Sam Okafor"), Fact("Students", "Asha, Ben"))),
        Section(),
    ),
    buttons=(
        Button("Rate now", "rating.open", "W12:2026-09-07:E", ButtonStyle.PRIMARY),
        Button("Not this shift", "rating.skip"),
    ),
    form=Form(
        title="Coach rating",
        action="rating.submit",
        inputs=(
            FormInput("score", "How supported did you feel?", (("5", "Very"), ("1", "Not at all"))),
            FormInput("comment", "Anything else?", optional=True, multiline=True),
        ),
        submit_label="Send rating",
        context="W12:2026-09-07:E",
    ),
)

texts = st.text(max_size=30)
sections = st.builds(Section, texts, st.lists(st.builds(Fact, texts, texts), max_size=3).map(tuple))
buttons = st.builds(Button, texts, texts, texts, st.sampled_from(ButtonStyle))
inputs = st.builds(
    FormInput, texts, texts, st.lists(st.tuples(texts, texts), max_size=3).map(tuple), st.booleans(), st.booleans()
)
forms = st.builds(Form, texts, texts, st.lists(inputs, max_size=3).map(tuple), texts, texts)
replies = st.builds(
    Reply,
    texts,
    st.lists(sections, max_size=3).map(tuple),
    st.lists(buttons, max_size=3).map(tuple),
    st.none() | forms,
)


def through_json(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data))


def test_full_reply_round_trip() -> None:
    assert reply_from_json(through_json(reply_to_json(FULL_REPLY))) == FULL_REPLY


def test_plain_reply_round_trip() -> None:
    reply = Reply("Protected learning time is booked for Wednesday 14:00")

    assert reply_from_json(through_json(reply_to_json(reply))) == reply


@given(replies)
def test_any_reply_round_trip(reply: Reply) -> None:
    assert reply_from_json(through_json(reply_to_json(reply))) == reply


def test_extra_keys_ignored() -> None:
    data = reply_to_json(FULL_REPLY)
    data["workflow"] = {"session": 12}

    assert reply_from_json(through_json(data)) == FULL_REPLY


def test_payload_layout() -> None:
    data = reply_to_json(FULL_REPLY)

    assert data["version"] == PAYLOAD_VERSION
    assert data["buttons"][0]["style"] == "primary"
    assert data["form"]["inputs"][0]["choices"] == [["5", "Very"], ["1", "Not at all"]]


def mutated(change: Any) -> dict[str, Any]:
    data = through_json(reply_to_json(FULL_REPLY))
    change(data)
    return data


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (["not", "a", "dict"], "payload must be an object, not list"),
        (mutated(lambda data: data.update(version=2)), "version 2"),
        (mutated(lambda data: data.pop("version")), "version None"),
        (mutated(lambda data: data.pop("text")), "field text is missing"),
        (mutated(lambda data: data.update(text=5)), "field text must be text, not int"),
        (mutated(lambda data: data.pop("form")), "field form is missing"),
        (mutated(lambda data: data.update(sections={})), "field sections must be a list, not dict"),
        (
            mutated(lambda data: data["sections"][0]["facts"].append("Coach")),
            r"sections\[0\].facts\[2\] must be an object, not str",
        ),
        (mutated(lambda data: data["buttons"][1].update(style="loud")), r"buttons\[1\].style is 'loud'"),
        (
            mutated(lambda data: data["form"]["inputs"][0]["choices"].append(["5"])),
            r"choices\[2\] must be a \[value, label\] pair",
        ),
        (
            mutated(lambda data: data["form"]["inputs"][1].update(optional="yes")),
            "optional must be true or false, not str",
        ),
    ],
)
def test_invalid_payload_rejected(data: Any, expected: str) -> None:
    with pytest.raises(InvalidPayloadError, match=expected):
        reply_from_json(data)
