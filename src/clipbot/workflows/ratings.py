"""Ratings: the request a student gets after a coached shift or a session, the form, and group averages.

Averages are shown only for groups of at least `MIN_GROUP` ratings, so that no single student's
score can be read off. A group is also held back when showing it would let a reader work out the
average of fewer than `MIN_GROUP` other ratings by subtracting it from the ward's total.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from clipbot.bot.events import Button, Form, FormInput, Reply, Section
from clipbot.bot.handlers import messages
from clipbot.storage.workflows import RatingSubject, RatingTotal

RATE_OPEN = "rating.open"
RATE_SUBMIT = "rating.submit"

MIN_GROUP = 5
SEPARATOR = "|"

SCORE_CHOICES: tuple[tuple[str, str], ...] = (
    ("5", "5: excellent"),
    ("4", "4: good"),
    ("3", "3: fair"),
    ("2", "2: poor"),
    ("1", "1: very poor"),
)


@dataclass(frozen=True, slots=True)
class RatingRef:
    """The subject of a rating: a session id, or "<ward>/<shift key>" for a shift, with its mentor."""

    kind: RatingSubject
    ward: str
    subject_key: str
    mentor: str

    def encode(self) -> str:
        return SEPARATOR.join((self.kind.value, self.ward, self.subject_key, self.mentor))


def decode_rating(text: str) -> RatingRef:
    parts = text.split(SEPARATOR)
    if len(parts) != 4 or not all(parts):
        raise ValueError(f"{text!r} is not a rating reference made by clipbot.")
    try:
        kind = RatingSubject(parts[0])
    except ValueError:
        raise ValueError(f"{text!r} names the rating subject {parts[0]!r}; expected 'session' or 'shift'.") from None
    return RatingRef(kind, parts[1], parts[2], parts[3])


def shift_subject(ward: str, shift_key: str) -> str:
    return f"{ward}/{shift_key}"


def request_reply(ref: RatingRef, text: str) -> Reply:
    """Build the message asking the student to rate: `text` names the subject, the button opens the form."""
    label = messages.RATE_SHIFT_BUTTON if ref.kind is RatingSubject.SHIFT else messages.RATE_SESSION_BUTTON
    return Reply(text, sections=(Section(messages.RATE_PRIVACY),), buttons=(Button(label, RATE_OPEN, ref.encode()),))


def rating_form(ref: RatingRef) -> Form:
    title = messages.RATE_SHIFT_TITLE if ref.kind is RatingSubject.SHIFT else messages.RATE_SESSION_TITLE
    return Form(
        title=title,
        action=RATE_SUBMIT,
        inputs=(
            FormInput("score", messages.RATE_SCORE_LABEL, choices=SCORE_CHOICES),
            FormInput("comment", messages.RATE_COMMENT_LABEL, optional=True, multiline=True),
        ),
        submit_label=messages.RATE_SUBMIT_LABEL,
        context=ref.encode(),
    )


@dataclass(frozen=True, slots=True)
class GroupAverage:
    """One line of a ratings summary. `average` is None when the group is too small to show."""

    subject_kind: RatingSubject
    mentor: str | None
    count: int
    average: float | None


@dataclass(frozen=True, slots=True)
class RatingsSummary:
    """A ward's ratings: one overall line per subject kind, then the mentors' groups that may be shown."""

    ward: str
    overall: tuple[GroupAverage, ...]
    by_mentor: tuple[GroupAverage, ...]


def summarise(ward: str, totals: Iterable[RatingTotal]) -> RatingsSummary:
    """Build the anonymous summary: averages only for groups of at least MIN_GROUP ratings.

    A mentor's group is left out when it is small, and also when the ratings left over after the
    shown groups would number from 1 to MIN_GROUP - 1, because the overall average would then
    reveal theirs. Groups are dropped smallest first until the rest is safe.
    """
    by_kind: dict[RatingSubject, list[RatingTotal]] = defaultdict(list)
    for total in totals:
        by_kind[total.subject_kind].append(total)

    overall: list[GroupAverage] = []
    by_mentor: list[GroupAverage] = []
    for kind in RatingSubject:
        groups = by_kind.get(kind, [])
        count = sum(group.count for group in groups)
        score = sum(group.total for group in groups)
        overall.append(GroupAverage(kind, None, count, score / count if count >= MIN_GROUP else None))
        if count >= MIN_GROUP:
            by_mentor.extend(_safe_groups(kind, groups, count))
    return RatingsSummary(ward, tuple(overall), tuple(by_mentor))


def _safe_groups(kind: RatingSubject, groups: Sequence[RatingTotal], count: int) -> list[GroupAverage]:
    shown = sorted(
        (group for group in groups if group.mentor is not None and group.count >= MIN_GROUP),
        key=lambda group: (group.count, group.mentor or ""),
    )
    while shown:
        hidden = count - sum(group.count for group in shown)
        if hidden == 0 or hidden >= MIN_GROUP:
            break
        shown.pop(0)
    return [
        GroupAverage(kind, group.mentor, group.count, group.total / group.count)
        for group in sorted(shown, key=lambda group: group.mentor or "")
    ]
