"""`clipbot demo`: a four-week CLiP placement replayed on a published nurse roster.

It drives the same service and handlers as the chat platforms, through the console adapter, on a
fresh SQLite database: import, matching and confirmation, then each day's coach groups.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from clipbot.bot.adapters.console import ConsoleChat, render_reply
from clipbot.bot.handlers.educator import coach_post
from clipbot.clock import FixedClock
from clipbot.domain.coaching import ShiftPlan
from clipbot.domain.ward import LearningEnvironment
from clipbot.domain.roster import Roster
from clipbot.rosters import RosterError, read_csv_roster, read_inrc2_roster
from clipbot.service import UserError, WardService
from clipbot.simulation import Answers, simulate
from clipbot.storage.database import Database, default_database_url

DEMO_START = date(2026, 10, 19)
DEMO_EDUCATOR = "CE_1"
DEMO_EDUCATOR_NAME = "Sam Carter (demo clinical educator)"
EXIT_BAD_INPUT = 2


def bundled_roster() -> tuple[Path, Path]:
    folder = Path(str(resources.files("clipbot") / "data" / "inrc2" / "n021w4"))
    return folder / "Sc-n021w4.txt", folder / "Solution_H_0-WD_5-4-1-2"


class Printer:
    """Writes the demo's output: everything with --verbose, headlines otherwise."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose

    def heading(self, text: str) -> None:
        print(f"\n== {text} ==")

    def line(self, text: str = "") -> None:
        print(text)

    def detail(self, text: str) -> None:
        if self.verbose:
            print(text)


async def run_demo(arguments: argparse.Namespace) -> int:
    try:
        roster, source = _read_demo_roster(arguments)
    except (RosterError, UserError) as error:
        print(str(error), file=sys.stderr)
        return EXIT_BAD_INPUT

    with tempfile.TemporaryDirectory(prefix="clipbot-demo-") as folder:
        database = Database(arguments.database or default_database_url(Path(folder)))
        try:
            await database.upgrade()
            return await _replay(database, roster, source, Printer(arguments.verbose))
        except UserError as error:
            print(str(error), file=sys.stderr)
            return EXIT_BAD_INPUT
        finally:
            await database.dispose()


async def _confirm(educator: ConsoleChat, out: Printer) -> None:
    out.heading("The educator confirms, and everyone is told")
    out.line(f"{DEMO_EDUCATOR_NAME} > 1")
    messages: list[str] = []
    educator.write = messages.append
    await educator.send("1")
    notes = messages[:-1]
    out.line(messages[-1])
    for note in notes if out.verbose else notes[:2]:
        out.line(note)
    if not out.verbose and len(notes) > 2:
        out.line(f"... and {len(notes) - 2} more direct messages (--verbose shows them all).")


def _read_demo_roster(arguments: argparse.Namespace) -> tuple[Roster, str]:
    """Read the roster the demo replays: the bundled one, an INRC-II pair or a CSV pair."""
    inrc2 = (arguments.scenario, arguments.solution)
    csv = (arguments.people, arguments.shifts)
    if any(inrc2) and any(csv):
        raise UserError("Give an INRC-II roster (--scenario and --solution) or a CSV one (--people and --shifts), not both.")
    if any(csv):
        if not all(csv):
            raise UserError("Give both --people and --shifts for a CSV roster.")
        ward = LearningEnvironment("demo-ward", "Demo ward")
        return read_csv_roster(arguments.people, arguments.shifts, ward=ward), arguments.shifts.name
    if any(inrc2) and not all(inrc2):
        raise UserError("Give both --scenario and --solution, or neither to use the bundled n021w4 roster.")
    scenario, solution = (arguments.scenario, arguments.solution) if all(inrc2) else bundled_roster()
    name = scenario.stem.removeprefix("Sc-")
    ward = LearningEnvironment(name, f"Ward {name}")
    return read_inrc2_roster(scenario, solution, week0=arguments.start or DEMO_START, ward=ward), solution.name


async def _replay(database: Database, roster: Roster, source: str, out: Printer) -> int:
    zone = ZoneInfo(roster.ward.policy.timezone)
    days = sorted({shift.day for shift in roster.shifts.values()})
    if not days:
        raise UserError("The roster has no shifts, so there is nothing to replay.")
    service = WardService(database, FixedClock(datetime.combine(days[0], time(7, 0), tzinfo=zone)), "demo-trust")

    out.heading(f"clipbot demo: {roster.ward.name}, {source}")
    out.line(f"The roster replayed as a CLiP placement from {days[0]:%a %-d %b} to {days[-1]:%a %-d %b %Y}.")
    report = await service.import_roster(roster)
    out.line("Imported " + ", ".join(f"{counts.created} {kind}" for kind, counts in report.items() if kind != "ward") + ".")
    await service.add_educator(DEMO_EDUCATOR, roster.ward.key, name=DEMO_EDUCATOR_NAME)

    out.heading("The educator matches students with mentors")
    educator = ConsoleChat(service, DEMO_EDUCATOR, out.line)
    out.line(f"{DEMO_EDUCATOR_NAME} > match {roster.ward.key}")
    await educator.send(f"match {roster.ward.key}")
    if educator.buttons:
        await _confirm(educator, out)

    out.heading("Coach groups, posted to the ward channel before each shift")
    tally = Tally()
    first_coached: tuple[ShiftPlan, str] | None = None
    gap_lines: list[str] = []
    for day in days:
        coach_day = await service.coach_plans(roster.ward.key, day)
        for plan in coach_day.plans:
            tally.add(plan)
            if first_coached is None and plan.groups:
                first_coached = (plan, plan.groups[0].students[0])
            post = render_reply(coach_post(plan, coach_day.people))
            out.detail(post + "\n")
            gap_lines.extend(f"{plan.shift.label()}: {gap.student}: {gap.reason}" for gap in plan.gaps)
        if not out.verbose:
            out.line(_day_line(day, coach_day.plans))

    if first_coached is not None:
        plan, student = first_coached
        asked_at = plan.shift.starts_at + timedelta(hours=1)
        out.heading(f"A student asks the bot during their first coached shift, {asked_at:%a %-d %b at %H:%M}")
        service.clock = FixedClock(asked_at)
        out.line(f"{student} > who is my team?")
        await ConsoleChat(service, student, out.line).send("who is my team?")

    week_zero = datetime.combine(days[0] - timedelta(days=days[0].weekday()), time(0, 0), tzinfo=zone)
    last_week_end = datetime.combine(days[-1] + timedelta(days=6 - days[-1].weekday()), time(0, 0), tzinfo=zone)
    out.heading("What the bot does unasked: protected time, reminders, ratings and the educator's digest")
    students = [person.key for person in roster.students()]
    answers = Answers(decliner=students[-1])
    out.line("Simulated time: everyone books the first time offered, meets and rates; "
             f"{answers.decliner} turns one week down for a study day.")
    transcript = await simulate(
        service, week_zero, last_week_end + timedelta(days=2), answers, out.line,
        verbose=out.verbose, detail_until=week_zero + timedelta(days=7),
    )
    if not out.verbose:
        out.line("... (the other weeks go the same way; --verbose shows every message)")

    out.heading("Summary")
    summary = await service.roster_summary(roster.ward.key)
    out.line(f"Students: {len(summary.students)}")
    out.line(f"Mentor pairs confirmed: {sum(len(m) for m in summary.mentors.values())}")
    out.line(f"Shifts with students: {tally.shifts}")
    out.line(f"Coach groups: {tally.groups} ({tally.shared} with 2-3 students, {tally.single} single)")
    out.line(f"Students kept the same coach as their previous shift: {tally.continued} of {tally.returning} times")
    out.line(f"Supervision gaps: {len(gap_lines)}")
    sent = transcript.counts
    out.line(
        f"Messages the bot sent unasked: {sum(sent.values())} ({sent['coach-post']} coach posts, "
        f"{sent['pt-offer']} protected-time offers, {sent['pt-nudge']} mid-week nudges, "
        f"{sent['pt-booked']} booking confirmations, {sent['pt-invite']} calendar invitations, "
        f"{sent['pt-reminder']} reminders, "
        f"{sent['pt-check']} \"did you meet?\" checks, {sent['rate-shift'] + sent['rate-session']} rating forms, "
        f"{sent['digest']} educator digests)"
    )
    for line in gap_lines:
        out.line(f"  ⚠ {line}")
    return 0


@dataclass
class Tally:
    """Counts for the closing summary, gathered shift by shift."""

    shifts: int = 0
    groups: int = 0
    shared: int = 0
    single: int = 0
    # How often a student who had a coach before got the same coach again.
    continued: int = 0
    returning: int = 0
    last_coach: dict[str, str] = field(default_factory=dict)

    def add(self, plan: ShiftPlan) -> None:
        self.shifts += 1
        self.groups += len(plan.groups)
        self.shared += sum(1 for group in plan.groups if len(group.students) > 1)
        self.single += sum(1 for group in plan.groups if len(group.students) == 1)
        for group in plan.groups:
            for student in group.students:
                if student in self.last_coach:
                    self.returning += 1
                    self.continued += self.last_coach[student] == group.coach
                self.last_coach[student] = group.coach


def _day_line(day: date, plans: list[ShiftPlan]) -> str:
    if not plans:
        return f"{day:%a %d %b}  no students on shift"
    parts = []
    for plan in plans:
        groups = " ".join(f"{g.coach}→{'+'.join(g.students)}" for g in plan.groups)
        gaps = " ".join(f"⚠gap:{g.student}" for g in plan.gaps)
        parts.append(f"{plan.shift.type}: {' '.join(filter(None, [groups, gaps]))}")
    return f"{day:%a %d %b}  " + " | ".join(parts)
