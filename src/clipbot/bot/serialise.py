"""Conversion of a Reply to a plain JSON dict and back, so that a message can wait in the outbox.

`reply_from_json(reply_to_json(reply)) == reply` for every Reply, also after the dict has been
through `json.dumps` and `json.loads`. Tuples are stored as lists, a form input's choices as
`[value, label]` pairs, and the button style as its text. The dict carries a `version`, so that a
later layout can still read messages stored in this one. `reply_from_json` ignores keys it does not
know, so a caller may store its own keys next to the reply's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clipbot.bot.events import Button, ButtonStyle, Fact, Form, FormInput, Reply, Section

# The layout written by reply_to_json. Raise it when the layout changes, and keep reading older ones.
PAYLOAD_VERSION = 1


class InvalidPayloadError(ValueError):
    """A stored reply payload that cannot be read back into a Reply."""


def reply_to_json(reply: Reply) -> dict[str, Any]:
    """Return the reply as a dict of JSON values."""
    return {
        "version": PAYLOAD_VERSION,
        "text": reply.text,
        "sections": [_section_to_json(section) for section in reply.sections],
        "buttons": [_button_to_json(button) for button in reply.buttons],
        "form": None if reply.form is None else _form_to_json(reply.form),
    }


def _section_to_json(section: Section) -> dict[str, Any]:
    return {
        "text": section.text,
        "facts": [{"label": fact.label, "value": fact.value} for fact in section.facts],
    }


def _button_to_json(button: Button) -> dict[str, Any]:
    return {"label": button.label, "action": button.action, "value": button.value, "style": button.style.value}


def _form_to_json(form: Form) -> dict[str, Any]:
    return {
        "title": form.title,
        "action": form.action,
        "inputs": [_input_to_json(item) for item in form.inputs],
        "submit_label": form.submit_label,
        "context": form.context,
    }


def _input_to_json(item: FormInput) -> dict[str, Any]:
    return {
        "name": item.name,
        "label": item.label,
        "choices": [[value, label] for value, label in item.choices],
        "optional": item.optional,
        "multiline": item.multiline,
    }


def reply_from_json(data: Mapping[str, Any]) -> Reply:
    """Build the Reply stored by `reply_to_json`, or raise InvalidPayloadError naming the first invalid field."""
    _object(data, "")
    version = data.get("version")
    if version != PAYLOAD_VERSION:
        raise InvalidPayloadError(
            f"The reply payload has version {version!r}, but this clipbot reads version {PAYLOAD_VERSION}. "
            f"Upgrade clipbot, or enqueue the message again."
        )

    sections = _list(data, "sections", "")
    buttons = _list(data, "buttons", "")
    form_data = _field(data, "form", "")
    return Reply(
        text=_text(data, "text", ""),
        sections=tuple(_section_from_json(item, f"sections[{index}]") for index, item in enumerate(sections)),
        buttons=tuple(_button_from_json(item, f"buttons[{index}]") for index, item in enumerate(buttons)),
        form=None if form_data is None else _form_from_json(form_data, "form"),
    )


def _section_from_json(data: Any, where: str) -> Section:
    _object(data, where)
    facts = _list(data, "facts", where)
    return Section(
        text=_text(data, "text", where),
        facts=tuple(_fact_from_json(item, f"{where}.facts[{index}]") for index, item in enumerate(facts)),
    )


def _fact_from_json(data: Any, where: str) -> Fact:
    _object(data, where)
    return Fact(label=_text(data, "label", where), value=_text(data, "value", where))


def _button_from_json(data: Any, where: str) -> Button:
    _object(data, where)
    style = _text(data, "style", where)
    try:
        parsed_style = ButtonStyle(style)
    except ValueError:
        known = ", ".join(item.value for item in ButtonStyle)
        raise InvalidPayloadError(
            f"The reply payload field {_path(where, 'style')} is {style!r}, which is not a button style. "
            f"Use one of: {known}."
        ) from None
    return Button(
        label=_text(data, "label", where),
        action=_text(data, "action", where),
        value=_text(data, "value", where),
        style=parsed_style,
    )


def _form_from_json(data: Any, where: str) -> Form:
    _object(data, where)
    inputs = _list(data, "inputs", where)
    return Form(
        title=_text(data, "title", where),
        action=_text(data, "action", where),
        inputs=tuple(_input_from_json(item, f"{where}.inputs[{index}]") for index, item in enumerate(inputs)),
        submit_label=_text(data, "submit_label", where),
        context=_text(data, "context", where),
    )


def _input_from_json(data: Any, where: str) -> FormInput:
    _object(data, where)
    choices: list[tuple[str, str]] = []
    for index, pair in enumerate(_list(data, "choices", where)):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair)):
            raise InvalidPayloadError(
                f"The reply payload field {_path(where, f'choices[{index}]')} must be a [value, label] pair of texts."
            )
        choices.append((pair[0], pair[1]))
    return FormInput(
        name=_text(data, "name", where),
        label=_text(data, "label", where),
        choices=tuple(choices),
        optional=_flag(data, "optional", where),
        multiline=_flag(data, "multiline", where),
    )


def _path(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _object(data: Any, where: str) -> None:
    if not isinstance(data, Mapping):
        described = f"field {where}" if where else "payload"
        raise InvalidPayloadError(f"The reply {described} must be an object, not {type(data).__name__}.")


def _field(data: Mapping[str, Any], name: str, where: str) -> Any:
    if name not in data:
        raise InvalidPayloadError(f"The reply payload field {_path(where, name)} is missing.")
    return data[name]


def _text(data: Mapping[str, Any], name: str, where: str) -> str:
    value = _field(data, name, where)
    if not isinstance(value, str):
        raise InvalidPayloadError(
            f"The reply payload field {_path(where, name)} must be text, not {type(value).__name__}."
        )
    return value


def _flag(data: Mapping[str, Any], name: str, where: str) -> bool:
    value = _field(data, name, where)
    if not isinstance(value, bool):
        raise InvalidPayloadError(
            f"The reply payload field {_path(where, name)} must be true or false, not {type(value).__name__}."
        )
    return value


def _list(data: Mapping[str, Any], name: str, where: str) -> list[Any]:
    value = _field(data, name, where)
    if not isinstance(value, list):
        raise InvalidPayloadError(
            f"The reply payload field {_path(where, name)} must be a list, not {type(value).__name__}."
        )
    return value
