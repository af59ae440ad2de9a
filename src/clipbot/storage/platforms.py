"""Storage for the Slack and Teams front ends: workspaces, chat identities, processed events, ward
channels and conversation references for Teams proactive messages.

A workspace (a Slack team or Enterprise Grid id, or a Teams tenant id) serves one organisation. The
first write that names a workspace links it to the writer's organisation, and a write from any
other organisation then raises ValueError. So every identity, ward channel and reference in a
workspace belongs to the organisation that the workspace serves. Look-ups read only the given
organisation's rows, and find nothing in an organisation that does not exist. Writes to an unknown
organisation raise NotFoundError. Nothing is committed: the caller owns the transaction.

`record_event` and `forget_events_before` take no organisation, because they run before the
organisation of an incoming event is known.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import CursorResult, Result, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from clipbot.storage.common import NotFoundError, find_organisation_id, organisation_id, person_ids, require_ward
from clipbot.storage.models import (
    CHAT_PLATFORMS,
    chat_identities,
    chat_workspaces,
    conversation_references,
    organisations,
    people,
    processed_events,
    ward_channels,
    wards,
)

logger = logging.getLogger(__name__)

SLACK = "slack"
TEAMS = "teams"
USER_REFERENCE_PREFIX = "user:"
CHANNEL_REFERENCE_PREFIX = "channel:"

_PLATFORM_NAMES = {SLACK: "Slack", TEAMS: "Microsoft Teams"}


@dataclass(frozen=True, slots=True)
class ChatIdentity:
    """A person's user on one platform and workspace; `reachable` is False once a message to them failed."""

    user_id: str
    reachable: bool
    email: str | None = None


class WardChannel(NamedTuple):
    """The channel where a ward's messages are posted, and the workspace that contains it."""

    workspace: str
    channel_id: str


def user_reference_key(user_id: str) -> str:
    """Return the conversation reference key of a personal chat with `user_id`."""
    return f"{USER_REFERENCE_PREFIX}{user_id}"


def channel_reference_key(conversation_id: str) -> str:
    """Return the conversation reference key of a channel conversation."""
    return f"{CHANNEL_REFERENCE_PREFIX}{conversation_id}"


def _check_platform(platform: str) -> None:
    if platform not in CHAT_PLATFORMS:
        raise ValueError(f"Unknown chat platform {platform!r}. Use 'slack' or 'teams'.")


def _check_id(value: str, platform: str, id_name: str) -> None:
    if not value.strip():
        raise ValueError(f"The {_PLATFORM_NAMES[platform]} {id_name} is empty. Pass the id from the incoming event.")


def _check_workspace(platform: str, workspace: str) -> None:
    _check_platform(platform)
    _check_id(workspace, platform, "tenant id" if platform == TEAMS else "workspace id")


def _describe_workspace(platform: str, external_id: str) -> str:
    noun = "tenant" if platform == TEAMS else "workspace"
    return f"{_PLATFORM_NAMES[platform]} {noun} {external_id!r}"


def _check_reference_key(key: str) -> None:
    for prefix in (USER_REFERENCE_PREFIX, CHANNEL_REFERENCE_PREFIX):
        if key.startswith(prefix) and key[len(prefix):].strip():
            return
    raise ValueError(
        f"The conversation reference key {key!r} is not valid. Use 'user:<user id>' or 'channel:<conversation id>'."
    )


def _upsert(session: AsyncSession, table: Table) -> postgresql.Insert | sqlite.Insert:
    """Return the dialect's INSERT, which has ON CONFLICT clauses, for `table`."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"The database dialect {dialect!r} is not supported. Use PostgreSQL or SQLite.")


def _rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


async def _claim_workspace(
    session: AsyncSession, org_id: int, organisation: str, platform: str, external_id: str, name: str | None = None
) -> None:
    """Link the workspace to the organisation if it is not linked yet, or raise ValueError if another one has it.

    The insert skips an existing row instead of reading first, so two replicas that link the same
    workspace at once both succeed, and one row is stored.
    """
    ws = chat_workspaces
    insert_new = (
        _upsert(session, ws)
        .values(
            platform=platform, external_id=external_id, organisation_id=org_id, name=name, created_at=datetime.now(UTC)
        )
        .on_conflict_do_nothing(index_elements=[ws.c.platform, ws.c.external_id])
    )
    if _rowcount(await session.execute(insert_new)) == 1:
        logger.info("Linked %s to organisation %s", _describe_workspace(platform, external_id), organisation)
        return

    query = (
        select(ws.c.id, ws.c.organisation_id, ws.c.name, organisations.c.key)
        .select_from(ws.join(organisations, ws.c.organisation_id == organisations.c.id))
        .where(ws.c.platform == platform, ws.c.external_id == external_id)
    )
    row = (await session.execute(query)).one()
    if row.organisation_id != org_id:
        described = _describe_workspace(platform, external_id)
        raise ValueError(
            f"The {described} is already linked to organisation {row.key!r}, so it cannot be used by "
            f"organisation {organisation!r}. Check the id, or use organisation {row.key!r} for it."
        )
    if name is not None and name != row.name:
        await session.execute(update(ws).where(ws.c.id == row.id).values(name=name))


async def link_workspace(
    session: AsyncSession, organisation: str, platform: str, external_id: str, name: str | None = None
) -> None:
    """Link a Slack workspace or Enterprise Grid, or a Teams tenant, to the organisation.

    Linking it again to the same organisation changes nothing but a new `name`. Raises ValueError
    naming both organisations when it is linked to another one already.
    """
    _check_workspace(platform, external_id)
    org_id = await organisation_id(session, organisation)
    await _claim_workspace(session, org_id, organisation, platform, external_id, name)


async def organisation_of_workspace(session: AsyncSession, platform: str, external_id: str) -> str | None:
    """Return the key of the organisation that the workspace or tenant serves, or None if it is not linked."""
    _check_platform(platform)
    ws = chat_workspaces
    query = (
        select(organisations.c.key)
        .select_from(ws.join(organisations, ws.c.organisation_id == organisations.c.id))
        .where(ws.c.platform == platform, ws.c.external_id == external_id)
    )
    return await session.scalar(query)


async def link_identity(
    session: AsyncSession,
    organisation: str,
    platform: str,
    workspace: str,
    user_id: str,
    person_key: str,
    *,
    email: str | None = None,
) -> None:
    """Link a chat user to a person of the organisation, and mark the user reachable.

    A person has at most one user per platform and workspace: linking them to a new user unlinks
    the old one, whose row stays without a person. A user already linked to someone else moves to
    this person. `email` replaces the stored email, and None keeps it. Raises NotFoundError for an
    unknown person and ValueError for a workspace of another organisation.
    """
    _check_workspace(platform, workspace)
    _check_id(user_id, platform, "user id")
    org_id = await organisation_id(session, organisation)
    found = await person_ids(session, org_id, [person_key])
    if person_key not in found:
        raise NotFoundError(
            f"Person {person_key!r} not found in organisation {organisation!r}. Check the key, or import a "
            f"roster that lists them first."
        )
    person_id = found[person_key]
    await _claim_workspace(session, org_id, organisation, platform, workspace)

    ci = chat_identities
    now = datetime.now(UTC)
    await session.execute(
        update(ci)
        .where(
            ci.c.organisation_id == org_id,
            ci.c.platform == platform,
            ci.c.workspace == workspace,
            ci.c.person_id == person_id,
            ci.c.user_id != user_id,
        )
        .values(person_id=None, updated_at=now)
    )

    # The conflicting row, if any, is in a workspace this organisation has just claimed, so it is its own.
    insert_new = _upsert(session, ci).values(
        organisation_id=org_id, platform=platform, workspace=workspace, user_id=user_id, person_id=person_id,
        email=email, reachable=True, updated_at=now,
    )
    changes: dict[str, Any] = {
        "person_id": insert_new.excluded.person_id,
        "reachable": insert_new.excluded.reachable,
        "updated_at": insert_new.excluded.updated_at,
    }
    if email is not None:
        changes["email"] = insert_new.excluded.email
    await session.execute(
        insert_new.on_conflict_do_update(index_elements=[ci.c.platform, ci.c.workspace, ci.c.user_id], set_=changes)
    )
    logger.info(
        "Linked %s user %s in %s to person %s of organisation %s",
        _PLATFORM_NAMES[platform], user_id, workspace, person_key, organisation,
    )


async def person_for_user(
    session: AsyncSession, organisation: str, platform: str, workspace: str, user_id: str
) -> str | None:
    """Return the key of the person linked to the chat user, or None."""
    _check_platform(platform)
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return None
    ci = chat_identities
    query = (
        select(people.c.key)
        .select_from(ci.join(people, ci.c.person_id == people.c.id))
        .where(
            ci.c.organisation_id == org_id,
            people.c.organisation_id == org_id,
            ci.c.platform == platform,
            ci.c.workspace == workspace,
            ci.c.user_id == user_id,
        )
    )
    return await session.scalar(query)


async def identity_of_person(
    session: AsyncSession, organisation: str, platform: str, workspace: str, person_key: str
) -> ChatIdentity | None:
    """Return the person's user on the platform and workspace, reachable or not, or None."""
    _check_platform(platform)
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return None
    ci = chat_identities
    query = (
        select(ci.c.user_id, ci.c.reachable, ci.c.email)
        .select_from(ci.join(people, ci.c.person_id == people.c.id))
        .where(
            ci.c.organisation_id == org_id,
            people.c.organisation_id == org_id,
            people.c.key == person_key,
            ci.c.platform == platform,
            ci.c.workspace == workspace,
        )
    )
    row = (await session.execute(query)).one_or_none()
    return None if row is None else ChatIdentity(user_id=row.user_id, reachable=bool(row.reachable), email=row.email)


async def user_for_person(
    session: AsyncSession, organisation: str, platform: str, workspace: str, person_key: str
) -> str | None:
    """Return the user id linked to the person, or None. `identity_of_person` also returns whether it is reachable."""
    identity = await identity_of_person(session, organisation, platform, workspace, person_key)
    return None if identity is None else identity.user_id


async def mark_unreachable(
    session: AsyncSession, organisation: str, platform: str, workspace: str, user_id: str
) -> bool:
    """Mark the chat user as unreachable, for example after their account was deactivated.

    Returns False when the organisation has no such user. Linking the user again marks them reachable.
    """
    _check_platform(platform)
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return False
    ci = chat_identities
    result = await session.execute(
        update(ci)
        .where(
            ci.c.organisation_id == org_id,
            ci.c.platform == platform,
            ci.c.workspace == workspace,
            ci.c.user_id == user_id,
        )
        .values(reachable=False, updated_at=datetime.now(UTC))
    )
    marked = _rowcount(result) > 0
    if marked:
        logger.info(
            "Marked %s user %s in %s of organisation %s as unreachable",
            _PLATFORM_NAMES[platform], user_id, workspace, organisation,
        )
    return marked


async def record_event(session: AsyncSession, platform: str, event_id: str) -> bool:
    """Record an incoming event id: return True the first time, and False for a redelivery.

    The insert skips an existing id instead of reading first, so of two replicas recording the same
    id at once exactly one gets True. On PostgreSQL the second waits until the first transaction
    ends, and a rollback removes the record, so commit it before handling the event.
    """
    _check_platform(platform)
    _check_id(event_id, platform, "event id")
    pe = processed_events
    statement = (
        _upsert(session, pe)
        .values(platform=platform, event_id=event_id, received_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=[pe.c.platform, pe.c.event_id])
    )
    first = _rowcount(await session.execute(statement)) == 1
    if not first:
        logger.info("Skipped %s event %s, which was delivered before", _PLATFORM_NAMES[platform], event_id)
    return first


async def forget_events_before(session: AsyncSession, cutoff: datetime, *, limit: int | None = None) -> int:
    """Delete the event ids recorded before `cutoff`, an aware datetime, and return how many were deleted.

    With `limit`, at most that many are deleted, so that a caller deleting a large backlog can
    commit in batches and hold its locks only briefly. On PostgreSQL those rows are then locked
    with FOR UPDATE SKIP LOCKED, so two callers at once delete different rows.
    """
    if cutoff.tzinfo is None or cutoff.utcoffset() is None:
        raise ValueError(
            f"The cutoff {cutoff.isoformat()} has no time zone. Give it one, for example "
            f"datetime.now(UTC) - timedelta(days=7)."
        )
    if limit is not None and limit < 1:
        raise ValueError(f"The delete limit {limit} is not valid. Delete at least 1 event id at a time.")
    pe = processed_events
    statement = delete(pe).where(pe.c.received_at < cutoff)
    if limit is not None:
        candidates = select(pe.c.id).where(pe.c.received_at < cutoff).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        # The ids are read first, for the reason given in clipbot.storage.outbox.delete_finished.
        ids = list((await session.scalars(candidates)).all())
        statement = statement.where(pe.c.id.in_(ids))
    count = _rowcount(await session.execute(statement))
    logger.debug("Deleted %d processed event ids recorded before %s", count, cutoff.isoformat())
    return count


async def set_ward_channel(
    session: AsyncSession, organisation: str, ward_key: str, platform: str, workspace: str, channel_id: str
) -> None:
    """Set the channel where the ward's messages are posted on the platform, replacing any earlier one."""
    _check_workspace(platform, workspace)
    _check_id(channel_id, platform, "channel id")
    org_id = await organisation_id(session, organisation)
    ward = await require_ward(session, org_id, organisation, ward_key)
    await _claim_workspace(session, org_id, organisation, platform, workspace)

    wc = ward_channels
    insert_new = _upsert(session, wc).values(
        ward_id=ward.id, platform=platform, workspace=workspace, channel_id=channel_id, updated_at=datetime.now(UTC)
    )
    excluded = insert_new.excluded
    await session.execute(
        insert_new.on_conflict_do_update(
            index_elements=[wc.c.ward_id, wc.c.platform],
            set_={
                "workspace": excluded.workspace, "channel_id": excluded.channel_id, "updated_at": excluded.updated_at,
            },
        )
    )
    logger.info(
        "Set the %s channel of ward %s in organisation %s to %s in %s",
        _PLATFORM_NAMES[platform], ward_key, organisation, channel_id, workspace,
    )


async def ward_channel(session: AsyncSession, organisation: str, ward_key: str, platform: str) -> WardChannel | None:
    """Return the ward's channel on the platform as (workspace, channel_id), or None if none is set."""
    _check_platform(platform)
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return None
    wc = ward_channels
    query = (
        select(wc.c.workspace, wc.c.channel_id)
        .select_from(wc.join(wards, wc.c.ward_id == wards.c.id))
        .where(wards.c.organisation_id == org_id, wards.c.key == ward_key, wc.c.platform == platform)
    )
    row = (await session.execute(query)).one_or_none()
    return None if row is None else WardChannel(row.workspace, row.channel_id)


async def save_reference(
    session: AsyncSession,
    organisation: str,
    platform: str,
    workspace: str,
    key: str,
    reference: dict[str, Any],
) -> None:
    """Store a serialised conversation reference under `key`, replacing any earlier one.

    `key` is "user:<user id>" or "channel:<conversation id>" (see `user_reference_key` and
    `channel_reference_key`). `reference` must be plain JSON: dicts, lists, text, finite numbers,
    booleans and None.
    """
    _check_workspace(platform, workspace)
    _check_reference_key(key)
    if not isinstance(reference, dict):
        raise ValueError(
            f"The conversation reference for {key!r} is a {type(reference).__name__}. Pass it as a dict."
        )
    try:
        json.dumps(reference, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"The conversation reference for {key!r} cannot be stored as JSON ({error}). Pass only dicts, lists, "
            f"text, finite numbers, booleans and None."
        ) from None
    org_id = await organisation_id(session, organisation)
    await _claim_workspace(session, org_id, organisation, platform, workspace)

    cr = conversation_references
    insert_new = _upsert(session, cr).values(
        organisation_id=org_id, platform=platform, workspace=workspace, key=key, reference=reference,
        updated_at=datetime.now(UTC),
    )
    excluded = insert_new.excluded
    await session.execute(
        insert_new.on_conflict_do_update(
            index_elements=[cr.c.platform, cr.c.workspace, cr.c.key],
            set_={"reference": excluded.reference, "updated_at": excluded.updated_at},
        )
    )


async def load_reference(
    session: AsyncSession, organisation: str, platform: str, workspace: str, key: str
) -> dict[str, Any] | None:
    """Return the conversation reference stored under `key`, or None."""
    _check_platform(platform)
    _check_reference_key(key)
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return None
    cr = conversation_references
    query = select(cr.c.reference).where(
        cr.c.organisation_id == org_id, cr.c.platform == platform, cr.c.workspace == workspace, cr.c.key == key
    )
    return await session.scalar(query)


@dataclass(frozen=True, slots=True)
class ChatAccount:
    """One chat account of a roster person: where it is, and whether messages still reach it."""

    platform: str
    workspace: str
    user_id: str
    reachable: bool


async def chat_accounts_of_person(session: AsyncSession, organisation: str, person_key: str) -> list[ChatAccount]:
    """Return the person's linked chat accounts on every platform, most recently updated first."""
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return []
    ci = chat_identities
    query = (
        select(ci.c.platform, ci.c.workspace, ci.c.user_id, ci.c.reachable)
        .select_from(ci.join(people, ci.c.person_id == people.c.id))
        .where(ci.c.organisation_id == org_id, people.c.organisation_id == org_id, people.c.key == person_key)
        .order_by(ci.c.updated_at.desc(), ci.c.platform)
    )
    return [ChatAccount(row.platform, row.workspace, row.user_id, row.reachable) for row in await session.execute(query)]


async def list_organisations(session: AsyncSession) -> list[str]:
    """Return the keys of every organisation, for jobs that serve all of them."""
    return list((await session.scalars(select(organisations.c.key).order_by(organisations.c.key))).all())
