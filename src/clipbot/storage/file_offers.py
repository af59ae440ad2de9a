"""Storage of files offered to a chat user who must consent before the bot uploads them.

Teams lets a bot put a file in a personal chat only after the user accepts a file consent card,
which can happen minutes or days after the card was sent, and on another replica. So the file is
stored here under a random token that the card carries, until the user responds or the offer
expires. An accepted offer is claimed for one upload at a time: the claim is an UPDATE that only
one transaction can win, so a card accepted twice, or on two replicas at once, is uploaded once.

Every function except `forget_file_offers_before` takes the organisation key and touches only that
organisation's offers. Times are passed in by the caller (`now`). Nothing is committed: the caller
owns the transaction, and should commit a claim before it starts the upload, so that others see it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clipbot.storage.common import find_organisation_id, organisation_id
from clipbot.storage.models import CHAT_PLATFORMS, file_offers

logger = logging.getLogger(__name__)


class FileOfferState(StrEnum):
    """The stage an offer has reached; `FileOfferRecord` explains the columns."""

    OFFERED = "offered"
    UPLOADING = "uploading"
    UPLOADED = "uploaded"
    DECLINED = "declined"


@dataclass(frozen=True, slots=True)
class FileRecipient:
    """The chat user a file is offered to: only they can accept or decline it."""

    platform: str
    workspace: str
    user_id: str


@dataclass(frozen=True, slots=True)
class NewFileOffer:
    token: str
    recipient: FileRecipient
    filename: str
    content: bytes
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ClaimedFile:
    """A file claimed by the caller for one upload, until it finishes or releases the claim."""

    token: str
    filename: str
    content: bytes


@dataclass(frozen=True, slots=True)
class FileOfferClaim:
    """The result of `claim_file_offer`.

    `file` is set when the caller won the claim. Otherwise `state` is the offer's state, which is
    UPLOADING while another upload has claimed it, or None when the recipient has no live offer with that
    token: it never existed, has expired, or was made to someone else.
    """

    state: FileOfferState | None
    file: ClaimedFile | None = None


def _check_new_offer(offer: NewFileOffer, now: datetime) -> None:
    if offer.recipient.platform not in CHAT_PLATFORMS:
        raise ValueError(f"Unknown chat platform {offer.recipient.platform!r}. Use 'slack' or 'teams'.")
    if not offer.token.strip():
        raise ValueError("The file offer token is empty. Generate a random token, for example with secrets.token_urlsafe.")
    if not offer.content:
        raise ValueError(f"The offered file {offer.filename!r} is empty. Offer a file with content.")
    if offer.expires_at <= now:
        raise ValueError(
            f"The offer of {offer.filename!r} expires at {offer.expires_at.isoformat()}, which is not after now "
            f"({now.isoformat()}). Give it a later expiry."
        )


def _live_offer(org_id: int, token: str, recipient: FileRecipient, now: datetime) -> list[Any]:
    """Return the conditions that select the recipient's unexpired offer with this token."""
    table = file_offers
    return [
        table.c.organisation_id == org_id,
        table.c.token == token,
        table.c.platform == recipient.platform,
        table.c.workspace == recipient.workspace,
        table.c.user_id == recipient.user_id,
        table.c.expires_at > now,
    ]


async def save_file_offer(session: AsyncSession, organisation: str, offer: NewFileOffer, *, now: datetime) -> None:
    """Store a new offer in the OFFERED state.

    Raises ValueError for an unknown platform, an empty token or file, or an expiry not after `now`,
    NotFoundError for an unknown organisation, and IntegrityError when the token is already used.
    """
    _check_new_offer(offer, now)
    org_id = await organisation_id(session, organisation)
    await session.execute(insert(file_offers).values(
        organisation_id=org_id, token=offer.token, platform=offer.recipient.platform,
        workspace=offer.recipient.workspace, user_id=offer.recipient.user_id, filename=offer.filename,
        content=offer.content, state=FileOfferState.OFFERED.value, lease_until=None, expires_at=offer.expires_at,
        created_at=now, updated_at=now,
    ))


async def claim_file_offer(
    session: AsyncSession,
    organisation: str,
    token: str,
    recipient: FileRecipient,
    *,
    now: datetime,
    lease: timedelta,
) -> FileOfferClaim:
    """Claim the recipient's offer for one upload that must finish within `lease`.

    The claim succeeds for an OFFERED offer, and for an UPLOADING one whose lease has run out
    because its upload stopped without finishing or releasing it.
    """
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return FileOfferClaim(None)
    table = file_offers
    live = _live_offer(org_id, token, recipient, now)
    claimable = or_(
        table.c.state == FileOfferState.OFFERED.value,
        and_(table.c.state == FileOfferState.UPLOADING.value, table.c.lease_until <= now),
    )
    statement = (
        update(table)
        .where(*live, claimable)
        .values(state=FileOfferState.UPLOADING.value, lease_until=now + lease, updated_at=now)
        .returning(table.c.filename, table.c.content)
    )
    row = (await session.execute(statement)).one_or_none()
    if row is not None:
        return FileOfferClaim(FileOfferState.UPLOADING, ClaimedFile(token, row.filename, bytes(row.content)))

    state = await session.scalar(select(table.c.state).where(*live))
    return FileOfferClaim(None if state is None else FileOfferState(state))


async def finish_file_upload(session: AsyncSession, organisation: str, token: str, *, now: datetime) -> None:
    """Mark a claimed offer UPLOADED and delete its content, which the recipient now has."""
    await _change_state(
        session, organisation, token, FileOfferState.UPLOADING, FileOfferState.UPLOADED, now=now, keep_content=False
    )


async def release_file_offer(session: AsyncSession, organisation: str, token: str, *, now: datetime) -> None:
    """Put a claimed offer back in the OFFERED state after a failed upload, so that it can be tried again."""
    await _change_state(
        session, organisation, token, FileOfferState.UPLOADING, FileOfferState.OFFERED, now=now, keep_content=True
    )


async def decline_file_offer(
    session: AsyncSession, organisation: str, token: str, recipient: FileRecipient, *, now: datetime
) -> FileOfferState | None:
    """Mark the recipient's OFFERED offer DECLINED and delete its content.

    Returns OFFERED when this call declined it. Otherwise nothing changes, and the offer's current
    state is returned, or None when the recipient has no live offer with that token.
    """
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return None
    table = file_offers
    live = _live_offer(org_id, token, recipient, now)
    statement = (
        update(table)
        .where(*live, table.c.state == FileOfferState.OFFERED.value)
        .values(state=FileOfferState.DECLINED.value, content=None, updated_at=now)
    )
    if cast(CursorResult[Any], await session.execute(statement)).rowcount == 1:
        return FileOfferState.OFFERED
    state = await session.scalar(select(table.c.state).where(*live))
    return None if state is None else FileOfferState(state)


async def forget_file_offers_before(session: AsyncSession, cutoff: datetime) -> int:
    """Delete the offers of every organisation that expired before `cutoff`, and return how many."""
    result = await session.execute(delete(file_offers).where(file_offers.c.expires_at < cutoff))
    deleted = cast(CursorResult[Any], result).rowcount
    if deleted:
        logger.info("Deleted %d expired file offers.", deleted)
    return deleted


async def _change_state(
    session: AsyncSession,
    organisation: str,
    token: str,
    from_state: FileOfferState,
    to_state: FileOfferState,
    *,
    now: datetime,
    keep_content: bool,
) -> None:
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return
    table = file_offers
    values: dict[str, Any] = {"state": to_state.value, "lease_until": None, "updated_at": now}
    if not keep_content:
        values["content"] = None
    statement = (
        update(table)
        .where(table.c.organisation_id == org_id, table.c.token == token, table.c.state == from_state.value)
        .values(**values)
    )
    if cast(CursorResult[Any], await session.execute(statement)).rowcount == 0:
        # The lease ran out and another upload took the offer over, which then decides its state.
        logger.warning(
            "A file offer of organisation %s was no longer %s, so it was not marked %s.",
            organisation, from_state.value, to_state.value,
        )
