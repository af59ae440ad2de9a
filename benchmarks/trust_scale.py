"""Time assessor matching and coach grouping for a whole NHS trust's worth of generated wards.

Run with `make bench` or `python benchmarks/trust_scale.py`. The trust is generated from a fixed
seed, so every run times the same input: 60 wards with 1,200 students and 3,000 staff, and 8 weeks
of Early, Day, Late and Night shifts. Generation is not timed. The wall time is the fastest of
`--repeats` runs. Peak memory comes from a separate run under tracemalloc, because tracing slows
Python down, and from the process's maximum resident set size (ru_maxrss).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import resource
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from clipbot.domain.coaching import ShiftPlan, plan_coach_groups
from clipbot.domain.matching import MatchResult, match_ward
from clipbot.domain.people import FieldOfPractice, Person, Registration
from clipbot.domain.roles import Placement, Role, RoleAssignment
from clipbot.domain.roster import Roster
from clipbot.domain.shifts import DEFAULT_SHIFT_TYPES, Duty, Leave, make_shift, shift_key
from clipbot.domain.ward import LearningEnvironment

WARDS = 60
STUDENTS_PER_WARD = 20
# 50 staff a ward: 38 registered nurses, 4 other registered professionals, 8 healthcare assistants.
STAFF_MIX = ((Registration.REGISTERED_NURSE, 38), (Registration.REGISTERED_PROFESSIONAL, 4), (Registration.UNREGISTERED, 8))
STAFF_PREFIX = {Registration.REGISTERED_NURSE: "RN", Registration.REGISTERED_PROFESSIONAL: "RP", Registration.UNREGISTERED: "HCA"}
WEEKS = 8
SHIFTS_PER_WEEK = 5
FIRST_DAY = date(2026, 9, 7)  # a Monday
FIELDS = (
    FieldOfPractice.ADULT, FieldOfPractice.CHILDREN, FieldOfPractice.MENTAL_HEALTH, FieldOfPractice.LEARNING_DISABILITIES,
)
FIELD_WEIGHTS = (70, 15, 10, 5)
SHIFT_WEIGHTS = (30, 20, 30, 20)  # Early, Day, Late, Night
TARGET_SECONDS = 2.0
TARGET_MEGABYTES = 300.0


@dataclass
class WardInput:
    """One generated ward and the assignments that `match_ward` receives with it."""

    roster: Roster
    existing: list[RoleAssignment] = field(default_factory=list)
    previous: list[RoleAssignment] = field(default_factory=list)
    keep: list[RoleAssignment] = field(default_factory=list)


def generate_trust(seed: int) -> list[WardInput]:
    rng = random.Random(seed)
    return [_generate_ward(rng, number) for number in range(WARDS)]


def _generate_ward(rng: random.Random, number: int) -> WardInput:
    ward = LearningEnvironment(f"W{number:02d}", f"Ward {number:02d}")
    roster = Roster(ward=ward)
    days = [FIRST_DAY + timedelta(days=offset) for offset in range(7 * WEEKS)]
    for day in days:
        for shift_type in DEFAULT_SHIFT_TYPES:
            new_shift = make_shift(ward.key, day, shift_type, ward.policy.timezone)
            roster.shifts[new_shift.key] = new_shift

    staff: list[Person] = []
    for registration, count in STAFF_MIX:
        for index in range(count):
            key = f"{ward.key}-{STAFF_PREFIX[registration]}{index:02d}"
            field_of_practice = rng.choices(FIELDS, FIELD_WEIGHTS)[0] if registration is Registration.REGISTERED_NURSE else None
            staff.append(Person(key, f"Staff {key}", registration, field_of_practice))
    students = [
        Person(f"{ward.key}-ST{index:02d}", f"Student {ward.key}-{index:02d}", Registration.STUDENT,
               rng.choices(FIELDS, FIELD_WEIGHTS)[0], programme_part=rng.randint(1, 3))
        for index in range(STUDENTS_PER_WARD)
    ]
    roster.people = {person.key: person for person in [*staff, *students]}

    # One staff member in ten takes a week of leave and is not rostered during it.
    leave_days: dict[str, set[date]] = {}
    for person in staff:
        if rng.random() < 0.1:
            week = rng.randrange(WEEKS)
            first = days[7 * week]
            roster.leave.append(Leave(person.key, first, first + timedelta(days=6)))
            leave_days[person.key] = {first + timedelta(days=offset) for offset in range(7)}

    # Three students in four are placed for all 8 weeks, the rest for the second 4 weeks only.
    for student in students:
        first_week = 0 if rng.random() < 0.75 else WEEKS // 2
        start = days[7 * first_week]
        roster.placements.append(Placement(student.key, ward.key, start, days[-1]))

    duties: dict[tuple[str, str], bool] = {}
    placement_start = {placement.student: placement.start for placement in roster.placements}
    for person in [*staff, *students]:
        for week in range(WEEKS):
            week_days = days[7 * week: 7 * week + 7]
            for day in sorted(rng.sample(week_days, SHIFTS_PER_WEEK)):
                if day in leave_days.get(person.key, ()) or day < placement_start.get(person.key, day):
                    continue
                shift_type = rng.choices(DEFAULT_SHIFT_TYPES, SHIFT_WEIGHTS)[0]
                duties[(shift_key(day, shift_type.name), person.key)] = False

    # Every shift gets a nurse in charge. A shift without a nurse gets one added for that.
    nurses = [person.key for person in staff if person.is_registered_nurse]
    on_shift: dict[str, list[str]] = {}
    for shift_key_, person_key in duties:
        if person_key in nurses:
            on_shift.setdefault(shift_key_, []).append(person_key)
    for shift_key_ in roster.shifts:
        candidates = sorted(on_shift.get(shift_key_, ())) or [rng.choice(nurses)]
        duties[(shift_key_, rng.choice(candidates))] = True
    roster.duties = [Duty(key, person, in_charge=flag) for (key, person), flag in duties.items()]

    generated = WardInput(roster)
    for index, nurse in enumerate(rng.sample(nurses, 6)):
        generated.existing.append(RoleAssignment(
            Role.PRACTICE_ASSESSOR, nurse, days[0], days[-1], student=f"EXT-{ward.key}-{index}", ward="W-elsewhere",
        ))
    for student in students:
        if rng.random() < 0.3:
            generated.previous.append(RoleAssignment(
                Role.PRACTICE_ASSESSOR, rng.choice(nurses), days[0] - timedelta(days=120), days[0] - timedelta(days=60),
                student=student.key,
            ))
        if rng.random() < 0.1:
            placement = next(p for p in roster.placements if p.student == student.key)
            generated.keep.append(RoleAssignment(
                Role.PRACTICE_ASSESSOR, rng.choice(nurses), placement.start, placement.end,
                student=student.key, ward=ward.key,
            ))
    return generated


def run_matching(wards: list[WardInput]) -> list[MatchResult]:
    return [match_ward(ward.roster, existing=ward.existing, previous=ward.previous, keep=ward.keep) for ward in wards]


def run_coaching(wards: list[WardInput], results: list[MatchResult]) -> list[list[ShiftPlan]]:
    plans = []
    for ward, result in zip(wards, results):
        supervisors = {p.student: p.person for p in result.pairs if p.role is Role.NAMED_PRACTICE_SUPERVISOR}
        assessors = {p.student: p.person for p in result.pairs if p.role is Role.PRACTICE_ASSESSOR}
        assessors.update({a.student: a.person for a in ward.keep if a.student and a.role is Role.PRACTICE_ASSESSOR})
        plans.append(plan_coach_groups(ward.roster, named_supervisors=supervisors, assessors=assessors))
    return plans


@dataclass
class Timing:
    matching: float
    coaching: float

    @property
    def total(self) -> float:
        return self.matching + self.coaching


def time_once(wards: list[WardInput]) -> tuple[Timing, list[MatchResult], list[list[ShiftPlan]]]:
    gc.collect()
    started = time.perf_counter()
    results = run_matching(wards)
    matched = time.perf_counter()
    plans = run_coaching(wards, results)
    finished = time.perf_counter()
    return Timing(matched - started, finished - matched), results, plans


def traced_peak_megabytes(wards: list[WardInput]) -> float:
    gc.collect()
    tracemalloc.start()
    results = run_matching(wards)
    run_coaching(wards, results)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def machine_summary() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {_cpu_count()} cores, Python {platform.python_version()}"


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20260907, help="seed for the generated trust (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="number of timed runs, of which the fastest is reported (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")

    generate_started = time.perf_counter()
    wards = generate_trust(args.seed)
    generate_seconds = time.perf_counter() - generate_started

    timings = []
    for _ in range(args.repeats):
        timing, results, plans = time_once(wards)
        timings.append(timing)
    best = min(timings, key=lambda timing: timing.total)
    peak = traced_peak_megabytes(wards)
    # Linux reports ru_maxrss in kilobytes.
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    students = sum(len(ward.roster.students()) for ward in wards)
    staff = sum(len(ward.roster.people) for ward in wards) - students
    duties = sum(len(ward.roster.duties) for ward in wards)
    pairs = sum(len(result.pairs) for result in results)
    unmatched = sum(len(result.unmatched) for result in results)
    shift_plans = sum(len(ward_plans) for ward_plans in plans)
    gaps = sum(len(plan.gaps) for ward_plans in plans for plan in ward_plans)

    print(f"Machine: {machine_summary()}")
    print(f"Trust: {len(wards)} wards, {students} students, {staff} staff, {duties} duties over {WEEKS} weeks "
          f"(generated in {generate_seconds:.2f} s, not timed)")
    print(f"Output: {pairs} roles proposed, {unmatched} unmatched, {shift_plans} shift plans, {gaps} supervision gaps")
    print()
    print("| step | wall time (s), best of %d |" % args.repeats)
    print("| --- | ---: |")
    print(f"| match_ward, {len(wards)} wards | {best.matching:.3f} |")
    print(f"| plan_coach_groups, {len(wards)} wards | {best.coaching:.3f} |")
    print(f"| total | {best.total:.3f} |")
    print()
    print("| memory | MB |")
    print("| --- | ---: |")
    print(f"| tracemalloc peak during matching and coaching | {peak:.1f} |")
    print(f"| ru_maxrss, whole process | {max_rss:.1f} |")
    print()
    met = best.total < TARGET_SECONDS and max_rss < TARGET_MEGABYTES
    verdict = "met" if met else "missed"
    print(f"Target (under {TARGET_SECONDS:g} s and under {TARGET_MEGABYTES:g} MB): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
