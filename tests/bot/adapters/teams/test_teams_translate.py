"""Teams activities, read from captured-shape JSON files, translated into neutral events and ids."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from botbuilder.schema import Activity, ConversationReference

from clipbot.bot.adapters.teams.translate import (
    TeamsIdentity,
    conversation_reference_of,
    event_from_activity,
    identity_of,
    invoke_error,
    invoke_response,
    members_added,
)
from clipbot.bot.events import Event, EventKind

ACTIVITIES = Path(__file__).parent / "activities"
SOURCE_ROOT = Path(__file__).parents[4] / "src" / "clipbot"
ORGANISATION = "st-elsewhere"
TENANT = "3f2b9c1e-7a4d-4e8b-9c6f-2d1e0a5b7c84"
BOT = "28:5e7a1c90-2b3d-4f6e-8a1c-9d0b7e6f5a32"
AMIRA = "29:1kQx7rT3wZ0bN5amira"
AMIRA_AAD = "8c1d2e3f-4a5b-4c6d-9e7f-0a1b2c3d4e5f"
SAM = "29:1Rt6yUe2Wq9sam"
SERVICE_URL = "http://127.0.0.1:9/teams/"


def activity_json(name: str) -> dict[str, Any]:
    return json.loads((ACTIVITIES / f"{name}.json").read_text(encoding="utf-8"))


def parse(body: dict[str, Any]) -> Activity:
    return Activity().deserialize(body)


def translate(body: dict[str, Any], person: str | None = "S1") -> Event | None:
    return event_from_activity(parse(body), organisation=ORGANISATION, person=person)


def mention(user_id: str, name: str, *, with_text: bool = True) -> dict[str, Any]:
    entity: dict[str, Any] = {"type": "mention", "mentioned": {"id": user_id, "name": name}}
    if with_text:
        entity["text"] = f"<at>{name}</at>"
    return entity


# Personal chat messages


def test_personal_message_becomes_message_event():
    event = translate(activity_json("personal_message"))
    assert event == Event(
        kind=EventKind.MESSAGE, platform="teams", organisation=ORGANISATION, user=AMIRA, person="S1",
        text="who is my coach today?", conversation="a:1Pz8QvN3mHx7Lc2personalAmira", event_id="1772443004123",
    )


def test_personal_message_unlinked_person_kept_as_none():
    event = translate(activity_json("personal_message"), person=None)
    assert event is not None
    assert event.person is None


def test_personal_message_text_is_stripped():
    body = activity_json("personal_message")
    body["text"] = "  roster 6-west \n"
    event = translate(body)
    assert event is not None
    assert event.text == "roster 6-west"


def test_personal_message_without_text_is_empty_message():
    body = activity_json("personal_message")
    del body["text"]
    event = translate(body)
    assert event is not None
    assert event.kind is EventKind.MESSAGE
    assert event.text == ""


def test_personal_message_with_bot_mention_loses_it():
    body = activity_json("personal_message")
    body["text"] = "<at>CLiP Bot</at> help"
    body["entities"].append(mention(BOT, "CLiP Bot"))
    event = translate(body)
    assert event is not None
    assert event.text == "help"


# Channel and group chat messages


def test_channel_mention_becomes_message_without_mention():
    event = translate(activity_json("channel_mention"))
    assert event is not None
    assert event.kind is EventKind.MESSAGE
    assert event.text == "coaches 6-west"
    assert event.user == SAM
    assert event.conversation == "19:6westWardTeam0001@thread.tacv2;messageid=1772445600456"
    assert event.event_id == "1772445600456"


def test_channel_mention_removed_whatever_bot_name():
    body = activity_json("channel_mention")
    body["entities"][0] = mention(BOT, "Ward Helper")
    body["text"] = "<at>Ward Helper</at> roster 6-west"
    event = translate(body)
    assert event is not None
    assert event.text == "roster 6-west"


def test_channel_mention_in_middle_of_text():
    body = activity_json("channel_mention")
    body["text"] = "please <at>CLiP Bot</at>   match 6-west"
    event = translate(body)
    assert event is not None
    assert event.text == "please match 6-west"


def test_channel_mention_without_entity_text_uses_mentioned_name():
    body = activity_json("channel_mention")
    body["entities"][0] = mention(BOT, "CLiP Bot", with_text=False)
    event = translate(body)
    assert event is not None
    assert event.text == "coaches 6-west"


def test_channel_other_user_mention_becomes_plain_name():
    body = activity_json("channel_mention")
    body["text"] = "<at>CLiP Bot</at> who supervises <at>Amira Khan</at>?"
    body["entities"].append(mention(AMIRA, "Amira Khan"))
    event = translate(body)
    assert event is not None
    assert event.text == "who supervises Amira Khan?"


def test_channel_message_without_mention_ignored():
    body = activity_json("channel_mention")
    body["text"] = "Handover at 14:00 today"
    body["entities"] = [entity for entity in body["entities"] if entity["type"] != "mention"]
    assert translate(body) is None


def test_channel_message_mentioning_someone_else_ignored():
    body = activity_json("channel_mention")
    body["text"] = "<at>Amira Khan</at> can you cover the late?"
    body["entities"] = [mention(AMIRA, "Amira Khan")]
    assert translate(body) is None


def test_channel_bot_name_in_text_without_entity_ignored():
    body = activity_json("channel_mention")
    body["entities"] = [mention(AMIRA, "CLiP Bot")]
    assert translate(body) is None


@pytest.mark.parametrize("with_mention", [True, False])
def test_group_chat_needs_bot_mention(with_mention):
    body = activity_json("channel_mention")
    body["conversation"] = {"id": "19:groupChatWard6@thread.v2", "conversationType": "groupChat", "isGroup": True}
    if not with_mention:
        body["entities"] = []
    event = translate(body)
    assert (event is not None) is with_mention


# Card actions: Action.Submit (message with value) and Action.Execute (invoke)


def test_action_submit_becomes_action_event():
    event = translate(activity_json("action_submit"))
    assert event == Event(
        kind=EventKind.ACTION, platform="teams", organisation=ORGANISATION, user=SAM, person="S1",
        action="match.confirm", values={"value": "6-west"}, conversation="a:1Wd5HcK9pLm3personalSam",
        event_id="1772445900789",
    )


def test_action_submit_form_values_and_context():
    body = activity_json("action_submit")
    body["value"] = {"action": "rating.submit", "context": "E-6-west-2026-03-02", "score": "4", "comment": "Kind, clear"}
    event = translate(body)
    assert event is not None
    assert event.action == "rating.submit"
    assert dict(event.values) == {"context": "E-6-west-2026-03-02", "score": "4", "comment": "Kind, clear"}


def test_action_submit_values_become_text():
    body = activity_json("action_submit")
    body["value"] = {"action": "shift.swap", "count": 3, "urgent": True, "note": None, "days": ["Mon", "Tue"]}
    event = translate(body)
    assert event is not None
    assert dict(event.values) == {"count": "3", "urgent": "true", "note": "", "days": '["Mon", "Tue"]'}


def test_action_submit_drops_teams_control_data():
    body = activity_json("action_submit")
    body["value"]["msteams"] = {"type": "messageBack", "displayText": "Confirm"}
    event = translate(body)
    assert event is not None
    assert "msteams" not in event.values


@pytest.mark.parametrize(
    "value", [{"value": "6-west"}, {"action": ""}, {"action": 7}, "match.confirm", ["match.confirm"]],
    ids=["no action", "empty action", "number action", "text value", "list value"],
)
def test_action_submit_without_action_ignored(value):
    body = activity_json("action_submit")
    body["value"] = value
    assert translate(body) is None


def test_action_execute_becomes_action_event():
    event = translate(activity_json("action_execute"))
    assert event == Event(
        kind=EventKind.ACTION, platform="teams", organisation=ORGANISATION, user=SAM, person="S1",
        action="match.confirm", values={"value": "6-west"}, conversation="a:1Wd5HcK9pLm3personalSam",
        event_id="f:3e2d1c0b-invoke-0003",
    )


def test_action_execute_verb_is_the_action():
    body = activity_json("action_execute")
    body["value"]["action"]["verb"] = "coaches.show"
    event = translate(body)
    assert event is not None
    assert event.action == "coaches.show"


def test_action_execute_form_values_and_context():
    body = activity_json("action_execute")
    body["value"]["action"]["verb"] = "rating.submit"
    body["value"]["action"]["data"] = {"action": "rating.submit", "context": "E-6-west", "score": "5"}
    event = translate(body)
    assert event is not None
    assert dict(event.values) == {"context": "E-6-west", "score": "5"}


def test_action_execute_without_data_has_no_values():
    body = activity_json("action_execute")
    del body["value"]["action"]["data"]
    event = translate(body)
    assert event is not None
    assert dict(event.values) == {}


@pytest.mark.parametrize(
    "change",
    [
        lambda value: value["action"].update(type="Action.Submit"),
        lambda value: value["action"].pop("verb"),
        lambda value: value["action"].update(data="6-west"),
        lambda value: value.pop("action"),
    ],
    ids=["not execute", "no verb", "data not object", "no action"],
)
def test_action_execute_malformed_ignored(change):
    body = activity_json("action_execute")
    change(body["value"])
    assert translate(body) is None


def test_other_invoke_ignored():
    body = activity_json("action_execute")
    body["name"] = "task/fetch"
    assert translate(body) is None


# Activities that translate to no event


@pytest.mark.parametrize("name", ["conversation_update_personal", "conversation_update_team", "bot_echo"])
def test_activity_ignored(name):
    assert translate(activity_json(name)) is None


def test_bot_own_card_action_ignored():
    body = activity_json("action_execute")
    body["from"] = {"id": BOT}
    assert translate(body) is None


def test_typing_activity_ignored():
    body = activity_json("personal_message")
    body["type"] = "typing"
    assert translate(body) is None


def test_activity_without_sender_ignored():
    body = activity_json("personal_message")
    del body["from"]
    assert translate(body) is None


# Identity and conversation references


def test_identity_of_personal_message():
    identity = identity_of(parse(activity_json("personal_message")))
    assert identity == TeamsIdentity(
        tenant_id=TENANT, user_id=AMIRA, aad_object_id=AMIRA_AAD, conversation_type="personal"
    )


def test_identity_of_channel_message():
    identity = identity_of(parse(activity_json("channel_mention")))
    assert identity.conversation_type == "channel"


def test_identity_tenant_prefers_channel_data():
    body = activity_json("personal_message")
    body["conversation"]["tenantId"] = "00000000-0000-4000-8000-000000000000"
    assert identity_of(parse(body)).tenant_id == TENANT


def test_identity_tenant_falls_back_to_conversation():
    body = activity_json("personal_message")
    del body["channelData"]
    assert identity_of(parse(body)).tenant_id == TENANT


def test_identity_without_tenant_is_none():
    body = activity_json("personal_message")
    del body["channelData"]
    del body["conversation"]["tenantId"]
    assert identity_of(parse(body)).tenant_id is None


def test_identity_without_aad_object_id_is_none():
    body = activity_json("personal_message")
    del body["from"]["aadObjectId"]
    assert identity_of(parse(body)).aad_object_id is None


def test_identity_without_sender_raises():
    body = activity_json("personal_message")
    del body["from"]
    with pytest.raises(ValueError, match="1772443004123"):
        identity_of(parse(body))


def test_conversation_reference_of_personal_install():
    reference = conversation_reference_of(parse(activity_json("conversation_update_personal")))
    assert reference == {
        "serviceUrl": SERVICE_URL,
        "channelId": "msteams",
        "conversation": {"id": "a:1Pz8QvN3mHx7Lc2personalAmira", "conversationType": "personal", "tenantId": TENANT},
        "bot": {"id": BOT, "name": "CLiP Bot"},
        "user": {"id": AMIRA, "aadObjectId": AMIRA_AAD},
    }


def test_conversation_reference_of_channel():
    reference = conversation_reference_of(parse(activity_json("channel_mention")))
    assert reference["conversation"] == {
        "id": "19:6westWardTeam0001@thread.tacv2;messageid=1772445600456",
        "conversationType": "channel",
        "isGroup": True,
        "tenantId": TENANT,
    }


def test_conversation_reference_survives_json():
    reference = conversation_reference_of(parse(activity_json("channel_mention")))
    assert json.loads(json.dumps(reference)) == reference


def test_conversation_reference_rebuilds_sdk_reference():
    reference = conversation_reference_of(parse(activity_json("personal_message")))
    rebuilt = ConversationReference().deserialize(reference)
    assert rebuilt.service_url == SERVICE_URL
    assert rebuilt.conversation.id == "a:1Pz8QvN3mHx7Lc2personalAmira"
    assert rebuilt.bot.id == BOT
    assert rebuilt.user.id == AMIRA
    assert rebuilt.channel_id == "msteams"


@pytest.mark.parametrize("field", ["serviceUrl", "conversation"])
def test_conversation_reference_needs_service_and_conversation(field):
    body = activity_json("personal_message")
    del body[field]
    with pytest.raises(ValueError, match="cannot be continued"):
        conversation_reference_of(parse(body))


@pytest.mark.parametrize("service_url", ["not a url", "ftp://smba.example/", "https://"])
def test_conversation_reference_rejects_bad_service_url(service_url):
    body = activity_json("personal_message")
    body["serviceUrl"] = service_url
    with pytest.raises(ValueError, match="not an http or https URL"):
        conversation_reference_of(parse(body))


def test_members_added_personal_skips_bot():
    added = members_added(parse(activity_json("conversation_update_personal")))
    assert added == [(AMIRA, AMIRA_AAD)]


def test_members_added_team_member():
    added = members_added(parse(activity_json("conversation_update_team")))
    assert added == [("29:1Hn4gOb8Kp2grace", "d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f70")]


def test_members_added_without_aad_object_id():
    body = activity_json("conversation_update_team")
    del body["membersAdded"][1]["aadObjectId"]
    assert members_added(parse(body)) == [("29:1Hn4gOb8Kp2grace", None)]


def test_members_added_on_message_is_empty():
    assert members_added(parse(activity_json("personal_message"))) == []


# Invoke responses


def test_invoke_response_with_card():
    card = {"type": "AdaptiveCard", "version": "1.5", "body": []}
    assert invoke_response(card, None) == {
        "statusCode": 200, "type": "application/vnd.microsoft.card.adaptive", "value": card,
    }


def test_invoke_response_with_message():
    assert invoke_response(None, "Pairs confirmed.") == {
        "statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": "Pairs confirmed.",
    }


@pytest.mark.parametrize("card, message", [(None, None), ({"type": "AdaptiveCard"}, "Done.")])
def test_invoke_response_needs_one_of_card_or_message(card, message):
    with pytest.raises(ValueError, match="exactly one"):
        invoke_response(card, message)


def test_invoke_error_bad_request():
    assert invoke_error(400, "That button is no longer valid.") == {
        "statusCode": 400,
        "type": "application/vnd.microsoft.error",
        "value": {"code": "BadRequest", "message": "That button is no longer valid."},
    }


def test_invoke_error_server_error_code():
    assert invoke_error(500, "Sorry.")["value"]["code"] == "InternalServerError"


def test_invoke_error_rejects_success_status():
    with pytest.raises(ValueError, match="200"):
        invoke_error(200, "Fine.")


# The Bot Framework SDK, with its msrest models, is imported only inside the Teams adapter package.


def test_botbuilder_imported_only_in_teams_adapter():
    teams_package = SOURCE_ROOT / "bot" / "adapters" / "teams"
    outside: list[str] = []
    for path in SOURCE_ROOT.rglob("*.py"):
        if teams_package in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            if any(name.split(".")[0] in ("botbuilder", "botframework", "msrest") for name in names):
                outside.append(str(path.relative_to(SOURCE_ROOT)))
    assert outside == []
