"""Slack request bodies, stored as payload files, translated into neutral events."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode

import pytest
from slack_sdk.signature import Clock, SignatureVerifier

from clipbot.bot.adapters.slack import (
    HOME_OPENED,
    event_from_slack,
    is_retry,
    render_message,
    render_modal,
    slack_user_of,
)
from clipbot.bot.events import Button, EventKind, Form, FormInput, Reply

PAYLOADS = Path(__file__).parent / "payloads"
ORGANISATION = "st-elsewhere"
SIGNING_SECRET = "signing-secret-for-tests"
NOW = 1772442400


class FixedClock(Clock):
    def now(self) -> float:
        return NOW


def raw_payload(name: str) -> str:
    return (PAYLOADS / name).read_text(encoding="utf-8")


def json_payload(name: str) -> dict[str, Any]:
    return json.loads(raw_payload(name))


def signed_headers(body: str, *, retry: int | None = None) -> dict[str, str]:
    """Build the headers Slack sends with `body`, signed with the test secret."""
    timestamp = str(NOW)
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=timestamp, body=body)
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature or ""}
    if retry is not None:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


def translate(body: Any, person: str | None = "CE1"):
    return event_from_slack(body, organisation=ORGANISATION, person=person)


def test_app_mention_strips_bot_mention():
    event = translate(json_payload("app_mention.json"))
    assert event is not None
    assert event.kind is EventKind.MESSAGE
    assert event.text == "match 6-west"
    assert event.user == "U0001"
    assert event.person == "CE1"
    assert event.platform == "slack"
    assert event.organisation == ORGANISATION
    assert event.conversation == "C0001"
    assert event.event_id == "Ev0001MENTION"


def test_mention_keeps_other_users():
    body = json_payload("app_mention.json")
    body["event"]["text"] = "<@UBOT0001> is <@U0009|ivy> on shift? <@UBOT0001|clipbot>"
    event = translate(body)
    assert event is not None
    assert event.text == "is <@U0009|ivy> on shift?"


def test_mention_without_authorizations_strips_leading():
    body = json_payload("app_mention.json")
    del body["authorizations"]
    event = translate(body)
    assert event is not None
    assert event.text == "match 6-west"


def test_direct_message_text_unescaped():
    event = translate(json_payload("message_im.json"), person="S1")
    assert event is not None
    assert event.kind is EventKind.MESSAGE
    assert event.text == "who is my assessor & supervisor?"
    assert event.user == "U0002"
    assert event.conversation == "D0001"
    assert event.event_id == "Ev0002DIRECT"


def test_direct_message_keeps_leading_user_mention():
    body = json_payload("message_im.json")
    body["event"]["text"] = "<@U0009> is my supervisor"
    del body["authorizations"]
    event = translate(body)
    assert event is not None
    assert event.text == "<@U0009> is my supervisor"


def test_unlinked_user_has_no_person():
    event = translate(json_payload("message_im.json"), person=None)
    assert event is not None
    assert event.person is None


@pytest.mark.parametrize("name", ["message_im_bot.json", "message_changed.json", "url_verification.json"])
def test_ignored_payload_files(name):
    assert translate(json_payload(name)) is None


@pytest.mark.parametrize(
    "change",
    [
        {"bot_id": "B0002"},
        {"subtype": "file_share"},
        {"user": "UBOT0001"},
        {"channel_type": "channel", "channel": "C0001"},
        {"user": None},
    ],
)
def test_ignored_direct_message_variants(change):
    body = json_payload("message_im.json")
    body["event"].update(change)
    assert translate(body) is None


def test_bot_mention_ignored():
    body = json_payload("app_mention.json")
    body["event"]["bot_id"] = "B0002"
    assert translate(body) is None


def test_home_opened_becomes_action():
    event = translate(json_payload("app_home_opened.json"), person="S1")
    assert event is not None
    assert event.kind is EventKind.ACTION
    assert event.action == HOME_OPENED
    assert event.user == "U0002"
    assert event.conversation == "D0001"
    assert event.event_id == "Ev0005HOME"


def test_messages_tab_opened_ignored():
    body = json_payload("app_home_opened.json")
    body["event"]["tab"] = "messages"
    assert translate(body) is None


def test_signed_slash_command_translates():
    body = raw_payload("slash_command.txt")
    verifier = SignatureVerifier(SIGNING_SECRET, clock=FixedClock())
    assert verifier.is_valid_request(body, signed_headers(body))

    event = translate(dict(parse_qsl(body, keep_blank_values=True)))
    assert event is not None
    assert event.kind is EventKind.MESSAGE
    assert event.text == "match 6-west"
    assert event.user == "U0001"
    assert event.conversation == "C0001"
    assert event.event_id == "command:1772442240.0001.abcdef0001"


def test_slash_command_with_list_fields():
    event = translate(parse_qs(raw_payload("slash_command.txt"), keep_blank_values=True))
    assert event is not None
    assert event.text == "match 6-west"
    assert event.user == "U0001"


def test_slash_command_text_unescaped():
    fields = dict(parse_qsl(raw_payload("slash_command.txt"), keep_blank_values=True))
    fields["text"] = "coaches A&amp;E &lt;today&gt;"
    event = translate(fields)
    assert event is not None
    assert event.text == "coaches A&E <today>"


def test_slash_command_without_text_is_empty():
    fields = dict(parse_qsl(raw_payload("slash_command.txt"), keep_blank_values=True))
    fields["text"] = ""
    event = translate(fields)
    assert event is not None
    assert event.text == ""


def test_button_press_becomes_action():
    event = translate(json_payload("block_actions.json"))
    assert event is not None
    assert event.kind is EventKind.ACTION
    assert event.action == "match.confirm"
    assert event.values == {"value": "6-west"}
    assert event.user == "U0001"
    assert event.conversation == "C0001"
    assert event.event_id == "action:U0001:1772442300.000700"


def test_button_press_in_payload_field():
    wrapped = urlencode({"payload": raw_payload("block_actions.json")})
    body = raw_payload("block_actions.json")
    event = translate(dict(parse_qsl(wrapped)))
    assert event == translate(json.loads(body))


def test_button_press_without_channel_uses_container():
    body = json_payload("block_actions.json")
    del body["channel"]
    event = translate(body)
    assert event is not None
    assert event.conversation == "C0001"


def test_select_action_value():
    body = json_payload("block_actions.json")
    body["actions"][0] = {
        "action_id": "ward.pick", "block_id": "w", "type": "static_select", "action_ts": "1772442301.0008",
        "selected_option": {"text": {"type": "plain_text", "text": "6 West"}, "value": "6-west"},
    }
    event = translate(body)
    assert event is not None
    assert event.values == {"value": "6-west"}


def test_repeated_button_maps_to_its_action():
    buttons = tuple(Button(str(score), "coach.rate", str(score)) for score in range(1, 4))
    rendered = render_message(Reply("Rate today's coaching", buttons=buttons))[0]
    elements = [element for block in rendered["blocks"] if block["type"] == "actions" for element in block["elements"]]
    for element in elements:
        body = json_payload("block_actions.json")
        body["actions"][0].update(action_id=element["action_id"], value=element["value"])
        event = translate(body)
        assert event is not None
        assert event.action == "coach.rate"
        assert event.values == {"value": element["value"]}


def test_modal_submission_becomes_action():
    event = translate(json_payload("view_submission.json"), person="S1")
    assert event is not None
    assert event.kind is EventKind.ACTION
    assert event.action == "coach.rate"
    assert event.values == {
        "rating": "4",
        "comment": "Grace explained the drug round step by step.",
        "follow_up": "",
        "context": "6-west/2026-03-02/early",
    }
    assert event.user == "U0002"
    assert event.conversation is None
    assert event.event_id == "view:V0001:1772442355.aBcDeF01"


def test_rendered_modal_submission_round_trip():
    form = Form(
        "Rate your shift", "coach.rate",
        (FormInput("rating", "Rating", choices=(("4", "4 - good"),)), FormInput("comment", "Comment", optional=True)),
        context="6-west/early",
    )
    view = render_modal(form)
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        element = block["element"]
        answer = (
            {"type": element["type"], "selected_option": element["options"][0]}
            if element["type"] == "static_select" else {"type": element["type"], "value": "Well paced."}
        )
        state[block["block_id"]] = {element["action_id"]: answer}
    body = json_payload("view_submission.json")
    body["view"].update(callback_id=view["callback_id"], private_metadata=view["private_metadata"], state={"values": state})

    event = translate(body)
    assert event is not None
    assert event.action == "coach.rate"
    assert event.values == {"rating": "4", "comment": "Well paced.", "context": "6-west/early"}


def test_modal_submission_without_metadata():
    body = json_payload("view_submission.json")
    del body["view"]["private_metadata"]
    event = translate(body)
    assert event is not None
    assert event.values["context"] == ""


def odd_bodies() -> list[Any]:
    no_actions = json_payload("block_actions.json")
    no_actions["actions"] = []
    text_actions = json_payload("block_actions.json")
    text_actions["actions"] = "match.confirm"
    no_callback = json_payload("view_submission.json")
    del no_callback["view"]["callback_id"]
    user_object = json_payload("message_im.json")
    user_object["event"]["user"] = {"id": "U0002"}
    no_event = json_payload("app_mention.json")
    del no_event["event"]
    closed = json_payload("view_submission.json")
    closed["type"] = "view_closed"
    return [
        {}, [], None, "text", {"payload": "not json"}, {"payload": "[1, 2]"}, {"type": "shortcut", "callback_id": "x"},
        no_actions, text_actions, no_callback, user_object, no_event, closed,
        {"type": "event_callback", "event": {"type": "reaction_added", "user": "U0002"}},
    ]


@pytest.mark.parametrize("body", odd_bodies())
def test_odd_bodies_become_none(body):
    assert translate(body) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("app_mention.json", ("T0001", "U0001")),
        ("message_im.json", ("T0001", "U0002")),
        ("app_home_opened.json", ("T0001", "U0002")),
        ("block_actions.json", ("T0001", "U0001")),
        ("view_submission.json", ("T0001", "U0002")),
        ("url_verification.json", None),
    ],
)
def test_slack_user_of_payload_files(name, expected):
    assert slack_user_of(json_payload(name)) == expected


def test_slack_user_of_slash_command():
    assert slack_user_of(dict(parse_qsl(raw_payload("slash_command.txt")))) == ("T0001", "U0001")


def test_slack_user_of_org_wide_interaction():
    body = json_payload("block_actions.json")
    body["team"] = None
    body["user"]["team_id"] = "T0002"
    assert slack_user_of(body) == ("T0002", "U0001")


def test_slack_user_of_without_user():
    body = json_payload("app_home_opened.json")
    del body["event"]["user"]
    assert slack_user_of(body) is None


def test_signed_retry_detected():
    body = raw_payload("message_im.json")
    headers = signed_headers(body, retry=1)
    verifier = SignatureVerifier(SIGNING_SECRET, clock=FixedClock())
    assert verifier.is_valid_request(body, headers)
    assert is_retry(headers)


def test_first_delivery_not_retry():
    assert not is_retry(signed_headers(raw_payload("message_im.json")))


@pytest.mark.parametrize(
    "headers",
    [{"x-slack-retry-num": "2"}, {"X-SLACK-RETRY-NUM": ["3"]}, {"X-Slack-Retry-Num": 1}],
)
def test_retry_header_forms(headers):
    assert is_retry(headers)


def test_empty_retry_header_not_retry():
    assert not is_retry({"X-Slack-Retry-Num": ""})


def test_message_text_never_logged(caplog):
    with caplog.at_level(logging.DEBUG, logger="clipbot"):
        for name in ("message_im.json", "message_im_bot.json", "message_changed.json"):
            translate(json_payload(name))
    assert "Ignored a Slack message event" in caplog.text
    assert "assessor" not in caplog.text
    assert "supervisor" not in caplog.text
