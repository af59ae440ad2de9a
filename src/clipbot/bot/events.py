"""The neutral event and reply types that every platform adapter translates to and from.

Handlers see only these types: never a Slack payload, a Teams Activity or a terminal line.
Reply text may mark emphasis as `*words*`; each adapter renders it in its platform's markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class EventKind(StrEnum):
    MESSAGE = "message"  # text typed to the bot: a DM, a mention, a slash command or a console line
    ACTION = "action"  # a button pressed or a form submitted


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the user sent with a message, already downloaded by the adapter."""

    name: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Event:
    """Something a user did, in platform-neutral terms.

    `person` is the roster person the platform user is linked to, or None when the adapter could
    not link them. `action` and `values` are set for ACTION events. `workspace` is the Slack team
    or Teams tenant the user belongs to, and `mentions` are the platform user ids of other people
    mentioned in the text, in order (never the bot itself). `direct` is set for a one-to-one
    conversation with the bot (a Slack DM, Teams personal chat, the console).
    """

    kind: EventKind
    platform: str
    organisation: str
    user: str
    person: str | None
    text: str = ""
    action: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)
    conversation: str | None = None
    event_id: str | None = None
    workspace: str | None = None
    mentions: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    direct: bool = False


class ButtonStyle(StrEnum):
    DEFAULT = "default"
    PRIMARY = "primary"
    DANGER = "danger"


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    action: str
    value: str = ""
    style: ButtonStyle = ButtonStyle.DEFAULT


@dataclass(frozen=True, slots=True)
class Fact:
    """A label and value shown side by side (Slack section fields, Adaptive Card FactSet)."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Section:
    text: str = ""
    facts: tuple[Fact, ...] = ()


@dataclass(frozen=True, slots=True)
class FormInput:
    """One input of a form. `choices` makes it a pick-one list; otherwise it is free text."""

    name: str
    label: str
    choices: tuple[tuple[str, str], ...] = ()
    optional: bool = False
    multiline: bool = False


@dataclass(frozen=True, slots=True)
class Form:
    title: str
    action: str
    inputs: tuple[FormInput, ...]
    submit_label: str = "Submit"
    context: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """A message from the bot. `text` is the headline and the fallback for plain-text clients."""

    text: str
    sections: tuple[Section, ...] = ()
    buttons: tuple[Button, ...] = ()
    form: Form | None = None
