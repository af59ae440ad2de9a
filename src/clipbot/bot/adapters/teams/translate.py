"""Translation of Bot Framework activities from Microsoft Teams into neutral events.

Pure functions with no I/O: the server wiring authenticates each activity, calls these, and sends
what they return. Activities arrive as `botbuilder.schema.Activity` objects; everything returned is
either a neutral type or plain JSON-serialisable data.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from botbuilder.schema import Activity, ActivityTypes, ChannelAccount
from msrest.serialization import Model

from clipbot.bot.adapters.teams.cards import CARD_CONTENT_TYPE
from clipbot.bot.events import Event, EventKind

logger = logging.getLogger(__name__)

PLATFORM = "teams"
ADAPTIVE_CARD_ACTION = "adaptiveCard/action"
EXECUTE_ACTION_TYPE = "Action.Execute"
MESSAGE_CONTENT_TYPE = "application/vnd.microsoft.activity.message"
ERROR_CONTENT_TYPE = "application/vnd.microsoft.error"
PERSONAL = "personal"

# Keys of card data that are routing or Teams control fields, never form values.
_RESERVED_DATA_KEYS = frozenset({"action", "msteams"})
_SPACE_RUN = re.compile(r"[ \t\u00a0]{2,}")
_AT_TAG = re.compile(r"</?at>", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class TeamsIdentity:
    """The sender of an activity in Teams terms: the ids that link a Teams user to a roster person.

    `tenant_id` is the Microsoft Entra tenant (the organisation's directory). `user_id` is the
    bot-specific `29:` id. `aad_object_id` is the user's stable Entra object id, when Teams sends it.
    """

    tenant_id: str | None
    user_id: str
    aad_object_id: str | None
    conversation_type: str | None


def event_from_activity(activity: Activity, *, organisation: str, person: str | None) -> Event | None:
    """Translate one Teams activity into a neutral event, or return None when the bot should not act.

    None is returned for the bot's own messages, channel and group chat messages that do not
    mention the bot, conversationUpdate and other activity types, and card actions whose value
    is not in the shape clipbot's cards send. An `adaptiveCard/action` invoke that returns None
    still needs an HTTP response: the wiring should send `invoke_error(400, ...)` for it.
    """
    sender = _account_id(activity.from_property)
    if sender is None:
        logger.info("Ignored %s activity %s: it has no sender id.", activity.type, activity.id)
        return None
    if sender == _account_id(activity.recipient):
        return None

    if activity.type == ActivityTypes.message:
        if activity.value is not None:
            return _event_from_submit(activity, sender, organisation=organisation, person=person)
        return _event_from_message(activity, sender, organisation=organisation, person=person)
    if activity.type == ActivityTypes.invoke and activity.name == ADAPTIVE_CARD_ACTION:
        return _event_from_execute(activity, sender, organisation=organisation, person=person)
    return None


def _event_from_message(activity: Activity, sender: str, *, organisation: str, person: str | None) -> Event | None:
    text = activity.text or ""
    bot_id = _account_id(activity.recipient)
    mentions = _mentions(activity)
    bot_mentions = [mention for mention in mentions if bot_id is not None and _mentioned_id(mention) == bot_id]

    # Outside a personal chat the bot acts only on messages that @mention it. A message without
    # conversation.conversationType is treated as a personal chat.
    if _conversation_type(activity) not in (None, PERSONAL) and not bot_mentions:
        return None

    for mention in bot_mentions:
        text = text.replace(_mention_markup(mention), " ")
    for mention in mentions:
        if mention not in bot_mentions:
            markup = _mention_markup(mention)
            text = text.replace(markup, _AT_TAG.sub("", markup))

    return Event(
        kind=EventKind.MESSAGE, platform=PLATFORM, organisation=organisation, user=sender, person=person,
        text=_SPACE_RUN.sub(" ", text).strip(), conversation=_conversation_id(activity), event_id=activity.id,
    )


def _event_from_submit(activity: Activity, sender: str, *, organisation: str, person: str | None) -> Event | None:
    """Translate an Action.Submit message: `value` is the action's data merged with the card's inputs."""
    value = activity.value
    action = value.get("action") if isinstance(value, Mapping) else None
    if not isinstance(action, str) or not action:
        logger.info(
            "Ignored card submission %s in conversation %s: its value has no 'action' text.",
            activity.id, _conversation_id(activity),
        )
        return None
    return Event(
        kind=EventKind.ACTION, platform=PLATFORM, organisation=organisation, user=sender, person=person,
        action=action, values=_values_as_text(value), conversation=_conversation_id(activity),
        event_id=activity.id,
    )


def _event_from_execute(activity: Activity, sender: str, *, organisation: str, person: str | None) -> Event | None:
    """Translate an Action.Execute invoke: `value.action.data` is the data merged with the card's inputs."""
    value = activity.value if isinstance(activity.value, Mapping) else {}
    action = value.get("action")
    if not isinstance(action, Mapping) or action.get("type") != EXECUTE_ACTION_TYPE:
        logger.info(
            "Ignored invoke %s in conversation %s: its value has no Action.Execute action.",
            activity.id, _conversation_id(activity),
        )
        return None

    verb = action.get("verb")
    data = action.get("data") or {}
    if not isinstance(verb, str) or not verb or not isinstance(data, Mapping):
        logger.info(
            "Ignored invoke %s in conversation %s: its Action.Execute has no verb or its data is not an object.",
            activity.id, _conversation_id(activity),
        )
        return None
    return Event(
        kind=EventKind.ACTION, platform=PLATFORM, organisation=organisation, user=sender, person=person,
        action=verb, values=_values_as_text(data), conversation=_conversation_id(activity),
        event_id=activity.id,
    )


def _values_as_text(data: Mapping[Any, Any]) -> dict[str, str]:
    """Turn card data into text values: Adaptive Card inputs send strings, hand-made data may not."""
    values: dict[str, str] = {}
    for key, value in data.items():
        if str(key) in _RESERVED_DATA_KEYS:
            continue
        if value is None:
            values[str(key)] = ""
        elif isinstance(value, str):
            values[str(key)] = value
        else:
            # JSON spelling keeps booleans as Input.Toggle sends them ("true"), not Python's "True".
            values[str(key)] = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return values


def identity_of(activity: Activity) -> TeamsIdentity:
    """Read the sender's tenant and ids; raise ValueError if the activity has no sender id."""
    sender = _account_id(activity.from_property)
    if sender is None:
        raise ValueError(f"Activity {activity.id} has no from.id, so its sender cannot be identified.")
    return TeamsIdentity(
        tenant_id=_tenant_id(activity),
        user_id=sender,
        aad_object_id=activity.from_property.aad_object_id or None,
        conversation_type=_conversation_type(activity),
    )


def conversation_reference_of(activity: Activity) -> dict[str, Any]:
    """Build the JSON-serialisable reference needed to message this conversation later.

    The dict uses the Bot Framework ConversationReference wire names, so
    `ConversationReference().deserialize(reference)` rebuilds it. botbuilder-schema 4.17 maps
    `ConversationAccount.tenant_id` to "tenantID", so the "tenantId" sent here lands in the rebuilt
    account's `additional_properties`. Raises ValueError when the activity lacks the conversation id
    or an http(s) service URL, because no message could be sent without them.
    """
    conversation_id = _conversation_id(activity)
    if not activity.service_url or conversation_id is None:
        raise ValueError(
            f"Activity {activity.id} has no serviceUrl or conversation.id, so the conversation cannot be "
            f"continued later. Store the reference from an activity that has both."
        )
    service_url = urlsplit(activity.service_url)
    if service_url.scheme not in ("https", "http") or not service_url.hostname:
        # Every later send to this conversation would fail, so it is better not stored at all.
        raise ValueError(
            f"Activity {activity.id} has a serviceUrl that is not an http or https URL, so the conversation "
            f"cannot be continued later. Store the reference from an activity that Teams sent."
        )

    conversation = {
        "id": conversation_id,
        "conversationType": _conversation_type(activity),
        "isGroup": activity.conversation.is_group,
        "tenantId": _tenant_id(activity),
    }
    reference = {
        "serviceUrl": activity.service_url,
        "channelId": activity.channel_id,
        "conversation": _without_none(conversation),
        "bot": _account_dict(activity.recipient),
        "user": _account_dict(activity.from_property),
        "locale": activity.locale,
    }
    return _without_none(reference)


def members_added(activity: Activity) -> list[tuple[str, str | None]]:
    """Return (user id, Entra object id) for each member a conversationUpdate added, except the bot."""
    bot_id = _account_id(activity.recipient)
    added: list[tuple[str, str | None]] = []
    for member in activity.members_added or []:
        member_id = _account_id(member)
        if member_id is None or member_id == bot_id:
            continue
        added.append((member_id, member.aad_object_id or None))
    return added


def invoke_response(card: Mapping[str, Any] | None = None, message: str | None = None) -> dict[str, Any]:
    """Build the body of a successful `adaptiveCard/action` invoke response.

    Pass exactly one of `card`, which replaces the clicked card for this user, or `message`, which
    Teams shows as a short notice. The wiring sends the dict as the HTTP 200 response body.
    """
    if (card is None) == (message is None):
        raise ValueError("invoke_response needs exactly one of card or message; pass the new card or a short notice.")
    if card is not None:
        return {"statusCode": HTTPStatus.OK.value, "type": CARD_CONTENT_TYPE, "value": dict(card)}
    return {"statusCode": HTTPStatus.OK.value, "type": MESSAGE_CONTENT_TYPE, "value": message}


def invoke_error(code: int, message: str) -> dict[str, Any]:
    """Build the body of a failed `adaptiveCard/action` invoke response for HTTP status `code` (400-599)."""
    if not 400 <= code <= 599:
        raise ValueError(f"Invoke error status {code} is not an HTTP error status; use a code from 400 to 599.")
    try:
        error_code = "".join(character for character in HTTPStatus(code).phrase if character.isalnum())
    except ValueError:
        error_code = "Error"
    return {"statusCode": code, "type": ERROR_CONTENT_TYPE, "value": {"code": error_code, "message": message}}


def _account_id(account: ChannelAccount | None) -> str | None:
    if account is None or not account.id:
        return None
    return account.id


def _account_dict(account: ChannelAccount | None) -> dict[str, Any] | None:
    if account is None:
        return None
    return _without_none({"id": account.id, "name": account.name, "aadObjectId": account.aad_object_id}) or None


def _conversation_id(activity: Activity) -> str | None:
    return activity.conversation.id if activity.conversation is not None and activity.conversation.id else None


def _conversation_type(activity: Activity) -> str | None:
    return activity.conversation.conversation_type if activity.conversation is not None else None


def _tenant_id(activity: Activity) -> str | None:
    """Read the tenant from channelData.tenant.id, falling back to conversation.tenantId."""
    tenant = _as_dict(activity.channel_data).get("tenant")
    if isinstance(tenant, Mapping) and isinstance(tenant.get("id"), str) and tenant["id"]:
        return tenant["id"]

    conversation = activity.conversation
    if conversation is None:
        return None
    # botbuilder-schema 4.17 deserialises Teams' "tenantId" into additional_properties, not tenant_id.
    extra = conversation.additional_properties or {}
    return conversation.tenant_id or extra.get("tenantId") or None


def _mentions(activity: Activity) -> list[dict[str, Any]]:
    mentions = []
    for entity in activity.entities or []:
        entity_data = _as_dict(entity)
        if str(entity_data.get("type", "")).casefold() == "mention":
            mentions.append(entity_data)
    return mentions


def _mentioned_id(mention: Mapping[str, Any]) -> str | None:
    mentioned = mention.get("mentioned")
    return mentioned.get("id") if isinstance(mentioned, Mapping) else None


def _mention_markup(mention: Mapping[str, Any]) -> str:
    """Return the text a mention occupies in the message, `<at>Name</at>` when the entity omits it."""
    markup = mention.get("text")
    if isinstance(markup, str) and markup:
        return markup
    mentioned = mention.get("mentioned")
    name = mentioned.get("name") if isinstance(mentioned, Mapping) else None
    return f"<at>{name}</at>" if name else "<at></at>"


def _as_dict(value: object) -> dict[str, Any]:
    """Return a model or mapping as a dict with the wire (camelCase) keys.

    A deserialised model keeps unknown fields (a mention entity's `mentioned` and `text`) only in
    `additional_properties`, which msrest's serialize() leaves out, so both are merged here.
    """
    if isinstance(value, Model):
        extra = getattr(value, "additional_properties", None) or {}
        return {**extra, **value.serialize(keep_readonly=True)}
    if isinstance(value, Mapping):
        return dict(value)
    return {}


def _without_none(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if value is not None}
