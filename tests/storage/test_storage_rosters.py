from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from storage_builders import (
    CLOCK_CHANGE_NIGHT,
    DAYS,
    FIRST_DAY,
    LAST_DAY,
    SHIFT_TYPES,
    copy_roster,
    sample_roster,
    shift_key_on,
)

from clipbot.domain.people import FieldOfPractice, Person, Registration
from clipbot.domain.roles import Placement
from clipbot.domain.roster import Roster
from clipbot.domain.rules import AssignmentRejected
from clipbot.domain.shifts import Duty, Leave, make_shift, shift_key
from clipbot.domain.ward import LearningEnvironment
from clipbot.storage import Database
from clipbot.storage.models import metadata, shifts
from clipbot.storage.repository import (
    Counts,
    InvalidRosterError,
    NotFoundError,
    add_person,
    ensure_organisation,
    find_people,
    find_person,
    list_wards,
    load_roster,
    save_roster,
    ward_of_student,
)

ORG = "trust"


async def stored_sample(session: AsyncSession, roster: Roster | None = None) -> Roster:
    roster = roster or sample_roster()
    await ensure_organisation(session, ORG, "Leeds Teaching Hospitals")
    await save_roster(session, ORG, roster)
    await session.commit()
    return roster


async def row_counts(session: AsyncSession) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in metadata.sorted_tables:
        counts[table.name] = await session.scalar(select(func.count()).select_from(table)) or 0
    return counts


@contextmanager
def counting_statements(database: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)


async def test_round_trip_ward(session: AsyncSession) -> None:
    roster = await stored_sample(session)
    loaded = await load_roster(session, ORG, "W1")
    assert loaded.ward == roster.ward


async def test_round_trip_people(session: AsyncSession) -> None:
    roster = await stored_sample(session)
    loaded = await load_roster(session, ORG, "W1")
    assert loaded.people == roster.people


async def test_round_trip_shifts(session: AsyncSession) -> None:
    roster = await stored_sample(session)
    loaded = await load_roster(session, ORG, "W1")
    assert loaded.shifts == roster.shifts


async def test_round_trip_shift_labels_in_local_time(session: AsyncSession) -> None:
    roster = await stored_sample(session)
    loaded = await load_roster(session, ORG, "W1")
    expected = [shift.label() for shift in roster.shifts_in_order()]
    assert [shift.label() for shift in loaded.shifts_in_order()] == expected


async def test_round_trip_duties(session: AsyncSession) -> None:
    roster = await stored_sample(session)
    loaded = await load_roster(session, ORG, "W1")
    assert sorted(loaded.duties, key=repr) == sorted(roster.duties, key=repr)


async def test_round_trip_leave(session: AsyncSession) -> None:
    roster = await stored_sample(session)
    loaded = await load_roster(session, ORG, "W1")
    assert sorted(loaded.leave, key=repr) == sorted(roster.leave, key=repr)


async def test_round_trip_placements(session: AsyncSession) -> None:
    roster = await stored_sample(session)
    loaded = await load_roster(session, ORG, "W1")
    assert sorted(loaded.placements, key=repr) == sorted(roster.placements, key=repr)


async def test_round_trip_assignments(session: AsyncSession) -> None:
    roster = await stored_sample(session)
    loaded = await load_roster(session, ORG, "W1")
    assert sorted(loaded.assignments, key=repr) == sorted(roster.assignments, key=repr)


async def test_night_across_clock_change(session: AsyncSession) -> None:
    await stored_sample(session)
    loaded = await load_roster(session, ORG, "W1")
    night = loaded.shifts[shift_key(CLOCK_CHANGE_NIGHT, "Night")]

    assert night.hours == 9
    assert night.starts_at.utcoffset() == timedelta(hours=1)
    assert night.ends_at.utcoffset() == timedelta(0)
    assert night.label() == "Night Sat 26 Oct 22:30-06:30"


async def test_shift_times_stored_in_utc(session: AsyncSession) -> None:
    await stored_sample(session)
    query = select(shifts.c.starts_at).where(shifts.c.day == CLOCK_CHANGE_NIGHT, shifts.c.type == "Night")
    assert await session.scalar(query) == datetime(2024, 10, 26, 21, 30, tzinfo=UTC)


async def test_reimport_changes_nothing(session: AsyncSession) -> None:
    roster = await stored_sample(session)
    before = await row_counts(session)

    report = await save_roster(session, ORG, roster)

    assert not report.changed
    assert report.ward == Counts(unchanged=1)
    assert report.duties == Counts(unchanged=len(roster.duties))
    assert report.shifts == Counts(unchanged=len(roster.shifts))
    assert report.people == Counts(unchanged=len(roster.people))
    assert report.leave == Counts(unchanged=len(roster.leave))
    assert report.placements == Counts(unchanged=len(roster.placements))
    assert report.assignments == Counts(unchanged=len(roster.assignments))
    assert await row_counts(session) == before


def changed_roster(roster: Roster) -> Roster:
    """The sample with one change of each kind an updated roster file can bring."""
    changed = copy_roster(roster)
    changed.people["N2"] = dataclasses.replace(changed.people["N2"], name="Dev Sharma-Lee")
    changed.people["N6"] = Person("N6", "Jo Quinn", Registration.REGISTERED_NURSE, FieldOfPractice.ADULT)

    # Day 3 loses its night shift (and N3's duty on it); day 4's late shift starts an hour later.
    removed_key = shift_key_on(3, "Night")
    del changed.shifts[removed_key]
    late = changed.shifts[shift_key_on(4, "Late")]
    changed.shifts[late.key] = dataclasses.replace(late, starts_at=late.starts_at + timedelta(hours=1))
    changed.duties = [duty for duty in changed.duties if duty.shift_key != removed_key]

    # N6 joins day 5's early shift; on day 6 N1 is no longer in charge.
    changed.duties.append(Duty(shift_key_on(5, "Early"), "N6"))
    changed.duties = [
        dataclasses.replace(duty, in_charge=False) if (duty.shift_key, duty.person) == (shift_key_on(6, "Early"), "N1")
        else duty
        for duty in changed.duties
    ]

    changed.leave = [Leave("N4", FIRST_DAY, LAST_DAY - timedelta(days=2)), changed.leave[1]]
    changed.placements = [dataclasses.replace(changed.placements[0], end=date(2024, 11, 29)), changed.placements[1]]
    return changed


async def test_changed_file_counts(session: AsyncSession) -> None:
    roster = await stored_sample(session)
    report = await save_roster(session, ORG, changed_roster(roster))

    assert report.people == Counts(created=1, updated=1, unchanged=len(roster.people) - 1)
    assert report.shifts == Counts(updated=1, unchanged=len(roster.shifts) - 2, removed=1)
    assert report.duties == Counts(created=1, updated=1, unchanged=len(roster.duties) - 2, removed=1)
    assert report.leave == Counts(updated=1, unchanged=1)
    assert report.placements == Counts(updated=1, unchanged=1)
    assert report.assignments == Counts(unchanged=len(roster.assignments))


async def test_changed_file_loads_back(session: AsyncSession) -> None:
    roster = await stored_sample(session)
    changed = changed_roster(roster)
    await save_roster(session, ORG, changed)
    loaded = await load_roster(session, ORG, "W1")

    assert loaded.people == changed.people
    assert loaded.shifts == changed.shifts
    assert sorted(loaded.duties, key=repr) == sorted(changed.duties, key=repr)
    assert sorted(loaded.leave, key=repr) == sorted(changed.leave, key=repr)
    assert sorted(loaded.placements, key=repr) == sorted(changed.placements, key=repr)


async def test_leave_missing_from_file_removed(session: AsyncSession) -> None:
    roster = await stored_sample(session)
    changed = copy_roster(roster)
    changed.leave = [item for item in changed.leave if item.person != "N4"]

    report = await save_roster(session, ORG, changed)

    assert report.leave == Counts(unchanged=1, removed=1)
    assert [item.person for item in (await load_roster(session, ORG, "W1")).leave] == ["H1"]


async def test_later_file_keeps_earlier_shifts(session: AsyncSession) -> None:
    await stored_sample(session)
    later = sample_roster(presets=False)
    later.shifts = {}
    later.duties = []
    for offset in range(DAYS, DAYS + 7):
        day = FIRST_DAY + timedelta(days=offset)
        shift = make_shift("W1", day, SHIFT_TYPES["Day"])
        later.shifts[shift.key] = shift
        later.duties.append(Duty(shift.key, "N1", in_charge=True))

    report = await save_roster(session, ORG, later)
    loaded = await load_roster(session, ORG, "W1")

    assert report.shifts == Counts(created=7)
    assert report.duties == Counts(created=7)
    assert len(loaded.shifts) == DAYS * 3 + 7


async def test_rollback_leaves_nothing(database: Database) -> None:
    roster = sample_roster()
    async with database.session() as session:
        await ensure_organisation(session, ORG)
        await session.commit()
        report = await save_roster(session, ORG, roster)
        await session.rollback()

    async with database.session() as session:
        counts = await row_counts(session)
        wards_after = await list_wards(session, ORG)

    assert report.duties.created == len(roster.duties)
    assert wards_after == []
    assert counts["duties"] == 0
    assert counts["people"] == 0
    assert counts["role_assignments"] == 0


async def test_load_date_range(session: AsyncSession) -> None:
    roster = await stored_sample(session)
    day = FIRST_DAY + timedelta(days=7)
    loaded = await load_roster(session, ORG, "W1", start=day, end=day)
    keys = [shift_key_on(7, name) for name in ("Early", "Late", "Night")]

    assert sorted(loaded.shifts) == keys
    assert len(loaded.duties) == len([duty for duty in roster.duties if duty.shift_key in keys])
    assert [item.person for item in loaded.leave] == ["N4"]


async def test_person_without_shifts_kept_on_ward(session: AsyncSession) -> None:
    await stored_sample(session)
    loaded = await load_roster(session, ORG, "W1")
    assert "N4" in loaded.people


async def test_unknown_ward_not_found(session: AsyncSession) -> None:
    await stored_sample(session)
    with pytest.raises(NotFoundError, match="W9"):
        await load_roster(session, ORG, "W9")


async def test_unknown_organisation_not_found(session: AsyncSession) -> None:
    with pytest.raises(NotFoundError, match="nowhere"):
        await save_roster(session, "nowhere", sample_roster())


async def test_invalid_roster_lists_every_problem(session: AsyncSession) -> None:
    await ensure_organisation(session, ORG)
    roster = sample_roster()
    roster.duties.append(Duty(shift_key_on(0, "Early"), "X9"))
    roster.duties.append(Duty("2024-12-25 Early", "N1"))
    roster.placements.append(Placement("S1", "W2", FIRST_DAY, LAST_DAY))

    with pytest.raises(InvalidRosterError) as raised:
        await save_roster(session, ORG, roster)

    assert len(raised.value.problems) == 3
    assert await row_counts(session) == {**{table.name: 0 for table in metadata.sorted_tables}, "organisations": 1}


async def test_naive_shift_time_rejected(session: AsyncSession) -> None:
    await ensure_organisation(session, ORG)
    roster = sample_roster()
    key = shift_key_on(0, "Early")
    roster.shifts[key] = dataclasses.replace(roster.shifts[key], starts_at=datetime(2024, 10, 21, 6, 30))

    with pytest.raises(InvalidRosterError, match="without a time zone"):
        await save_roster(session, ORG, roster)


async def test_unknown_timezone_rejected(session: AsyncSession) -> None:
    await ensure_organisation(session, ORG)
    roster = sample_roster()
    roster.ward = LearningEnvironment("W1", "Ward 1", dataclasses.replace(roster.ward.policy, timezone="Europe/Leeds"))

    with pytest.raises(InvalidRosterError, match="Europe/Leeds"):
        await save_roster(session, ORG, roster)


async def test_rule_breaking_preset_rejected(session: AsyncSession) -> None:
    await ensure_organisation(session, ORG)
    roster = sample_roster()
    roster.assignments.append(dataclasses.replace(roster.assignments[0], person="H1", student="S2"))

    with pytest.raises(AssignmentRejected, match="registered"):
        await save_roster(session, ORG, roster)


async def test_ward_policy_round_trip(session: AsyncSession) -> None:
    roster = await stored_sample(session)
    [ward] = await list_wards(session, ORG)
    assert ward.policy == roster.ward.policy


async def test_policy_change_updates_ward(session: AsyncSession) -> None:
    roster = await stored_sample(session)
    changed = copy_roster(roster)
    changed.ward = dataclasses.replace(roster.ward, policy=dataclasses.replace(roster.ward.policy, max_students=12))

    report = await save_roster(session, ORG, changed)
    [ward] = await list_wards(session, ORG)

    assert report.ward == Counts(updated=1)
    assert ward.policy.max_students == 12


async def test_find_person_by_key(session: AsyncSession) -> None:
    roster = await stored_sample(session)
    assert await find_person(session, ORG, "N1") == roster.people["N1"]


async def test_find_person_unknown_key(session: AsyncSession) -> None:
    await stored_sample(session)
    assert await find_person(session, ORG, "N99") is None


async def test_find_people_exact_key_first(session: AsyncSession) -> None:
    await stored_sample(session)
    assert [person.key for person in await find_people(session, ORG, "S1")] == ["S1"]


async def test_find_people_by_name_any_case(session: AsyncSession) -> None:
    await stored_sample(session)
    assert [person.key for person in await find_people(session, ORG, "jONES")] == ["N1"]


async def test_find_people_non_ascii_name(session: AsyncSession) -> None:
    roster = sample_roster(presets=False)
    roster.people["N7"] = Person("N7", "Zoë Ødegård", Registration.REGISTERED_NURSE)
    await stored_sample(session, roster)
    assert [person.key for person in await find_people(session, ORG, "ØDEGÅRD")] == ["N7"]


async def test_find_people_literal_percent(session: AsyncSession) -> None:
    await stored_sample(session)
    assert await find_people(session, ORG, "%") == []


async def test_add_person_outside_roster(session: AsyncSession) -> None:
    await ensure_organisation(session, ORG)
    educator = Person("CE1", "Sam Carter", Registration.REGISTERED_NURSE, email="sam.carter@example.nhs.uk")
    await add_person(session, ORG, educator)
    assert await find_person(session, ORG, "CE1") == educator


async def test_add_person_updates_details(session: AsyncSession) -> None:
    await stored_sample(session)
    renamed = Person("N1", "Carys Jones-Evans", Registration.REGISTERED_NURSE, FieldOfPractice.ADULT)
    await add_person(session, ORG, renamed)
    assert await find_person(session, ORG, "N1") == renamed


async def test_add_person_to_ward(session: AsyncSession) -> None:
    await stored_sample(session)
    await add_person(session, ORG, Person("CE1", "Sam Carter", Registration.REGISTERED_NURSE), ward="W1")
    assert "CE1" in (await load_roster(session, ORG, "W1")).people


async def test_ward_of_student_on_placement(session: AsyncSession) -> None:
    await stored_sample(session)
    assert await ward_of_student(session, ORG, "S1", FIRST_DAY + timedelta(days=3)) == "W1"


async def test_ward_of_student_before_placement(session: AsyncSession) -> None:
    await stored_sample(session)
    assert await ward_of_student(session, ORG, "S1", FIRST_DAY - timedelta(days=10)) == "W1"


async def test_ward_of_student_after_placement(session: AsyncSession) -> None:
    await stored_sample(session)
    assert await ward_of_student(session, ORG, "S1", date(2025, 1, 6)) is None


async def test_ward_import_statement_count(database: Database, session: AsyncSession) -> None:
    await ensure_organisation(session, ORG)
    roster = large_roster(people=21, days=28)
    with counting_statements(database) as statements:
        await save_roster(session, ORG, roster)
    assert len(statements) <= 20


async def test_large_import_statement_count(database: Database, session: AsyncSession) -> None:
    await ensure_organisation(session, ORG)
    roster = large_roster(people=400, days=28)
    with counting_statements(database) as statements:
        report = await save_roster(session, ORG, roster)
    assert report.duties.created == len(roster.duties)
    assert len(statements) <= 20


def large_roster(*, people: int, days: int) -> Roster:
    """A ward where each person has one shift type and works two days in three."""
    ward = LearningEnvironment("BIG", "Big ward")
    roster = Roster(ward=ward)
    for index in range(people):
        roster.people[f"P{index:04d}"] = Person(f"P{index:04d}", f"Nurse {index}", Registration.REGISTERED_NURSE)
    for offset in range(days):
        day = FIRST_DAY + timedelta(days=offset)
        for position, name in enumerate(("Early", "Late", "Night")):
            shift = make_shift(ward.key, day, SHIFT_TYPES[name], ward.policy.timezone)
            roster.shifts[shift.key] = shift
            for index in range(position, people, 3):
                if (index + offset) % 3 != 0:
                    roster.duties.append(Duty(shift.key, f"P{index:04d}"))
    return roster


async def test_import_without_email_keeps_stored_one(session: AsyncSession) -> None:
    roster = await stored_sample(session)
    without = sample_roster()
    without.people["N1"] = dataclasses.replace(without.people["N1"], email=None)

    await save_roster(session, ORG, without)

    reloaded = await load_roster(session, ORG, roster.ward.key)
    assert reloaded.people["N1"].email == "carys.jones@example.nhs.uk"


async def test_import_with_new_email_replaces_it(session: AsyncSession) -> None:
    roster = await stored_sample(session)
    changed = sample_roster()
    changed.people["N1"] = dataclasses.replace(changed.people["N1"], email="c.jones@example.nhs.uk")

    await save_roster(session, ORG, changed)

    reloaded = await load_roster(session, ORG, roster.ward.key)
    assert reloaded.people["N1"].email == "c.jones@example.nhs.uk"
