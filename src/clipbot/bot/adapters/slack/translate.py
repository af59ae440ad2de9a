"""Translate Slack request bodies into neutral events.

Pure functions: the caller has already checked the request signature and parsed the body, either
the Events API's JSON or the form fields of a slash command or an interaction. Interaction bodies
may still be wrapped in their form field `payload`, which is unwrapped here. Anything this module
does not recognise becomes None rather than an error, and message text is never logged.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from clipbot.bot.adapters.slack.blocks import action_from_id
from clipbot.bot.events import Event, EventKind

logger = logging.getLogger(__name__)

PLATFORM = "slack"
HOME_OPENED = "home.opened"
RETRY_HEADER = "x-slack-retry-num"

# A user mention as Slack writes it in message text: <@U0123> or <@U0123|name>.
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_LEADING_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>")
_SPACES = re.compile(r"[ \t]{2,}")

# Keys of an interactive element's state that hold its chosen value, in the order they are tried.
_SELECTED_KEYS = ("selected_date", "selected_time", "selected_user", "selected_channel", "selected_conversation")
_INTERACTION_TYPES = ("block_actions", "view_submission", "view_closed", "shortcut", "message_action")


def _string(value: Any) -> str:
    """Return a form field or JSON value as text; a parsed form may hold a list of values."""
    if isinstance(value, Sequence) and not isinstance(value, str) and value:
        value = value[0]
    return value if isinstance(value, str) else ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _unwrap(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return the interaction JSON inside a `payload` form field, or the body itself."""
    if "type" in body or "payload" not in body:
        return body
    try:
        payload = json.loads(_string(body["payload"]))
    except ValueError:
        logger.debug("Ignored a Slack interaction whose payload field is not JSON.")
        return {}
    return _mapping(payload)


def _unescape(text: str) -> str:
    """Undo Slack's escaping of `&`, `<` and `>` in text that users typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _bot_users(envelope: Mapping[str, Any]) -> set[str]:
    authorizations = envelope.get("authorizations")
    if not isinstance(authorizations, Sequence) or isinstance(authorizations, str):
        return set()
    return {
        _string(_mapping(item).get("user_id"))
        for item in authorizations
        if _mapping(item).get("is_bot") and _string(_mapping(item).get("user_id"))
    }


def _strip_mentions(text: str, bot_users: set[str], *, mentioned: bool) -> str:
    """Remove the bot's own mentions from typed text and undo Slack's escaping.

    Without the bot's user id, a leading mention is taken to be the bot's when the text is known to
    mention it (`mentioned`, as in an app_mention).
    """
    if bot_users:
        text = _MENTION.sub(lambda match: "" if match.group(1) in bot_users else match.group(0), text)
    elif mentioned:
        text = _LEADING_MENTION.sub("", text)
    return _SPACES.sub(" ", _unescape(text)).strip()


def _chosen_value(state: Mapping[str, Any]) -> str:
    """Return the value of a button press or of one input's state; empty when nothing was chosen."""
    if isinstance(state.get("value"), str):
        return state["value"]
    option = _mapping(state.get("selected_option"))
    if option:
        return _string(option.get("value"))
    for key in _SELECTED_KEYS:
        if isinstance(state.get(key), str):
            return state[key]
    return ""


def _from_event_callback(envelope: Mapping[str, Any], organisation: str, person: str | None) -> Event | None:
    event = _mapping(envelope.get("event"))
    event_type = _string(event.get("type"))
    user = _string(event.get("user"))
    bot_users = _bot_users(envelope)

    # Bots' posts, including our own, and edits or deletions are ignored, so the bot never replies to them.
    if not user or event.get("bot_id") or event.get("subtype") or user in bot_users:
        logger.debug("Ignored a Slack %s event that is not a person's new message.", event_type or "untyped")
        return None

    common: dict[str, Any] = {
        "platform": PLATFORM,
        "organisation": organisation,
        "user": user,
        "person": person,
        "conversation": _string(event.get("channel")) or None,
        "event_id": _string(envelope.get("event_id")) or None,
    }
    text = _string(event.get("text"))
    if event_type == "app_mention":
        return Event(kind=EventKind.MESSAGE, text=_strip_mentions(text, bot_users, mentioned=True), **common)
    if event_type == "message" and event.get("channel_type") == "im":
        return Event(kind=EventKind.MESSAGE, text=_strip_mentions(text, bot_users, mentioned=False), **common)
    if event_type == "app_home_opened" and _string(event.get("tab")) in ("home", ""):
        return Event(kind=EventKind.ACTION, action=HOME_OPENED, **common)

    logger.debug("Ignored a Slack %s event.", event_type or "untyped")
    return None


def _from_slash_command(form: Mapping[str, Any], organisation: str, person: str | None) -> Event | None:
    user = _string(form.get("user_id"))
    if not user:
        return None
    trigger_id = _string(form.get("trigger_id"))
    return Event(
        kind=EventKind.MESSAGE,
        platform=PLATFORM,
        organisation=organisation,
        user=user,
        person=person,
        text=_unescape(_string(form.get("text"))).strip(),
        conversation=_string(form.get("channel_id")) or None,
        event_id=f"command:{trigger_id}" if trigger_id else None,
    )


def _from_block_actions(payload: Mapping[str, Any], organisation: str, person: str | None) -> Event | None:
    actions = payload.get("actions")
    if not isinstance(actions, Sequence) or isinstance(actions, str) or not actions:
        return None
    action = _mapping(actions[0])
    action_id = _string(action.get("action_id"))
    user = _string(_mapping(payload.get("user")).get("id"))
    if not action_id or not user:
        return None

    channel = _string(_mapping(payload.get("channel")).get("id"))
    channel = channel or _string(_mapping(payload.get("container")).get("channel_id"))
    action_ts = _string(action.get("action_ts"))
    return Event(
        kind=EventKind.ACTION,
        platform=PLATFORM,
        organisation=organisation,
        user=user,
        person=person,
        action=action_from_id(action_id),
        values={"value": _chosen_value(action)},
        conversation=channel or None,
        event_id=f"action:{user}:{action_ts}" if action_ts else None,
    )


def _from_view_submission(payload: Mapping[str, Any], organisation: str, person: str | None) -> Event | None:
    view = _mapping(payload.get("view"))
    callback_id = _string(view.get("callback_id"))
    user = _string(_mapping(payload.get("user")).get("id"))
    if not callback_id or not user:
        return None

    # state.values is keyed by block_id, then action_id; the modals we render use the input's
    # name for both, so the action_id is the name.
    values: dict[str, str] = {}
    for block in _mapping(_mapping(view.get("state")).get("values")).values():
        for action_id, state in _mapping(block).items():
            values[action_id] = _chosen_value(_mapping(state))
    values["context"] = _string(view.get("private_metadata"))

    # A modal re-submitted after validation errors keeps its view id but gets a new hash.
    view_id = _string(view.get("id"))
    view_hash = _string(view.get("hash"))
    return Event(
        kind=EventKind.ACTION,
        platform=PLATFORM,
        organisation=organisation,
        user=user,
        person=person,
        action=callback_id,
        values=values,
        event_id=f"view:{view_id}:{view_hash}" if view_id else None,
    )


def event_from_slack(body: Mapping[str, Any], *, organisation: str, person: str | None) -> Event | None:
    """Translate one Slack request body into a neutral event, or None when the bot should not reply.

    Handled: `app_mention`, direct messages, `app_home_opened` on the Home tab (action
    "home.opened"), slash commands, button presses (`block_actions`) and modal submissions
    (`view_submission`, with the form's context in values["context"]). Ignored (None): messages from
    bots or with a subtype (edits, deletions, file shares), channel messages that do not mention the
    bot, `url_verification` and any other shape. `person` is the roster person the caller linked
    the Slack user to.
    """
    payload = _unwrap(_mapping(body))
    kind = _string(payload.get("type"))
    if kind == "event_callback":
        return _from_event_callback(payload, organisation, person)
    if not kind and "command" in payload:
        return _from_slash_command(payload, organisation, person)
    if kind == "block_actions":
        return _from_block_actions(payload, organisation, person)
    if kind == "view_submission":
        return _from_view_submission(payload, organisation, person)

    logger.debug("Ignored a Slack request of type %s.", kind or "unknown")
    return None


def slack_user_of(body: Mapping[str, Any]) -> tuple[str, str] | None:
    """Return (team_id, user_id) of the person who sent a request, or None when it has no user.

    team_id is the workspace the request came from, which in a shared channel can differ from the
    user's own workspace. Organisation-wide interactions without a workspace fall back to the user's.
    """
    payload = _unwrap(_mapping(body))
    kind = _string(payload.get("type"))
    if kind == "event_callback":
        team = _string(payload.get("team_id"))
        user = _string(_mapping(payload.get("event")).get("user"))
    elif not kind and "command" in payload:
        team = _string(payload.get("team_id"))
        user = _string(payload.get("user_id"))
    elif kind in _INTERACTION_TYPES:
        person = _mapping(payload.get("user"))
        team = _string(_mapping(payload.get("team")).get("id")) or _string(person.get("team_id"))
        user = _string(person.get("id"))
    else:
        return None
    return (team, user) if team and user else None


def is_retry(headers: Mapping[str, Any]) -> bool:
    """Return True when Slack marked the request as a redelivery (header X-Slack-Retry-Num)."""
    for name, value in headers.items():
        if str(name).lower() != RETRY_HEADER:
            continue
        number = str(value) if isinstance(value, int) else _string(value)
        if number.strip():
            return True
    return False
