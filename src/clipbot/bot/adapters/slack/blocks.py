"""Render neutral replies and forms as Slack Block Kit: messages, modals and the Home tab.

Pure functions: nothing here calls Slack. Every block is built with `slack_sdk.models`, whose
`to_dict()` also checks Slack's per-field limits, so a limit this module misses fails loudly in tests
instead of at Slack. Text in a reply carries user-supplied names and free text, so `&`, `<` and `>`
are escaped before it becomes mrkdwn. `*emphasis*` passes through because it already is mrkdwn.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from clipbot.bot.events import Button, ButtonStyle, Fact, Form, FormInput, Reply, Section

# Limits from Slack's Block Kit reference, as enforced by slack_sdk's model validators.
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = View.blocks_max_length
MAX_SECTION_TEXT = SectionBlock.text_max_length
MAX_FIELDS = SectionBlock.fields_max_length
MAX_FIELD_TEXT = 2000
MAX_ACTIONS = ActionsBlock.elements_max_length
MAX_BUTTON_TEXT = ButtonElement.text_max_length
MAX_BUTTON_VALUE = ButtonElement.value_max_length
MAX_ACTION_ID = ButtonElement.action_id_max_length
MAX_VIEW_TITLE = View.title_max_length
MAX_PRIVATE_METADATA = View.private_metadata_max_length
MAX_OPTIONS = StaticSelectElement.options_max_length
MAX_OPTION_TEXT = Option.label_max_length
MAX_OPTION_VALUE = Option.value_max_length
MAX_INPUT_LABEL = InputBlock.label_max_length

# NOTE: Slack rejects a message whose blocks hold too much text in total (`msg_blocks_too_long`)
# well below the sum of the per-block limits. The threshold is undocumented: rejections have been
# reported at about 11,300 and 13,200 characters, so this budget is an estimate with a margin.
MAX_MESSAGE_TEXT = 10_000

# Room kept in a headline for " (part 12 of 12)" so that adding it never pushes past a limit.
PART_SUFFIX_ROOM = 40

# Form input name that carries the form's context in a submission, so no input may use it.
CONTEXT_KEY = "context"

ELLIPSIS = "…"
HOME_CUT_NOTE = "_The Home tab has room for only part of this list. Send me a direct message to see it all._"
_REPEAT_SUFFIX = re.compile(r"~\d+$")


@dataclass(frozen=True, slots=True)
class _Block:
    """One rendered block and the characters of text it adds to a message."""

    body: dict[str, Any]
    text_size: int


def action_id_for(action: str, occurrence: int) -> str:
    """Return the action_id for the `occurrence`-th button (from 0) with this action in one reply.

    Slack requires action_ids to be unique within a block, so repeats get a `~N` suffix that
    `action_from_id` removes again.
    """
    return action if occurrence == 0 else f"{action}~{occurrence}"


def action_from_id(action_id: str) -> str:
    """Return the neutral action of an action_id made by `action_id_for`."""
    return _REPEAT_SUFFIX.sub("", action_id)


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack reads as markup in mrkdwn: `&`, `<` and `>`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Shorten `text` to at most `limit` characters, ending with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def split_text(text: str, limit: int) -> list[str]:
    """Split escaped mrkdwn into chunks of at most `limit` characters.

    Chunks break at line breaks where possible, then at spaces, and only cut inside a word when a
    word alone is longer than `limit`. A cut never falls inside an `&amp;`-style entity. Chunks
    that hold only whitespace are dropped, because Slack rejects an empty section.
    """
    chunks: list[str] = []
    lines: list[str] = []
    size = 0
    for line in text.split("\n"):
        for piece in _split_line(line, limit):
            added = len(piece) + (1 if lines else 0)
            if lines and size + added > limit:
                chunks.append("\n".join(lines))
                lines = []
                added = len(piece)
                size = 0
            lines.append(piece)
            size += added
    if lines:
        chunks.append("\n".join(lines))
    return [chunk for chunk in chunks if chunk.strip()]


def _split_line(line: str, limit: int) -> Iterable[str]:
    while len(line) > limit:
        space = line.rfind(" ", 0, limit + 1)
        if space > 0:
            yield line[:space]
            line = line[space + 1:]
            continue
        cut = limit
        ampersand = line.rfind("&", max(0, limit - len("&amp;") + 1), limit)
        if ampersand > 0 and line.find(";", ampersand) >= limit:
            cut = ampersand
        yield line[:cut]
        line = line[cut:]
    yield line


def _text_block(mrkdwn: str, fields: Sequence[str] = ()) -> _Block:
    block = SectionBlock(
        text=MarkdownTextObject(text=mrkdwn) if mrkdwn else None,
        fields=[MarkdownTextObject(text=field) for field in fields] or None,
    )
    return _Block(block.to_dict(), len(mrkdwn) + sum(len(field) for field in fields))


def _field_text(fact: Fact) -> str:
    value = escape_mrkdwn(fact.value)
    if not fact.label:
        return value
    return f"*{escape_mrkdwn(fact.label)}*\n{value}"


def _fact_blocks(facts: Sequence[Fact]) -> list[_Block]:
    """Render facts as section fields, at most 10 and 3,000 characters of fields per section.

    The 3,000 cap is ours, not Slack's: it keeps every block as small as a text section, so that
    pagination by total text always makes progress. A fact too long for one field (2,000
    characters) is shown as section text instead, so none of it is lost.
    """
    blocks: list[_Block] = []
    group: list[str] = []

    def flush() -> None:
        if group:
            blocks.append(_text_block("", group))
            group.clear()

    for fact in facts:
        field = _field_text(fact)
        if not field.strip():
            continue
        if len(field) > MAX_FIELD_TEXT:
            flush()
            blocks.extend(_text_block(chunk) for chunk in split_text(field, MAX_SECTION_TEXT))
            continue
        if len(group) == MAX_FIELDS or sum(map(len, group)) + len(field) > MAX_SECTION_TEXT:
            flush()
        group.append(field)
    flush()
    return blocks


def _section_blocks(section: Section) -> list[_Block]:
    text_chunks = split_text(escape_mrkdwn(section.text), MAX_SECTION_TEXT)
    fact_blocks = _fact_blocks(section.facts)

    # Put the first group of fields beside the last text chunk when both fit in one section.
    if text_chunks and fact_blocks and "text" not in fact_blocks[0].body:
        fields = [field["text"] for field in fact_blocks[0].body["fields"]]
        if len(text_chunks[-1]) + fact_blocks[0].text_size <= MAX_SECTION_TEXT:
            merged = _text_block(text_chunks.pop(), fields)
            fact_blocks[0] = merged
    return [_text_block(chunk) for chunk in text_chunks] + fact_blocks


def _button_element(button: Button, action_id: str) -> ButtonElement:
    if _REPEAT_SUFFIX.search(button.action):
        raise ValueError(
            f"Button '{button.label}' has the action '{button.action}', which ends like a repeat marker "
            f"(~ and digits). Rename the action."
        )
    if not button.label.strip():
        raise ValueError(f"A button for action '{button.action}' has no label. Give every button a label.")
    if len(action_id) > MAX_ACTION_ID:
        raise ValueError(
            f"Button '{button.label}' has an action name of {len(action_id)} characters, but Slack allows "
            f"at most {MAX_ACTION_ID}. Use a shorter action name and put the details in the value."
        )
    if len(button.value) > MAX_BUTTON_VALUE:
        raise ValueError(
            f"Button '{button.label}' has a value of {len(button.value)} characters, but Slack allows at "
            f"most {MAX_BUTTON_VALUE}. Store the details and put their key in the value."
        )
    style = None if button.style is ButtonStyle.DEFAULT else button.style.value
    return ButtonElement(
        text=truncate(button.label, MAX_BUTTON_TEXT),
        action_id=action_id,
        value=button.value or None,
        style=style,
    )


def _button_blocks(buttons: Sequence[Button]) -> list[_Block]:
    """Render buttons as actions blocks of at most 25 buttons each, with unique action_ids."""
    occurrences: Counter[str] = Counter()
    elements: list[ButtonElement] = []
    for button in buttons:
        elements.append(_button_element(button, action_id_for(button.action, occurrences[button.action])))
        occurrences[button.action] += 1

    blocks: list[_Block] = []
    for start in range(0, len(elements), MAX_ACTIONS):
        row = elements[start:start + MAX_ACTIONS]
        text_size = sum(len(element.text.text) for element in row)
        blocks.append(_Block(ActionsBlock(elements=row).to_dict(), text_size))
    return blocks


def _content_blocks(reply: Reply) -> tuple[list[str], list[_Block], list[_Block]]:
    """Return the headline chunks, the section blocks and the button blocks of a reply."""
    headline = split_text(escape_mrkdwn(reply.text), MAX_SECTION_TEXT - PART_SUFFIX_ROOM)
    sections = [block for section in reply.sections for block in _section_blocks(section)]
    return headline, sections, _button_blocks(reply.buttons)


def _paginate(blocks: Sequence[_Block], max_blocks: int, max_text: int) -> list[list[_Block]]:
    pages: list[list[_Block]] = [[]]
    text_size = 0
    for block in blocks:
        page = pages[-1]
        if page and (len(page) == max_blocks or text_size + block.text_size > max_text):
            pages.append([])
            text_size = 0
        pages[-1].append(block)
        text_size += block.text_size
    return pages


def render_message(reply: Reply) -> list[dict[str, Any]]:
    """Render a reply as one or more Slack messages, each `{"text": ..., "blocks": [...]}`.

    A reply too big for one message (50 blocks, or about 10,000 characters of text) is split into
    parts. Each part repeats the headline with "(part N of M)", and the buttons come in the last.
    `reply.form` is not rendered here: the caller opens it with `render_modal`, which needs the
    trigger_id of the user's request. An empty reply renders as no messages.
    """
    headline_chunks, sections, buttons = _content_blocks(reply)
    headline = headline_chunks[0] if headline_chunks else ""
    content = [_text_block(chunk) for chunk in headline_chunks[1:]] + sections + buttons
    if not headline and not content:
        return []

    text_room = MAX_MESSAGE_TEXT - len(headline) - PART_SUFFIX_ROOM
    pages = _paginate(content, MAX_MESSAGE_BLOCKS - 1, text_room)
    messages: list[dict[str, Any]] = []
    for number, page in enumerate(pages, start=1):
        title = headline
        if len(pages) > 1:
            title = f"{headline} (part {number} of {len(pages)})".lstrip()
        blocks = [_text_block(title).body] if title else []
        blocks.extend(block.body for block in page)
        messages.append({"text": title, "blocks": blocks})
    return messages


def render_home(reply: Reply) -> dict[str, Any]:
    """Render a reply as a Home tab view (`type: "home"`) of at most 100 blocks.

    The Home tab cannot be split into parts, so when the sections do not fit, the last ones are
    left out and a closing line states that. The headline and the buttons are always kept.
    """
    headline_chunks, sections, buttons = _content_blocks(reply)
    head = [_text_block(chunk) for chunk in headline_chunks]
    room = MAX_VIEW_BLOCKS - len(head) - len(buttons)
    if room < 1:
        raise ValueError(
            f"The Home tab reply needs {len(head) + len(buttons)} blocks for its headline and buttons, "
            f"but a Home tab allows at most {MAX_VIEW_BLOCKS}. Shorten the headline or use fewer buttons."
        )
    if len(sections) > room:
        sections = sections[: room - 1] + [_text_block(HOME_CUT_NOTE)]

    blocks = [block.body for block in head + sections + buttons]
    if not blocks:
        raise ValueError("The Home tab reply has no text, sections or buttons. Give it at least a headline.")
    return View(type="home", blocks=blocks).to_dict()


def _input_element(form_input: FormInput) -> PlainTextInputElement | StaticSelectElement:
    if not form_input.choices:
        return PlainTextInputElement(action_id=form_input.name, multiline=form_input.multiline or None)

    if len(form_input.choices) > MAX_OPTIONS:
        raise ValueError(
            f"Input '{form_input.name}' has {len(form_input.choices)} choices, but a Slack select menu "
            f"allows at most {MAX_OPTIONS}. Narrow the list, for example to one ward."
        )
    options = []
    for value, label in form_input.choices:
        if len(value) > MAX_OPTION_VALUE:
            raise ValueError(
                f"Choice '{label}' of input '{form_input.name}' has a value of {len(value)} characters, "
                f"but Slack allows at most {MAX_OPTION_VALUE}. Use a shorter key as the value."
            )
        options.append(Option(value=value, label=truncate(label, MAX_OPTION_TEXT)))
    return StaticSelectElement(action_id=form_input.name, options=options, placeholder="Choose one")


def _check_form(form: Form) -> None:
    if len(form.context) > MAX_PRIVATE_METADATA:
        raise ValueError(
            f"The context of form '{form.action}' is {len(form.context):,} characters, but a Slack modal "
            f"allows at most {MAX_PRIVATE_METADATA:,}. Store the details and put their key in the context."
        )
    if not form.title.strip():
        raise ValueError(f"Form '{form.action}' has no title. Give it a short title.")
    if not form.action or len(form.action) > MAX_ACTION_ID:
        raise ValueError(
            f"Form action '{form.action[:40]}' is {len(form.action)} characters; Slack needs 1 to "
            f"{MAX_ACTION_ID}. Use a short action name."
        )
    if not form.inputs:
        raise ValueError(f"Form '{form.action}' has no inputs. A Slack modal needs at least one.")
    if len(form.inputs) > MAX_VIEW_BLOCKS:
        raise ValueError(
            f"Form '{form.action}' has {len(form.inputs)} inputs, but a Slack modal allows at most "
            f"{MAX_VIEW_BLOCKS} blocks. Split it into smaller forms."
        )

    names = Counter(form_input.name for form_input in form.inputs)
    for name, count in names.items():
        if count > 1:
            raise ValueError(f"Form '{form.action}' has {count} inputs named '{name}'. Give each input its own name.")
        if name == CONTEXT_KEY:
            raise ValueError(
                f"Form '{form.action}' has an input named '{CONTEXT_KEY}', which is kept for the form's "
                f"context. Rename the input."
            )
        if not name or len(name) > MAX_ACTION_ID:
            raise ValueError(
                f"Input name '{name[:40]}' of form '{form.action}' is {len(name)} characters; Slack needs "
                f"1 to {MAX_ACTION_ID}. Use a short name."
            )


def render_modal(form: Form) -> dict[str, Any]:
    """Render a form as a Slack modal view for `views.open`.

    callback_id is `form.action` and private_metadata is `form.context`, so a submission comes back
    with both. Each input's block_id and action_id are its name. A choice is a (value, label) pair.
    Raises ValueError, naming the value, when the form breaks a limit that cutting text cannot fix.
    """
    _check_form(form)
    blocks = [
        InputBlock(
            block_id=form_input.name,
            label=truncate(form_input.label, MAX_INPUT_LABEL),
            element=_input_element(form_input),
            optional=form_input.optional,
        )
        for form_input in form.inputs
    ]
    view = View(
        type="modal",
        callback_id=form.action,
        title=truncate(form.title.strip(), MAX_VIEW_TITLE),
        submit=truncate(form.submit_label or "Submit", MAX_VIEW_TITLE),
        close="Cancel",
        private_metadata=form.context or None,
        blocks=blocks,
    )
    return view.to_dict()
