"""Benchmark: how long planning a trust's week of the bot's own messages takes.

Generates the trust of benchmarks/trust_scale.py (60 wards, 1,200 students, 3,000 staff, 8 weeks),
matches every ward and adds an educator per ward. It then times `clipbot.workflows.planner.plan`
for the week from the Monday of the third week: coach posts, protected-time offers, nudges, rating
forms and digests. Planning is pure, so the figure excludes the database; enqueueing is measured by
benchmarks/dispatcher.py.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import tracemalloc
from datetime import datetime, time as clock_time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).parent))

from trust_scale import generate_trust, run_matching  # noqa: E402

from clipbot.domain.roles import Role, RoleAssignment  # noqa: E402
from clipbot.workflows.planner import plan  # noqa: E402


def confirmed_assignments(wards, results) -> list[RoleAssignment]:
    """Turn each ward's proposed pairs into confirmed assignments, plus one clinical educator per ward."""
    assignments: list[RoleAssignment] = []
    for ward, result in zip(wards, results):
        placements = {placement.student: placement for placement in ward.roster.placements}
        for pair in result.pairs:
            placement = placements[pair.student]
            assignments.append(RoleAssignment(
                pair.role, pair.person, placement.start, placement.end, student=pair.student, ward=ward.roster.ward.key,
            ))
        nurse = next(person.key for person in ward.roster.people.values() if person.is_registered_nurse)
        days = sorted(shift.day for shift in ward.roster.shifts.values())
        assignments.append(RoleAssignment(Role.CLINICAL_EDUCATOR, nurse, days[0], days[-1], ward=ward.roster.ward.key))
    return assignments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20260907, help="seed of the generated trust (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the fastest is reported (default: 3)")
    args = parser.parse_args(argv)

    wards = generate_trust(args.seed)
    results = run_matching(wards)
    assignments = confirmed_assignments(wards, results)
    rosters = [ward.roster for ward in wards]
    first_day = min(shift.day for roster in rosters for shift in roster.shifts.values())
    monday = first_day - timedelta(days=first_day.weekday()) + timedelta(days=14)
    now = datetime.combine(monday, clock_time(0, 0), tzinfo=ZoneInfo("Europe/London"))

    timings = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        messages = plan(rosters, assignments, now, timedelta(days=7))
        timings.append(time.perf_counter() - started)
    tracemalloc.start()
    plan(rosters, assignments, now, timedelta(days=7))
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()

    students = sum(len(roster.students()) for roster in rosters)
    kinds: dict[str, int] = {}
    for message in messages:
        kinds[message.idempotency_key.split(":")[0]] = kinds.get(message.idempotency_key.split(":")[0], 0) + 1
    print(f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"Trust: {len(rosters)} wards, {students} students; week from {monday:%a %d %b %Y}")
    print(f"Planned {len(messages)} messages: " + ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())))
    print(f"Planning one week, best of {args.repeats}: {min(timings):.3f} s; tracemalloc peak {peak:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
