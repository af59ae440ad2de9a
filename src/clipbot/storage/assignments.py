"""Stored role assignments: adding, listing, proposing, confirming and ending them under the NMC rules.

Every write checks the rules against what the database holds: the people involved, the confirmed
assignments of the same student and of the same person, the duties of a coach's shift and the
ward's policy. Ended assignments stay in that history over the dates they ran, so that rules such
as "a different academic assessor for each part of the programme" see past roles. A rejected
assignment raises AssignmentRejected before anything is written.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, case, delete, exists, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clipbot.domain.people import Person
from clipbot.domain.roles import Role, RoleAssignment
from clipbot.domain.rules import AssignmentRejected, RuleContext, check_regulatory, enforce
from clipbot.domain.shifts import shift_key
from clipbot.domain.ward import WardPolicy
from clipbot.storage.common import (
    Counts,
    NotFoundError,
    WardScope,
    chunked,
    find_organisation_id,
    find_ward,
    organisation_id,
    people_by_key,
    person_ids,
    require_ward,
)
from clipbot.storage.models import ASSIGNMENT_STATUSES, duties, people, placements, role_assignments, shifts, wards

logger = logging.getLogger(__name__)

PROPOSED = "proposed"
CONFIRMED = "confirmed"
ENDED = "ended"

_person = people.alias("person")
_student = people.alias("student")


@dataclass(frozen=True, slots=True)
class StoredAssignment:
    """A role assignment with its row id, its status ("proposed", "confirmed" or "ended") and reason."""

    id: int
    assignment: RoleAssignment
    status: str
    reason: str | None


def describe(assignment: RoleAssignment) -> str:
    """Return "N1 as practice assessor for S1" (or "on ward W1"), for messages."""
    text = f"{assignment.person} as {assignment.role}"
    if assignment.student is not None:
        return f"{text} for {assignment.student}"
    if assignment.ward is not None:
        return f"{text} on ward {assignment.ward}"
    return text


def _assignment_query(organisation_id: int) -> Select[Any]:
    ra = role_assignments
    return (
        select(
            ra.c.id, ra.c.role, _person.c.key.label("person_key"), _student.c.key.label("student_key"),
            wards.c.key.label("ward_key"), ra.c.shift_key, ra.c.start, ra.c.end, ra.c.programme_part,
            ra.c.change_reason, ra.c.status, ra.c.reason,
        )
        .select_from(
            ra.join(_person, ra.c.person_id == _person.c.id)
            .outerjoin(_student, ra.c.student_id == _student.c.id)
            .outerjoin(wards, ra.c.ward_id == wards.c.id)
        )
        .where(ra.c.organisation_id == organisation_id)
        .order_by(ra.c.id)
    )


def _stored(row: Row[Any]) -> StoredAssignment:
    assignment = RoleAssignment(
        role=Role(row.role),
        person=row.person_key,
        start=row.start,
        end=row.end,
        student=row.student_key,
        ward=row.ward_key,
        shift=row.shift_key,
        programme_part=row.programme_part,
        change_reason=row.change_reason,
    )
    return StoredAssignment(id=row.id, assignment=assignment, status=row.status, reason=row.reason)


def of_ward(ward_id: Any) -> ColumnElement[bool]:
    """Select the assignments of a ward: those naming it, and student roles over a placement on it.

    A student's practice assessor or supervisor usually names no ward, so it belongs to the wards
    where the student has a placement overlapping the assignment's dates.
    """
    ra = role_assignments
    placed = exists().where(
        placements.c.ward_id == ward_id,
        placements.c.student_id == ra.c.student_id,
        placements.c.start <= ra.c.end,
        ra.c.start <= placements.c.end,
    )
    return or_(ra.c.ward_id == ward_id, and_(ra.c.ward_id.is_(None), placed))


def _same_people(existing: RoleAssignment, new: RoleAssignment) -> bool:
    return existing.person == new.person or (new.student is not None and existing.student == new.student)


# A proposal for one of these student roles replaces a confirmed holder who is someone else.
REPLACEABLE_ROLES = (Role.PRACTICE_ASSESSOR, Role.NAMED_PRACTICE_SUPERVISOR)


def _replaced_by(history: Sequence[StoredAssignment], batch: Sequence[RoleAssignment]) -> dict[int, date]:
    """Map each confirmed student role that `batch` replaces to its new last day.

    A replaced assignment ends the day before its replacement starts, so the rules see the old and
    the new holder one after the other. A last day before the start means it never took effect.
    """
    starts: dict[tuple[str, Role], RoleAssignment] = {}
    for new in batch:
        if new.student is not None and new.role in REPLACEABLE_ROLES:
            key = (new.student, new.role)
            if key not in starts or new.start < starts[key].start:
                starts[key] = new
    last_days: dict[int, date] = {}
    for stored in history:
        old = stored.assignment
        new = starts.get((old.student or "", old.role))
        if stored.status == CONFIRMED and new is not None and new.person != old.person and old.end >= new.start:
            last_days[stored.id] = new.start - timedelta(days=1)
    return last_days


@dataclass(slots=True)
class _RuleChecker:
    """The database's view of the rules for a batch of new assignments, updated as each is accepted."""

    people: dict[str, Person]
    history: list[StoredAssignment]
    on_shift: dict[str, frozenset[str]]
    policy: WardPolicy
    accepted: list[RoleAssignment] = field(default_factory=list)

    def context(self, new: RoleAssignment) -> RuleContext:
        known = [stored.assignment for stored in self.history] + self.accepted
        related = [a for a in known if _same_people(a, new)]
        return RuleContext(people=self.people, assignments=related, on_shift=self.on_shift, policy=self.policy)

    def apply_replacements(self, batch: Sequence[RoleAssignment]) -> dict[int, date]:
        """Shorten the confirmed roles that `batch` replaces, as they will be once it is confirmed."""
        last_days = _replaced_by(self.history, batch)
        self.history = [
            replace(stored, assignment=replace(stored.assignment, end=last_days[stored.id]))
            if stored.id in last_days else stored
            for stored in self.history
        ]
        return last_days

    def confirmed_equal(self, new: RoleAssignment) -> StoredAssignment | None:
        for stored in self.history:
            if stored.status == CONFIRMED and stored.assignment == new:
                return stored
        return None

    def check(self, new: RoleAssignment, status: str) -> None:
        """Raise AssignmentRejected unless `new` may be made. Proposals skip the capacity limits."""
        context = self.context(new)
        if status == CONFIRMED:
            enforce(new, context)
        else:
            violations = check_regulatory(new, context)
            if violations:
                raise AssignmentRejected(new, violations)
        self.accepted.append(new)


async def _load_checker(
    session: AsyncSession, organisation_id: int, items: Sequence[RoleAssignment], ward: WardScope | None
) -> _RuleChecker:
    keys = {a.person for a in items} | {a.student for a in items if a.student is not None}
    ids = list((await person_ids(session, organisation_id, keys)).values())
    ra = role_assignments

    # Confirmed and ended assignments of the same people, skipping any ended before they began.
    history: list[StoredAssignment] = []
    for chunk in chunked(ids):
        query = _assignment_query(organisation_id).where(
            ra.c.status.in_((CONFIRMED, ENDED)),
            ra.c.start <= ra.c.end,
            or_(ra.c.person_id.in_(chunk), ra.c.student_id.in_(chunk)),
        )
        history.extend(_stored(row) for row in (await session.execute(query)).all())
    history = sorted({stored.id: stored for stored in history}.values(), key=lambda stored: stored.id)

    named = set(keys)
    for stored in history:
        named.add(stored.assignment.person)
        if stored.assignment.student is not None:
            named.add(stored.assignment.student)
    found_people = await people_by_key(session, organisation_id, named)

    coaching = [a for a in items if a.role is Role.COACH]
    on_shift: dict[str, frozenset[str]] = {}
    if coaching and ward is not None:
        on_shift = await _people_on_shifts(
            session, ward.id, min(a.start for a in coaching), max(a.end for a in coaching)
        )
    policy = ward.policy if ward is not None else WardPolicy()
    return _RuleChecker(people=found_people, history=history, on_shift=on_shift, policy=policy)


async def _people_on_shifts(
    session: AsyncSession, ward_id: int, first: date, last: date
) -> dict[str, frozenset[str]]:
    query = (
        select(shifts.c.day, shifts.c.type, people.c.key)
        .select_from(
            duties.join(shifts, duties.c.shift_id == shifts.c.id).join(people, duties.c.person_id == people.c.id)
        )
        .where(shifts.c.ward_id == ward_id, shifts.c.day >= first, shifts.c.day <= last)
    )
    on_shift: dict[str, set[str]] = defaultdict(set)
    for row in (await session.execute(query)).all():
        on_shift[shift_key(row.day, row.type)].add(row.key)
    return {key: frozenset(keys) for key, keys in on_shift.items()}


async def _ward_of(
    session: AsyncSession, organisation_id: int, organisation: str, new: RoleAssignment
) -> WardScope | None:
    """Return the ward whose policy and shifts apply: the one named, else the student's placement ward."""
    if new.ward is not None:
        return await require_ward(session, organisation_id, organisation, new.ward)
    if new.student is None:
        return None
    query = (
        select(wards.c.key)
        .select_from(
            placements.join(wards, placements.c.ward_id == wards.c.id)
            .join(people, placements.c.student_id == people.c.id)
        )
        .where(
            people.c.organisation_id == organisation_id,
            people.c.key == new.student,
            placements.c.start <= new.end,
            new.start <= placements.c.end,
        )
        .order_by(placements.c.start, wards.c.key)
        .limit(1)
    )
    ward_key = await session.scalar(query)
    return None if ward_key is None else await find_ward(session, organisation_id, ward_key)


async def _insert(
    session: AsyncSession,
    organisation_id: int,
    organisation: str,
    items: Sequence[tuple[RoleAssignment, str, str | None]],
) -> list[StoredAssignment]:
    if not items:
        return []
    ids = await person_ids(
        session, organisation_id, {a.person for a, _, _ in items} | {a.student for a, _, _ in items if a.student}
    )
    ward_ids: dict[str, int] = {}
    for key in sorted({a.ward for a, _, _ in items if a.ward is not None}):
        ward_ids[key] = (await require_ward(session, organisation_id, organisation, key)).id

    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for assignment, status, reason in items:
        for key in (assignment.person, assignment.student):
            if key is not None and key not in ids:
                raise NotFoundError(
                    f"Person {key!r} not found in organisation {organisation!r}. Import a roster that lists them first."
                )
        rows.append({
            "organisation_id": organisation_id,
            "role": assignment.role.value,
            "person_id": ids[assignment.person],
            "student_id": None if assignment.student is None else ids[assignment.student],
            "ward_id": None if assignment.ward is None else ward_ids[assignment.ward],
            "shift_key": assignment.shift,
            "start": assignment.start,
            "end": assignment.end,
            "programme_part": assignment.programme_part,
            "change_reason": assignment.change_reason,
            "status": status,
            "reason": reason,
            "created_at": now,
            "confirmed_at": now if status == CONFIRMED else None,
        })

    statement = insert(role_assignments).returning(role_assignments.c.id, sort_by_parameter_order=True)
    new_ids = (await session.execute(statement, rows)).scalars().all()
    return [
        StoredAssignment(id=new_id, assignment=assignment, status=status, reason=reason)
        for new_id, (assignment, status, reason) in zip(new_ids, items, strict=True)
    ]


async def add_assignment(
    session: AsyncSession,
    organisation: str,
    assignment: RoleAssignment,
    *,
    status: str = CONFIRMED,
    reason: str | None = None,
) -> StoredAssignment:
    """Check `assignment` against the rules and store it; an equal confirmed one is returned as it is.

    A confirmed assignment must pass every NMC rule and the ward's capacity limits. A proposal must
    pass the NMC rules only, because capacity is checked again when it is confirmed. Raises
    AssignmentRejected with nothing written.
    """
    if status not in (PROPOSED, CONFIRMED):
        raise ValueError(f"An assignment is added as 'proposed' or 'confirmed', not {status!r}.")
    org_id = await organisation_id(session, organisation)
    ward = await _ward_of(session, org_id, organisation, assignment)
    checker = await _load_checker(session, org_id, [assignment], ward)

    if status == CONFIRMED:
        existing = checker.confirmed_equal(assignment)
        if existing is not None:
            return existing
    checker.check(assignment, status)

    [stored] = await _insert(session, org_id, organisation, [(assignment, status, reason)])
    logger.info("Stored %s assignment %d in organisation %s: %s", status, stored.id, organisation, describe(assignment))
    return stored


async def save_presets(
    session: AsyncSession, organisation_id: int, organisation: str, ward: WardScope, presets: Sequence[RoleAssignment]
) -> Counts:
    """Store a roster's own assignments as confirmed, skipping those already stored."""
    if not presets:
        return Counts()
    checker = await _load_checker(session, organisation_id, presets, ward)
    new: list[RoleAssignment] = []
    unchanged = 0
    for assignment in presets:
        if checker.confirmed_equal(assignment) is not None or assignment in new:
            unchanged += 1
            continue
        checker.check(assignment, CONFIRMED)
        new.append(assignment)
    await _insert(session, organisation_id, organisation, [(assignment, CONFIRMED, None) for assignment in new])
    return Counts(created=len(new), unchanged=unchanged)


async def list_assignments(
    session: AsyncSession,
    organisation: str,
    *,
    ward: str | None = None,
    student: str | None = None,
    person: str | None = None,
    roles: Collection[Role] | None = None,
    statuses: Collection[str] = (CONFIRMED,),
    on: date | None = None,
) -> list[StoredAssignment]:
    """Return the organisation's assignments matching every filter given, oldest first.

    `ward` selects the ward's assignments as `of_ward` defines them, and `on` keeps those whose
    dates include that day. Unknown organisation, ward, student or person keys match nothing.
    """
    unknown = set(statuses) - set(ASSIGNMENT_STATUSES)
    if unknown:
        raise ValueError(f"Unknown assignment status {sorted(unknown)}; use {', '.join(ASSIGNMENT_STATUSES)}.")
    org_id = await find_organisation_id(session, organisation)
    if org_id is None:
        return []
    ra = role_assignments
    query = _assignment_query(org_id).where(ra.c.status.in_(list(statuses)))

    if ward is not None:
        ward_id = select(wards.c.id).where(wards.c.organisation_id == org_id, wards.c.key == ward).scalar_subquery()
        query = query.where(of_ward(ward_id))
    if student is not None:
        query = query.where(_student.c.key == student)
    if person is not None:
        query = query.where(_person.c.key == person)
    if roles is not None:
        query = query.where(ra.c.role.in_([role.value for role in roles]))
    if on is not None:
        query = query.where(ra.c.start <= on, ra.c.end >= on)
    return [_stored(row) for row in (await session.execute(query)).all()]


async def replace_proposals(
    session: AsyncSession, organisation: str, ward: str, proposals: Sequence[tuple[RoleAssignment, str]]
) -> list[StoredAssignment]:
    """Delete the ward's proposals and store these (assignment, reason) pairs as its new ones.

    Each proposal must name this ward, or be for a student placed on it over the proposal's dates.
    Each is checked against the NMC rules, counting the proposals before it, and AssignmentRejected
    leaves the old proposals in place.
    """
    org_id = await organisation_id(session, organisation)
    scope = await require_ward(session, org_id, organisation, ward)
    await _check_proposals_belong(session, scope, [assignment for assignment, _ in proposals])

    checker = await _load_checker(session, org_id, [assignment for assignment, _ in proposals], scope)
    checker.apply_replacements([assignment for assignment, _ in proposals])
    for assignment, _ in proposals:
        checker.check(assignment, PROPOSED)

    ra = role_assignments
    removed = await session.execute(
        delete(ra).where(ra.c.organisation_id == org_id, ra.c.status == PROPOSED, of_ward(scope.id))
    )
    stored = await _insert(session, org_id, organisation, [(a, PROPOSED, reason) for a, reason in proposals])
    logger.info(
        "Replaced %d proposals with %d on ward %s in organisation %s", removed.rowcount, len(stored), ward, organisation
    )
    return stored


async def _check_proposals_belong(
    session: AsyncSession, ward: WardScope, proposals: Sequence[RoleAssignment]
) -> None:
    query = (
        select(people.c.key, placements.c.start, placements.c.end)
        .select_from(placements.join(people, placements.c.student_id == people.c.id))
        .where(placements.c.ward_id == ward.id)
    )
    placed: dict[str, list[tuple[date, date]]] = defaultdict(list)
    for row in (await session.execute(query)).all():
        placed[row.key].append((row.start, row.end))

    problems: list[str] = []
    seen: set[RoleAssignment] = set()
    for proposal in proposals:
        if proposal in seen:
            problems.append(f"The proposal of {describe(proposal)} is listed twice. Send each proposal once.")
        seen.add(proposal)
        if proposal.ward is not None:
            if proposal.ward != ward.key:
                problems.append(
                    f"The proposal of {describe(proposal)} names ward {proposal.ward}, not {ward.key}. "
                    f"Send it with that ward's proposals."
                )
            continue
        spans = placed.get(proposal.student or "", [])
        if not any(start <= proposal.end and proposal.start <= end for start, end in spans):
            student_name = proposal.student or "The student named in the proposal"
            problems.append(
                f"{student_name} has no placement on ward {ward.key} between {proposal.start:%d %b %Y} and "
                f"{proposal.end:%d %b %Y}, so the proposal of {describe(proposal)} does not belong to it. "
                f"Import the ward's roster with the placement first."
            )
    if problems:
        raise ValueError(" ".join(problems))


async def confirm_proposals(session: AsyncSession, organisation: str, ward: str) -> list[StoredAssignment]:
    """Confirm every proposal of the ward, checking each against all the rules first.

    A proposal equal to a confirmed assignment, or to an earlier proposal, is deleted and the
    confirmed one returned in its place. AssignmentRejected confirms none of them.
    """
    org_id = await organisation_id(session, organisation)
    scope = await require_ward(session, org_id, organisation, ward)
    ra = role_assignments
    query = _assignment_query(org_id).where(ra.c.status == PROPOSED, of_ward(scope.id))
    proposals = [_stored(row) for row in (await session.execute(query)).all()]
    if not proposals:
        return []

    checker = await _load_checker(session, org_id, [stored.assignment for stored in proposals], scope)
    replaced = checker.apply_replacements([stored.assignment for stored in proposals])
    confirmed: list[StoredAssignment] = []
    in_batch: dict[RoleAssignment, StoredAssignment] = {}
    confirm_ids: list[int] = []
    duplicate_ids: list[int] = []
    for proposal in proposals:
        existing = checker.confirmed_equal(proposal.assignment) or in_batch.get(proposal.assignment)
        if existing is not None:
            duplicate_ids.append(proposal.id)
            confirmed.append(existing)
            continue
        checker.check(proposal.assignment, CONFIRMED)
        confirm_ids.append(proposal.id)
        in_batch[proposal.assignment] = StoredAssignment(proposal.id, proposal.assignment, CONFIRMED, proposal.reason)
        confirmed.append(in_batch[proposal.assignment])

    now = datetime.now(UTC)
    for assignment_id, last_day in replaced.items():
        await session.execute(
            update(ra).where(ra.c.id == assignment_id).values(status=ENDED, end=last_day, reason="replaced by a new match")
        )
    for chunk in chunked(confirm_ids):
        await session.execute(update(ra).where(ra.c.id.in_(chunk)).values(status=CONFIRMED, confirmed_at=now))
    for chunk in chunked(duplicate_ids):
        await session.execute(delete(ra).where(ra.c.id.in_(chunk)))
    logger.info(
        "Confirmed %d proposals on ward %s in organisation %s and deleted %d duplicates",
        len(confirm_ids), ward, organisation, len(duplicate_ids),
    )
    return confirmed


async def end_assignments(
    session: AsyncSession, organisation: str, ids: Collection[int], *, on: date, reason: str
) -> None:
    """End confirmed assignments: `on` becomes their last day unless they end earlier.

    `reason` replaces the stored reason. Ended assignments are left as they are. Raises
    NotFoundError for ids outside the organisation and ValueError for proposals, changing nothing.
    """
    if not reason.strip():
        raise ValueError("Give a reason for ending the assignments, for example long-term sickness.")
    requested = sorted(set(ids))
    if not requested:
        return
    org_id = await organisation_id(session, organisation)
    ra = role_assignments

    statuses: dict[int, str] = {}
    for chunk in chunked(requested):
        query = select(ra.c.id, ra.c.status).where(ra.c.organisation_id == org_id, ra.c.id.in_(chunk))
        statuses.update({row.id: row.status for row in (await session.execute(query)).all()})
    missing = [assignment_id for assignment_id in requested if assignment_id not in statuses]
    if missing:
        raise NotFoundError(f"Assignments {missing} not found in organisation {organisation!r}. Check the ids.")
    proposed = [assignment_id for assignment_id, status in statuses.items() if status == PROPOSED]
    if proposed:
        raise ValueError(
            f"Assignments {sorted(proposed)} are proposals, not confirmed assignments. "
            f"Replace or confirm the ward's proposals instead of ending them."
        )

    for chunk in chunked(requested):
        await session.execute(
            update(ra)
            .where(ra.c.organisation_id == org_id, ra.c.id.in_(chunk), ra.c.status == CONFIRMED)
            .values(status=ENDED, end=case((ra.c.end > on, on), else_=ra.c.end), reason=reason)
        )
    logger.info("Ended %d assignments in organisation %s on %s", len(requested), organisation, on.isoformat())
