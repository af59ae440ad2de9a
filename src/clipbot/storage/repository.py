"""The storage API: async functions over an AsyncSession, each scoped to one organisation.

Every function takes the organisation key and reads or writes only that organisation's rows. None
of them commits: the caller owns the transaction (see `Database.transaction`). Look-ups in an
organisation that does not exist yet find nothing. Writes to it, and `load_roster`, raise
NotFoundError. The chat platform functions of `clipbot.storage.platforms` are re-exported here, and
of them only `record_event` and `forget_events_before` take no organisation. So are the outbox
functions of `clipbot.storage.outbox`, of which only `enqueue` takes one: outbox messages are found
by their idempotency key or id, which are unique across organisations.
The protected-time, rating and pause functions of `clipbot.storage.workflows` are re-exported too, and
so are the file offer functions of `clipbot.storage.file_offers`.
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clipbot.domain.people import Person
from clipbot.domain.ward import LearningEnvironment
from clipbot.storage.assignments import (
    CONFIRMED,
    ENDED,
    PROPOSED,
    StoredAssignment,
    add_assignment,
    confirm_proposals,
    end_assignments,
    list_assignments,
    replace_proposals,
)
from clipbot.storage.common import (
    Counts,
    NotFoundError,
    find_organisation_id,
    organisation_id,
    person_from_row,
    person_values,
    require_ward,
    ward_from_row,
)
from clipbot.storage.file_offers import (
    ClaimedFile,
    FileOfferClaim,
    FileOfferState,
    FileRecipient,
    NewFileOffer,
    claim_file_offer,
    decline_file_offer,
    finish_file_upload,
    forget_file_offers_before,
    release_file_offer,
    save_file_offer,
)
from clipbot.storage.models import organisations, people, placements, ward_members, wards
from clipbot.storage.outbox import (
    ClaimedMessage,
    NewMessage,
    OutboxState,
    RecipientKind,
    StoredMessage,
    claim_due,
    counts,
    drop_pending,
    enqueue,
    find_message,
    live_messages,
    mark_dropped,
    mark_failed,
    mark_retry,
    mark_sent,
    record_sent,
    replace_payload,
    reschedule,
)
from clipbot.storage.platforms import (
    SLACK,
    TEAMS,
    ChatAccount,
    ChatIdentity,
    WardChannel,
    channel_reference_key,
    chat_accounts_of_person,
    list_organisations,
    forget_events_before,
    identity_of_person,
    link_identity,
    link_workspace,
    load_reference,
    mark_unreachable,
    organisation_of_workspace,
    person_for_user,
    record_event,
    save_reference,
    set_ward_channel,
    user_for_person,
    user_reference_key,
    ward_channel,
)
from clipbot.storage.rosters import ImportReport, InvalidRosterError, load_roster, save_roster
from clipbot.storage.workflows import (
    ACTIVE_STATES,
    NewRating,
    NewSession,
    ProtectedSession,
    RatingSubject,
    RatingTotal,
    SessionState,
    add_rating,
    add_session,
    change_session_state,
    clear_pause,
    find_session,
    has_rated,
    list_sessions,
    paused_until,
    rating_totals,
    set_pause,
)

__all__ = [
    "ACTIVE_STATES",
    "CONFIRMED",
    "ENDED",
    "PROPOSED",
    "SLACK",
    "TEAMS",
    "ChatAccount",
    "ChatIdentity",
    "ClaimedFile",
    "ClaimedMessage",
    "Counts",
    "FileOfferClaim",
    "FileOfferState",
    "FileRecipient",
    "ImportReport",
    "InvalidRosterError",
    "NewFileOffer",
    "NewMessage",
    "NewRating",
    "NewSession",
    "NotFoundError",
    "OutboxState",
    "ProtectedSession",
    "RatingSubject",
    "RatingTotal",
    "RecipientKind",
    "SessionState",
    "StoredAssignment",
    "StoredMessage",
    "WardChannel",
    "add_assignment",
    "add_person",
    "add_rating",
    "add_session",
    "change_session_state",
    "channel_reference_key",
    "chat_accounts_of_person",
    "claim_due",
    "claim_file_offer",
    "clear_pause",
    "confirm_proposals",
    "counts",
    "decline_file_offer",
    "drop_pending",
    "end_assignments",
    "enqueue",
    "ensure_organisation",
    "find_message",
    "find_people",
    "find_person",
    "find_person_by_email",
    "find_session",
    "finish_file_upload",
    "forget_events_before",
    "forget_file_offers_before",
    "has_rated",
    "identity_of_person",
    "link_identity",
    "link_workspace",
    "list_assignments",
    "list_organisations",
    "list_sessions",
    "list_wards",
    "live_messages",
    "load_reference",
    "load_roster",
    "mark_dropped",
    "mark_failed",
    "mark_retry",
    "mark_sent",
    "mark_unreachable",
    "organisation_of_workspace",
    "paused_until",
    "people_with_email",
    "person_for_user",
    "rating_totals",
    "record_event",
    "record_sent",
    "release_file_offer",
    "replace_payload",
    "replace_proposals",
    "reschedule",
    "save_file_offer",
    "save_reference",
    "save_roster",
    "set_pause",
    "set_ward_channel",
    "user_for_person",
    "user_reference_key",
    "ward_channel",
    "ward_of_student",
    "wards_of_person",
]

logger = logging.getLogger(__name__)


async def ensure_organisation(session: AsyncSession, key: str, name: str | None = None) -> None:
    """Create the organisation if it is new. A `name` given for an existing one replaces its name."""
    if not key.strip():
        raise ValueError("The organisation key is empty. Give a short key such as the trust's code.")
    query = select(organisations.c.id, organisations.c.name).where(organisations.c.key == key)
    row = (await session.execute(query)).one_or_none()
    if row is None:
        await session.execute(insert(organisations).values(key=key, name=name or key))
        logger.info("Created organisation %s", key)
    elif name is not None and name != row.name:
        await session.execute(update(organisations).where(organisations.c.id == row.id).values(name=name))


async def list_wards(session: AsyncSession, organisation: str) -> list[LearningEnvironment]:
    """Return the organisation's wards, ordered by key."""
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return []
    query = select(wards).where(wards.c.organisation_id == org_id).order_by(wards.c.key)
    return [ward_from_row(row) for row in (await session.execute(query)).all()]


async def find_person_by_email(session: AsyncSession, organisation: str, email: str) -> Person | None:
    """Return the one person whose e-mail matches, ignoring case, or None if none or several do."""
    found = await people_with_email(session, organisation, email)
    return found[0] if len(found) == 1 else None


async def people_with_email(session: AsyncSession, organisation: str, email: str) -> list[Person]:
    """Return everyone whose e-mail matches, ignoring case, ordered by key."""
    org_id = await find_organisation_id(session, organisation)
    address = email.strip().casefold()
    if org_id is None or not address:
        return []
    query = (
        select(people)
        .where(people.c.organisation_id == org_id, people.c.email.is_not(None))
        .order_by(people.c.key)
    )
    rows = (await session.execute(query)).all()
    return [person_from_row(row) for row in rows if row.email.strip().casefold() == address]


async def wards_of_person(session: AsyncSession, organisation: str, key: str) -> list[str]:
    """Return the keys of the wards whose roster lists the person."""
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return []
    query = (
        select(wards.c.key)
        .select_from(ward_members.join(wards, ward_members.c.ward_id == wards.c.id)
                     .join(people, ward_members.c.person_id == people.c.id))
        .where(people.c.organisation_id == org_id, people.c.key == key)
        .order_by(wards.c.key)
    )
    return list((await session.scalars(query)).all())


async def find_person(session: AsyncSession, organisation: str, key: str) -> Person | None:
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return None
    query = select(people).where(people.c.organisation_id == org_id, people.c.key == key)
    row = (await session.execute(query)).one_or_none()
    return None if row is None else person_from_row(row)


async def find_people(session: AsyncSession, organisation: str, text: str) -> list[Person]:
    """Return the person whose key is exactly `text`, else everyone whose name contains it in any case.

    Name matches are ordered by name, then key. Blank text returns an empty list.
    """
    text = text.strip()
    if not text:
        return []
    exact = await find_person(session, organisation, text)
    if exact is not None:
        return [exact]

    # Matched in Python with casefold, because SQLite's lower() and LIKE ignore case for ASCII only.
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return []
    query = select(people).where(people.c.organisation_id == org_id)
    expected = text.casefold()
    found = [person_from_row(row) for row in (await session.execute(query)).all() if expected in row.name.casefold()]
    return sorted(found, key=lambda person: (person.name.casefold(), person.key))


async def add_person(session: AsyncSession, organisation: str, person: Person, *, ward: str | None = None) -> None:
    """Store a person outside any roster import, such as an educator or academic assessor.

    A person with the same key is updated to these details. With `ward`, they are also listed on
    that ward's roster.
    """
    org_id = await organisation_id(session, organisation)
    values = person_values(person)
    query = select(people.c.id).where(people.c.organisation_id == org_id, people.c.key == person.key)
    person_id = await session.scalar(query)
    if person_id is None:
        statement = insert(people).values(organisation_id=org_id, **values).returning(people.c.id)
        person_id = (await session.execute(statement)).scalar_one()
        logger.info("Added person %s to organisation %s", person.key, organisation)
    else:
        await session.execute(update(people).where(people.c.id == person_id).values(**values))

    if ward is None:
        return
    scope = await require_ward(session, org_id, organisation, ward)
    membership = select(ward_members.c.person_id).where(
        ward_members.c.ward_id == scope.id, ward_members.c.person_id == person_id
    )
    if await session.scalar(membership) is None:
        await session.execute(insert(ward_members).values(ward_id=scope.id, person_id=person_id))


async def ward_of_student(session: AsyncSession, organisation: str, student: str, on: date) -> str | None:
    """Return the key of the ward where `student` is placed on day `on`, or will be next, or None.

    When placements on two wards cover the day, the one that started last is returned. With none
    covering it, the first placement starting after it is returned.
    """
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return None
    base = (
        select(wards.c.key)
        .select_from(
            placements.join(wards, placements.c.ward_id == wards.c.id)
            .join(people, placements.c.student_id == people.c.id)
        )
        .where(people.c.organisation_id == org_id, people.c.key == student, placements.c.end >= on)
        .limit(1)
    )
    current = await session.scalar(
        base.where(placements.c.start <= on).order_by(placements.c.start.desc(), wards.c.key)
    )
    if current is not None:
        return current
    return await session.scalar(base.order_by(placements.c.start, wards.c.key))
