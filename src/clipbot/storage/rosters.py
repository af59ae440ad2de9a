"""Saving a ward's Roster in bulk and loading it back.

`save_roster` is idempotent: saving the same Roster again changes nothing. The roster's date range
runs from its first to its last shift day. Within that range the ward's stored shifts and duties,
and its people's leave, become exactly the roster's, so a roster without shifts removes nothing.
People, the ward and placements are upserted by key and never removed by an import. The roster's
own assignments are added as confirmed unless an equal one is already stored. Nothing is
committed: the caller owns the transaction, and a dry run is the same call followed by a rollback.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clipbot.domain.people import Person
from clipbot.domain.roles import Placement
from clipbot.domain.roster import Roster
from clipbot.domain.shifts import Duty, Leave, Shift, shift_key
from clipbot.storage.assignments import CONFIRMED, list_assignments, save_presets
from clipbot.storage.common import (
    Counts,
    WardScope,
    check_timezone,
    chunked,
    organisation_id,
    person_from_row,
    person_rows,
    person_values,
    policy_to_json,
    require_ward,
    ward_from_row,
)
from clipbot.storage.models import (
    DutyRecord,
    LeaveRecord,
    PersonRecord,
    PlacementRecord,
    ShiftRecord,
    duties,
    leave,
    people,
    placements,
    shifts,
    ward_members,
    wards,
)

logger = logging.getLogger(__name__)


class InvalidRosterError(ValueError):
    """Error for a Roster that contradicts itself, so nothing of it was saved. `problems` lists every fault."""

    def __init__(self, ward: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"The roster of ward {ward} was not saved: " + " ".join(self.problems))


@dataclass(frozen=True, slots=True)
class ImportReport:
    """Row counts of one `save_roster` call, per kind of row."""

    people: Counts
    shifts: Counts
    duties: Counts
    leave: Counts
    placements: Counts
    assignments: Counts
    ward: Counts = Counts()

    def items(self) -> list[tuple[str, Counts]]:
        return [
            ("ward", self.ward), ("people", self.people), ("shifts", self.shifts), ("duties", self.duties),
            ("leave", self.leave), ("placements", self.placements), ("assignments", self.assignments),
        ]

    @property
    def changed(self) -> bool:
        return any(counts.changed for _, counts in self.items())

    def __str__(self) -> str:
        return "; ".join(f"{kind}: {counts}" for kind, counts in self.items())


def _check_roster(roster: Roster) -> list[str]:
    """Return every way the roster contradicts itself. Importers normally catch these first."""
    ward = roster.ward.key
    problems: list[str] = []
    timezone_problem = check_timezone(roster.ward.policy.timezone)
    if timezone_problem:
        problems.append(timezone_problem)

    for key, person in roster.people.items():
        if person.key != key:
            problems.append(f"Person {person.key} is listed under the key {key}. Use the person's own key.")
    for key, shift in roster.shifts.items():
        if shift.key != key or shift.ward != ward:
            problems.append(f"Shift {key} is for ward {shift.ward} on {shift.key}. List it under its own key and ward.")
        for moment in (shift.starts_at, shift.ends_at):
            if moment.utcoffset() is None:
                problems.append(
                    f"Shift {key} has a time without a time zone ({moment.isoformat()}). Give it the ward's time zone."
                )

    def check_person(key: str | None, what: str) -> None:
        if key is not None and key not in roster.people:
            problems.append(f"{what} names {key}, who is not in the roster's people. Add them to the people list.")

    seen_duties: set[tuple[str, str]] = set()
    for duty in roster.duties:
        if duty.shift_key not in roster.shifts:
            problems.append(f"A duty of {duty.person} is on shift {duty.shift_key}, which the roster does not list.")
        if (duty.shift_key, duty.person) in seen_duties:
            problems.append(f"{duty.person} is on shift {duty.shift_key} twice. List each duty once.")
        seen_duties.add((duty.shift_key, duty.person))
        check_person(duty.person, f"The duty on {duty.shift_key}")
        check_person(duty.coach, f"The coach on {duty.shift_key}")

    seen_leave: set[tuple[str, date]] = set()
    for item in roster.leave:
        if (item.person, item.start) in seen_leave:
            problems.append(f"{item.person} has two periods of leave starting {item.start:%d %b %Y}. Merge them.")
        seen_leave.add((item.person, item.start))
        check_person(item.person, f"Leave from {item.start:%d %b %Y}")

    seen_placements: set[tuple[str, date]] = set()
    for placement in roster.placements:
        if placement.ward != ward:
            problems.append(
                f"The placement of {placement.student} is on ward {placement.ward}, not {ward}. "
                f"Import it with that ward."
            )
            continue
        if (placement.student, placement.start) in seen_placements:
            problems.append(f"{placement.student} has two placements starting {placement.start:%d %b %Y}. Keep one.")
        seen_placements.add((placement.student, placement.start))
        check_person(placement.student, "A placement")

    for assignment in roster.assignments:
        if assignment.ward not in (None, ward):
            problems.append(
                f"The {assignment.role} role of {assignment.person} is for ward {assignment.ward}, not {ward}. "
                f"Import it with that ward."
            )
    return problems


async def save_roster(session: AsyncSession, organisation: str, roster: Roster) -> ImportReport:
    """Write a ward's Roster in a few bulk statements, as the module docstring describes.

    The caller commits or rolls back. Raises InvalidRosterError for a roster that contradicts
    itself, and AssignmentRejected when one of its own assignments breaks a rule given what is
    already stored.
    """
    org_id = await organisation_id(session, organisation)
    problems = _check_roster(roster)
    if problems:
        raise InvalidRosterError(roster.ward.key, problems)

    ward, ward_counts = await _upsert_ward(session, org_id, roster)
    people_counts, ids = await _upsert_people(session, org_id, roster.people.values())
    await _add_members(session, ward.id, list(ids.values()))

    days = sorted(shift.day for shift in roster.shifts.values())
    span = (days[0], days[-1]) if days else None
    shift_counts, duty_counts = await _replace_shifts(session, ward.id, roster, ids, span)
    leave_counts = await _replace_leave(session, roster.leave, ids, span)
    placement_counts = await _upsert_placements(session, ward.id, roster.placements, ids)
    assignment_counts = await save_presets(session, org_id, organisation, ward, roster.assignments)

    report = ImportReport(
        people=people_counts, shifts=shift_counts, duties=duty_counts, leave=leave_counts,
        placements=placement_counts, assignments=assignment_counts, ward=ward_counts,
    )
    logger.info("Wrote the roster of ward %s in organisation %s, not yet committed: %s", ward.key, organisation, report)
    return report


async def _upsert_ward(session: AsyncSession, organisation_id: int, roster: Roster) -> tuple[WardScope, Counts]:
    values = {"name": roster.ward.name, "policy": policy_to_json(roster.ward.policy)}
    query = select(wards.c.id, wards.c.name, wards.c.policy).where(
        wards.c.organisation_id == organisation_id, wards.c.key == roster.ward.key
    )
    row = (await session.execute(query)).one_or_none()
    if row is None:
        statement = insert(wards).values(organisation_id=organisation_id, key=roster.ward.key, **values)
        ward_id = (await session.execute(statement.returning(wards.c.id))).scalar_one()
        counts = Counts(created=1)
    elif (row.name, row.policy) != (values["name"], values["policy"]):
        ward_id = row.id
        await session.execute(update(wards).where(wards.c.id == ward_id).values(**values))
        counts = Counts(updated=1)
    else:
        ward_id = row.id
        counts = Counts(unchanged=1)
    return WardScope(ward_id, roster.ward.key, roster.ward.policy), counts


async def _upsert_people(
    session: AsyncSession, organisation_id: int, roster_people: Collection[Person]
) -> tuple[Counts, dict[str, int]]:
    existing = {row.key: row for row in await person_rows(session, organisation_id, [p.key for p in roster_people])}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for person in roster_people:
        row = existing.get(person.key)
        if row is not None and person.email is None and row.email:
            # A roster without an e-mail for someone keeps the one stored, for example one set by
            # `clipbot educator --email` or an earlier import: rotas often carry no e-mails at all.
            person = dataclasses.replace(person, email=row.email)
        values = person_values(person)
        if row is None:
            inserts.append({"organisation_id": organisation_id, **values})
        elif person_from_row(row) != person:
            updates.append({"id": row.id, **values})

    ids = {key: row.id for key, row in existing.items()}
    if inserts:
        statement = insert(people).returning(people.c.id, people.c.key)
        ids.update({row.key: row.id for row in (await session.execute(statement, inserts)).all()})
    if updates:
        await session.execute(update(PersonRecord), updates)
    unchanged = len(roster_people) - len(inserts) - len(updates)
    return Counts(created=len(inserts), updated=len(updates), unchanged=unchanged), ids


async def _add_members(session: AsyncSession, ward_id: int, ids: Sequence[int]) -> None:
    query = select(ward_members.c.person_id).where(ward_members.c.ward_id == ward_id)
    members = set((await session.execute(query)).scalars().all())
    new = [{"ward_id": ward_id, "person_id": person_id} for person_id in ids if person_id not in members]
    if new:
        await session.execute(insert(ward_members), new)


async def _replace_shifts(
    session: AsyncSession, ward_id: int, roster: Roster, ids: dict[str, int], span: tuple[date, date] | None
) -> tuple[Counts, Counts]:
    """Make the ward's shifts and duties within `span` those of the roster, and return their counts."""
    if span is None:
        return Counts(), Counts()
    in_span = (shifts.c.ward_id == ward_id, shifts.c.day >= span[0], shifts.c.day <= span[1])

    # Shifts: keep the rows of unchanged shifts so that their duties keep their ids.
    query = select(shifts.c.id, shifts.c.day, shifts.c.type, shifts.c.starts_at, shifts.c.ends_at).where(*in_span)
    stored = {shift_key(row.day, row.type): row for row in (await session.execute(query)).all()}
    shift_inserts: list[dict[str, Any]] = []
    shift_updates: list[dict[str, Any]] = []
    for key, shift in roster.shifts.items():
        row = stored.get(key)
        times = {"starts_at": shift.starts_at, "ends_at": shift.ends_at}
        if row is None:
            shift_inserts.append({"ward_id": ward_id, "day": shift.day, "type": shift.type, **times})
        elif (row.starts_at, row.ends_at) != (shift.starts_at, shift.ends_at):
            shift_updates.append({"id": row.id, **times})
    removed_shifts = [row.id for key, row in stored.items() if key not in roster.shifts]

    # Duties, keyed by (shift id, person id) once the new shifts have ids.
    query = (
        select(duties.c.id, duties.c.shift_id, duties.c.person_id, duties.c.in_charge, duties.c.coach_id)
        .select_from(duties.join(shifts, duties.c.shift_id == shifts.c.id))
        .where(*in_span)
    )
    stored_duties = {(row.shift_id, row.person_id): row for row in (await session.execute(query)).all()}
    shift_ids = {key: row.id for key, row in stored.items()}
    if shift_inserts:
        statement = insert(shifts).returning(shifts.c.id, shifts.c.day, shifts.c.type)
        for row in (await session.execute(statement, shift_inserts)).all():
            shift_ids[shift_key(row.day, row.type)] = row.id

    duty_inserts: list[dict[str, Any]] = []
    duty_updates: list[dict[str, Any]] = []
    in_file: set[tuple[int, int]] = set()
    for duty in roster.duties:
        pair = (shift_ids[duty.shift_key], ids[duty.person])
        in_file.add(pair)
        values = {"in_charge": duty.in_charge, "coach_id": None if duty.coach is None else ids[duty.coach]}
        row = stored_duties.get(pair)
        if row is None:
            duty_inserts.append({"shift_id": pair[0], "person_id": pair[1], **values})
        elif (bool(row.in_charge), row.coach_id) != (values["in_charge"], values["coach_id"]):
            duty_updates.append({"id": row.id, **values})
    removed_duties = [row.id for pair, row in stored_duties.items() if pair not in in_file]

    for chunk in chunked(removed_duties):
        await session.execute(delete(duties).where(duties.c.id.in_(chunk)))
    for chunk in chunked(removed_shifts):
        await session.execute(delete(shifts).where(shifts.c.id.in_(chunk)))
    if shift_updates:
        await session.execute(update(ShiftRecord), shift_updates)
    if duty_inserts:
        await session.execute(insert(duties), duty_inserts)
    if duty_updates:
        await session.execute(update(DutyRecord), duty_updates)

    shift_counts = Counts(
        created=len(shift_inserts), updated=len(shift_updates), removed=len(removed_shifts),
        unchanged=len(roster.shifts) - len(shift_inserts) - len(shift_updates),
    )
    duty_counts = Counts(
        created=len(duty_inserts), updated=len(duty_updates), removed=len(removed_duties),
        unchanged=len(roster.duties) - len(duty_inserts) - len(duty_updates),
    )
    return shift_counts, duty_counts


async def _replace_leave(
    session: AsyncSession, roster_leave: Sequence[Leave], ids: dict[str, int], span: tuple[date, date] | None
) -> Counts:
    """Upsert leave by (person, start) and remove the roster people's other leave that overlaps `span`."""
    stored: dict[tuple[int, date], Row[Any]] = {}
    for chunk in chunked(sorted(ids.values())):
        query = select(leave.c.id, leave.c.person_id, leave.c.start, leave.c.end).where(leave.c.person_id.in_(chunk))
        stored.update({(row.person_id, row.start): row for row in (await session.execute(query)).all()})

    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    in_file: set[tuple[int, date]] = set()
    for item in roster_leave:
        pair = (ids[item.person], item.start)
        in_file.add(pair)
        row = stored.get(pair)
        if row is None:
            inserts.append({"person_id": pair[0], "start": item.start, "end": item.end})
        elif row.end != item.end:
            updates.append({"id": row.id, "end": item.end})
    removed = [
        row.id for pair, row in stored.items()
        if pair not in in_file and span is not None and row.start <= span[1] and span[0] <= row.end
    ]

    for chunk in chunked(removed):
        await session.execute(delete(leave).where(leave.c.id.in_(chunk)))
    if inserts:
        await session.execute(insert(leave), inserts)
    if updates:
        await session.execute(update(LeaveRecord), updates)
    unchanged = len(roster_leave) - len(inserts) - len(updates)
    return Counts(created=len(inserts), updated=len(updates), unchanged=unchanged, removed=len(removed))


async def _upsert_placements(
    session: AsyncSession, ward_id: int, roster_placements: Sequence[Placement], ids: dict[str, int]
) -> Counts:
    query = select(placements.c.id, placements.c.student_id, placements.c.start, placements.c.end).where(
        placements.c.ward_id == ward_id
    )
    stored = {(row.student_id, row.start): row for row in (await session.execute(query)).all()}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for placement in roster_placements:
        row = stored.get((ids[placement.student], placement.start))
        if row is None:
            row_values = {"ward_id": ward_id, "start": placement.start, "end": placement.end}
            inserts.append({"student_id": ids[placement.student], **row_values})
        elif row.end != placement.end:
            updates.append({"id": row.id, "end": placement.end})

    if inserts:
        await session.execute(insert(placements), inserts)
    if updates:
        await session.execute(update(PlacementRecord), updates)
    unchanged = len(roster_placements) - len(inserts) - len(updates)
    return Counts(created=len(inserts), updated=len(updates), unchanged=unchanged)


async def load_roster(
    session: AsyncSession, organisation: str, ward: str, *, start: date | None = None, end: date | None = None
) -> Roster:
    """Load a ward's Roster: its people, shifts, duties, leave, placements and confirmed assignments.

    The people are those its imports (or `add_person`) listed on the ward, so someone named only by
    an assignment, such as a clinical educator added later, is not among them. `start` and `end`
    (inclusive) keep the shifts on those days and the leave, placements and assignments that overlap
    them. Shift times are in the ward's time zone. Duties are ordered by shift start, then shift
    type and person key.
    """
    org_id = await organisation_id(session, organisation)
    scope = await require_ward(session, org_id, organisation, ward)
    ward_row = (await session.execute(select(wards).where(wards.c.id == scope.id))).one()
    roster = Roster(ward=ward_from_row(ward_row))
    zone = ZoneInfo(roster.ward.policy.timezone)

    members = (
        select(people)
        .select_from(people.join(ward_members, ward_members.c.person_id == people.c.id))
        .where(ward_members.c.ward_id == scope.id)
        .order_by(people.c.key)
    )
    member_ids: list[int] = []
    for row in (await session.execute(members)).all():
        roster.people[row.key] = person_from_row(row)
        member_ids.append(row.id)

    await _load_shifts(session, roster, scope.id, zone, start, end)
    await _load_leave(session, roster, member_ids, start, end)
    await _load_placements(session, roster, scope.id, start, end)
    stored = await list_assignments(session, organisation, ward=ward, statuses=(CONFIRMED,))
    roster.assignments = [
        item.assignment for item in stored
        if (start is None or item.assignment.end >= start) and (end is None or item.assignment.start <= end)
    ]
    return roster


async def _load_shifts(
    session: AsyncSession, roster: Roster, ward_id: int, zone: ZoneInfo, start: date | None, end: date | None
) -> None:
    conditions = [shifts.c.ward_id == ward_id]
    if start is not None:
        conditions.append(shifts.c.day >= start)
    if end is not None:
        conditions.append(shifts.c.day <= end)

    query = select(shifts).where(*conditions).order_by(shifts.c.starts_at, shifts.c.type)
    for row in (await session.execute(query)).all():
        shift = Shift(
            ward=roster.ward.key, day=row.day, type=row.type,
            starts_at=_local(row.starts_at, zone), ends_at=_local(row.ends_at, zone),
        )
        roster.shifts[shift.key] = shift

    coach = people.alias("coach")
    query = (
        select(shifts.c.day, shifts.c.type, people.c.key, duties.c.in_charge, coach.c.key.label("coach_key"))
        .select_from(
            duties.join(shifts, duties.c.shift_id == shifts.c.id)
            .join(people, duties.c.person_id == people.c.id)
            .outerjoin(coach, duties.c.coach_id == coach.c.id)
        )
        .where(*conditions)
        .order_by(shifts.c.starts_at, shifts.c.type, people.c.key)
    )
    roster.duties = [
        Duty(shift_key=shift_key(row.day, row.type), person=row.key, in_charge=bool(row.in_charge), coach=row.coach_key)
        for row in (await session.execute(query)).all()
    ]


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone)


async def _load_leave(
    session: AsyncSession, roster: Roster, member_ids: Sequence[int], start: date | None, end: date | None
) -> None:
    for chunk in chunked(member_ids):
        conditions = [leave.c.person_id.in_(chunk)]
        if start is not None:
            conditions.append(leave.c.end >= start)
        if end is not None:
            conditions.append(leave.c.start <= end)
        query = (
            select(people.c.key, leave.c.start, leave.c.end)
            .select_from(leave.join(people, leave.c.person_id == people.c.id))
            .where(*conditions)
            .order_by(people.c.key, leave.c.start)
        )
        roster.leave.extend(Leave(row.key, row.start, row.end) for row in (await session.execute(query)).all())


async def _load_placements(
    session: AsyncSession, roster: Roster, ward_id: int, start: date | None, end: date | None
) -> None:
    conditions = [placements.c.ward_id == ward_id]
    if start is not None:
        conditions.append(placements.c.end >= start)
    if end is not None:
        conditions.append(placements.c.start <= end)
    query = (
        select(people, placements.c.start.label("placement_start"), placements.c.end.label("placement_end"))
        .select_from(placements.join(people, placements.c.student_id == people.c.id))
        .where(*conditions)
        .order_by(people.c.key, placements.c.start)
    )
    for row in (await session.execute(query)).all():
        roster.placements.append(Placement(row.key, roster.ward.key, row.placement_start, row.placement_end))
        roster.people.setdefault(row.key, person_from_row(row))
