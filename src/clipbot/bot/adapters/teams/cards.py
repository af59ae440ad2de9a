"""Rendering of neutral replies and forms as Adaptive Cards for Microsoft Teams.

Pure functions with no I/O. Cards use schema version 1.5, which Microsoft's Teams guide "Work with
Universal Actions for Adaptive Cards" requires for `Action.Execute`. Every button is an
`Action.Execute` with an `Action.Submit` fallback for older Teams clients, as that guide recommends,
so the bot must accept both an `adaptiveCard/action` invoke and a message with a `value` for the
same button.
"""

from __future__ import annotations

import json
import re
from typing import Any

from botbuilder.schema import Activity, ActivityTypes, Attachment

from clipbot.bot.events import Button, ButtonStyle, Form, FormInput, Reply, Section

SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"

# Microsoft's Teams docs give 100 KB as the message limit now, and gave 28 KB earlier. Cards stay
# below 28,000 bytes to be safe on both. NOTE: this counts the card alone, without the activity
# around it, which adds a few hundred bytes.
MAX_CARD_BYTES = 28_000

# Data keys that clipbot's own actions set; a form input with one of these names would be overwritten.
RESERVED_INPUT_NAMES = frozenset({"action", "context", "msteams"})

_BUTTON_STYLES = {ButtonStyle.DEFAULT: None, ButtonStyle.PRIMARY: "positive", ButtonStyle.DANGER: "destructive"}
_EMPHASIS = re.compile(r"(?<!\*)\*([^*\n]+)\*(?!\*)")
_LINE_BREAKS = re.compile(r"\n+")


def render_card(reply: Reply) -> dict[str, Any]:
    """Render a whole reply as one card, whatever its size; `render_cards` splits long replies."""
    body = [_headline(reply.text)]
    for section in reply.sections:
        body.extend(_section_elements(section))
    return _card(body + _form_elements(reply.form), _actions(reply))


def render_form(form: Form) -> dict[str, Any]:
    """Render a form as a card with one input per field and a single submit action.

    The submit sends `{"action": form.action, "context": form.context}` merged with the input
    values, keyed by input name. Raises ValueError for a duplicate or reserved input name.
    """
    return _card(_form_elements(form), [_submit_action(form)])


def card_size(card: dict[str, Any]) -> int:
    """Return the size of a card in bytes, as UTF-8 JSON with json.dumps' default separators."""
    return len(json.dumps(card, ensure_ascii=False).encode("utf-8"))


def render_cards(reply: Reply) -> list[dict[str, Any]]:
    """Render a reply as one card, or as several cards each under MAX_CARD_BYTES.

    Sections are kept whole and in order. Each card of a split reply repeats the headline with
    "(part 2 of 3)", and the form and buttons go on the last card, after all the content.
    Raises ValueError when one section, or the form and buttons, cannot fit in a card on their own.
    """
    whole = render_card(reply)
    if card_size(whole) < MAX_CARD_BYTES:
        return [whole]

    groups = [elements for section in reply.sections if (elements := _section_elements(section))]
    # Measure with the longest headline any part can get, so every real part is no larger.
    max_parts = len(groups) + 1
    widest_headline = _headline(_part_text(reply.text, max_parts, max_parts))
    empty_size = card_size(_card([widest_headline], []))

    parts: list[list[dict[str, Any]]] = [[]]
    size = empty_size
    for elements in groups:
        # Each element after the headline adds its own JSON plus the ", " separator.
        added = sum(card_size(element) + 2 for element in elements)
        if empty_size + added >= MAX_CARD_BYTES:
            raise ValueError(
                f"A reply section of {added} bytes does not fit in one Teams card, whose limit is "
                f"{MAX_CARD_BYTES} bytes including the headline. Split it into smaller sections."
            )
        if size + added >= MAX_CARD_BYTES:
            parts.append([])
            size = empty_size
        parts[-1].extend(elements)
        size += added

    form_body = _form_elements(reply.form)
    actions = _actions(reply)
    if form_body or actions:
        if card_size(_card([widest_headline, *parts[-1], *form_body], actions)) >= MAX_CARD_BYTES:
            tail_size = card_size(_card([widest_headline, *form_body], actions))
            if tail_size >= MAX_CARD_BYTES:
                raise ValueError(
                    f"The form and buttons of this reply need a {tail_size}-byte Teams card, over the limit of "
                    f"{MAX_CARD_BYTES} bytes. Shorten the form or use fewer buttons."
                )
            parts.append([])

    cards = []
    for number, part in enumerate(parts, start=1):
        body = [_headline(_part_text(reply.text, number, len(parts))), *part]
        if number == len(parts):
            cards.append(_card(body + form_body, actions))
        else:
            cards.append(_card(body, []))
    return cards


def message_activity(card: dict[str, Any]) -> Activity:
    """Wrap a card in a message activity as an Adaptive Card attachment, ready to send."""
    attachment = Attachment(content_type=CARD_CONTENT_TYPE, content=card)
    return Activity(type=ActivityTypes.message, attachments=[attachment])


def to_markdown(text: str) -> str:
    """Convert neutral reply text to Teams card Markdown.

    `*emphasis*` becomes bold `**emphasis**`. Line breaks become blank lines, because Markdown
    joins lines split by a single newline and Teams renders TextBlock text as Markdown.
    """
    return _LINE_BREAKS.sub("\n\n", _EMPHASIS.sub(r"**\1**", text))


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    card: dict[str, Any] = {"$schema": SCHEMA_URL, "type": "AdaptiveCard", "version": CARD_VERSION, "body": body}
    if actions:
        card["actions"] = actions
    return card


def _part_text(headline: str, number: int, total: int) -> str:
    return f"{headline} (part {number} of {total})"


def _headline(text: str) -> dict[str, Any]:
    return {"type": "TextBlock", "text": to_markdown(text), "wrap": True, "weight": "Bolder"}


def _section_elements(section: Section) -> list[dict[str, Any]]:
    elements: list[dict[str, Any]] = []
    if section.text:
        elements.append({"type": "TextBlock", "text": to_markdown(section.text), "wrap": True})
    if section.facts:
        facts = [{"title": to_markdown(fact.label), "value": to_markdown(fact.value)} for fact in section.facts]
        elements.append({"type": "FactSet", "facts": facts})
    if elements:
        elements[0]["separator"] = True
    return elements


def _form_elements(form: Form | None) -> list[dict[str, Any]]:
    if form is None:
        return []
    _check_input_names(form)
    title = {"type": "TextBlock", "text": to_markdown(form.title), "wrap": True, "weight": "Bolder", "separator": True}
    return [title, *(_input_element(form_input) for form_input in form.inputs)]


def _check_input_names(form: Form) -> None:
    seen: set[str] = set()
    for form_input in form.inputs:
        if form_input.name in RESERVED_INPUT_NAMES:
            raise ValueError(
                f"Form '{form.action}' has an input named '{form_input.name}', which clipbot's card data "
                f"already uses. Rename the input; reserved names: {', '.join(sorted(RESERVED_INPUT_NAMES))}."
            )
        if form_input.name in seen:
            raise ValueError(
                f"Form '{form.action}' has two inputs named '{form_input.name}'. Give each input its own name."
            )
        seen.add(form_input.name)


def _input_element(form_input: FormInput) -> dict[str, Any]:
    """Render one input; `choices` are (value, label) pairs, shown as a drop-down list."""
    element: dict[str, Any]
    if form_input.choices:
        element = {
            "type": "Input.ChoiceSet", "id": form_input.name, "label": form_input.label, "style": "compact",
            "choices": [{"title": label, "value": value} for value, label in form_input.choices],
        }
        error_message = f"Choose an option for '{form_input.label}'."
    else:
        element = {
            "type": "Input.Text", "id": form_input.name, "label": form_input.label,
            "isMultiline": form_input.multiline,
        }
        error_message = f"Fill in '{form_input.label}' before you submit."

    element["isRequired"] = not form_input.optional
    if not form_input.optional:
        element["errorMessage"] = error_message
    return element


def _actions(reply: Reply) -> list[dict[str, Any]]:
    actions = [_submit_action(reply.form)] if reply.form is not None else []
    # With a form on the card, a button must not send (or wait for) the form's inputs.
    has_inputs = reply.form is not None and bool(reply.form.inputs)
    actions.extend(_button_action(button, ignore_inputs=has_inputs) for button in reply.buttons)
    return actions


def _button_action(button: Button, *, ignore_inputs: bool) -> dict[str, Any]:
    data = {"action": button.action, "value": button.value}
    extra: dict[str, Any] = {}
    if _BUTTON_STYLES[button.style] is not None:
        extra["style"] = _BUTTON_STYLES[button.style]
    if ignore_inputs:
        extra["associatedInputs"] = "none"
    return _execute_with_fallback(button.label, button.action, data, extra)


def _submit_action(form: Form) -> dict[str, Any]:
    data = {"action": form.action, "context": form.context}
    return _execute_with_fallback(form.submit_label, form.action, data, {"style": "positive"})


def _execute_with_fallback(title: str, verb: str, data: dict[str, str], extra: dict[str, Any]) -> dict[str, Any]:
    """Build an Action.Execute whose fallback, for clients without Universal Actions, is an Action.Submit."""
    fallback = {"type": "Action.Submit", "title": title, "data": dict(data), **extra}
    return {"type": "Action.Execute", "title": title, "verb": verb, "data": dict(data), **extra, "fallback": fallback}
