"""Keeping stored coach posts and shift rating requests in line with a coach plan that has changed.

Planning enqueues by idempotency key, so enqueueing a changed message again leaves the stored one as
it is. For the messages that depend on the coach groups, `follow_coach_plan` compares the plan with
what is stored:
- a message still waiting to be sent gets the new content;
- a coach post already sent gets an update message (`planner.coach_post_update`), which edits the
  post in the ward's channel;
- a coach post whose shift no longer has students, so that the plan leaves it out although it is
  due within the horizon, is dropped while unsent and edited to say so once sent;
- a rating request for a student no longer coached on that shift is dropped while unsent.
A rating request already sent stays as it is.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from clipbot.storage import repository
from clipbot.storage.outbox import NewMessage, OutboxState, RecipientKind, StoredMessage
from clipbot.workflows import planner
from clipbot.workflows.planner import PlannerSettings

logger = logging.getLogger(__name__)

# The planned kinds whose stored messages follow changes to the coach plan.
FOLLOWED_KINDS = frozenset({planner.COACH_POST, planner.RATE_SHIFT})


async def follow_coach_plan(
    session: AsyncSession,
    organisation: str,
    planned: Sequence[NewMessage],
    now: datetime,
    until: datetime,
    settings: PlannerSettings,
) -> int:
    """Bring the organisation's stored coach posts and rating requests in line with `planned`.

    `planned` contains the messages planned now for everything due by `until`, with their stored
    idempotency keys. Returns how many update messages were enqueued.
    """
    stored = await repository.live_messages(
        session, organisation, [planner.COACH_POST, planner.COACH_UPDATE, planner.RATE_SHIFT], now
    )
    updates: dict[str, list[StoredMessage]] = defaultdict(list)
    for message in stored:
        if message.kind == planner.COACH_UPDATE:
            updates[str(message.payload.get(planner.UPDATES_KEY))].append(message)

    def versions_of(message: StoredMessage) -> list[StoredMessage]:
        later = sorted(updates[message.idempotency_key], key=lambda item: planner.version_of(item.payload))
        return [message, *later]

    planned_by_key = {message.idempotency_key: message for message in planned if message.kind in FOLLOWED_KINDS}
    added = 0
    for message in stored:
        if message.kind not in FOLLOWED_KINDS:
            continue
        plan = planned_by_key.get(message.idempotency_key)
        if plan is not None:
            added += await _bring_up_to_date(session, organisation, versions_of(message), plan, now)
        elif _due_by(message, until, settings):
            added += await _withdraw(session, organisation, versions_of(message), now)
    return added


def _due_by(message: StoredMessage, until: datetime, settings: PlannerSettings) -> bool:
    """Tell whether the plan would contain this message now, by when it would be due with the current settings.

    A message without the facts to tell is left alone.
    """
    facts = message.payload.get(planner.WORKFLOW_KEY)
    if not isinstance(facts, dict):
        return False
    if message.kind == planner.COACH_POST:
        starts = _moment(facts.get("shift_start"))
        return starts is not None and starts - settings.coach_post_lead <= until
    ends = _moment(facts.get("shift_end"))
    return ends is not None and ends <= until


def _moment(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


async def _bring_up_to_date(
    session: AsyncSession, organisation: str, versions: list[StoredMessage], plan: NewMessage, now: datetime
) -> int:
    """Give the latest version the planned content, by a new payload while unsent or else by an update message."""
    latest = versions[-1]
    if planner.same_content(latest.payload, plan.payload):
        return 0
    if latest.state is OutboxState.PENDING:
        payload = plan.payload
        if latest is not versions[0]:
            payload = planner.coach_post_update(plan, planner.version_of(latest.payload), now).payload
        if await repository.replace_payload(session, latest.idempotency_key, payload):
            return 0
    if plan.kind != planner.COACH_POST:
        return 0
    update = planner.coach_post_update(plan, planner.version_of(latest.payload) + 1, now)
    if not await repository.enqueue(session, organisation, update):
        return 0
    logger.info("The coach groups of %s changed after posting; enqueued an update.", plan.idempotency_key)
    return 1


async def _withdraw(session: AsyncSession, organisation: str, versions: list[StoredMessage], now: datetime) -> int:
    """Withdraw a coach post or rating request that the plan no longer contains."""
    original = versions[0]
    posted = any(version.state in (OutboxState.SENT, OutboxState.SENDING) for version in versions)
    if original.kind == planner.RATE_SHIFT or not posted:
        for version in versions:
            if version.state is OutboxState.PENDING:
                await repository.drop_pending(session, version.idempotency_key, "no longer in the coach plan")
        return 0
    post = NewMessage(
        idempotency_key=original.idempotency_key, kind=original.kind, recipient_kind=RecipientKind.WARD,
        recipient=original.recipient, payload=original.payload, due_at=original.due_at, not_after=original.not_after,
    )
    return await _bring_up_to_date(session, organisation, versions, planner.withdrawn_coach_post(post), now)
