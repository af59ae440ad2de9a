"""Ward operations shared by every front end: the console, the command line, Slack and Teams.

Each method runs in its own database transaction and returns plain domain values, so handlers
only decide what to say and to whom.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from clipbot.clock import Clock
from clipbot.domain.coaching import ShiftPlan, SupervisionGap, plan_coach_groups
from clipbot.domain.matching import MatchResult, Pairing, match_ward
from clipbot.domain.people import Person, Registration
from clipbot.domain.roles import Role, RoleAssignment
from clipbot.domain.roster import Roster
from clipbot.domain.shifts import Shift
from clipbot.domain.rules import AssignmentRejected, RuleViolation, ward_breaches
from clipbot.domain.ward import LearningEnvironment
from clipbot.rosters import RosterError, read_csv_roster
from clipbot.rosters.csv_format import _EMAIL as ROSTER_EMAIL
from clipbot.storage import repository
from clipbot.storage.database import Database
from clipbot.storage.outbox import NewMessage, RecipientKind
from clipbot.storage.repository import CONFIRMED, ENDED, ImportReport, StoredAssignment

if TYPE_CHECKING:
    # Imported for the annotation only, because the planner imports the handlers, which import this module.
    from clipbot.workflows.planner import PlannerSettings

logger = logging.getLogger(__name__)

__all__ = ["StoredAssignment", "UserError", "WardService"]

MENTOR_ROLES = (Role.PRACTICE_ASSESSOR, Role.NAMED_PRACTICE_SUPERVISOR)
# The outbox kind that records an educator's alert about a student with no coach on a shift.
GAP_ALERT = "gap-alert"


class UserError(Exception):
    """A problem the user can fix; its message is shown to them as it is."""


@dataclass(frozen=True, slots=True)
class StudentTeam:
    student: Person
    ward: LearningEnvironment | None
    assessor: Person | None
    supervisor: Person | None
    # Today's shifts for the student with the coach of each (None when it is a supervision gap).
    shifts_today: tuple[tuple[ShiftPlan, Person | None], ...]


@dataclass(frozen=True, slots=True)
class RosterSummary:
    ward: LearningEnvironment
    students: tuple[Person, ...]
    registered_nurses: tuple[Person, ...]
    other_registered: tuple[Person, ...]
    unregistered: tuple[Person, ...]
    first_day: date | None
    last_day: date | None
    shift_count: int
    mentors: dict[str, dict[Role, Person]]
    breaches: tuple[RuleViolation, ...]


@dataclass(frozen=True, slots=True)
class MatchOutcome:
    ward: LearningEnvironment
    result: MatchResult
    kept: tuple[StoredAssignment, ...]
    people: dict[str, Person]
    rematch: bool = False


@dataclass(frozen=True, slots=True)
class CoachDay:
    ward: LearningEnvironment
    day: date
    plans: list[ShiftPlan]
    people: dict[str, Person]


@dataclass(frozen=True, slots=True)
class WardOverview:
    ward: LearningEnvironment
    students: tuple[Person, ...]
    unmatched: tuple[Person, ...]
    gaps_today: tuple[tuple[ShiftPlan, SupervisionGap], ...]
    people: dict[str, Person]


# Chat messages list this many roster problems; the rest are counted.
MAX_PROBLEMS_SHOWN = 20


def _roster_problems(error: RosterError) -> str:
    problems = [str(problem) for problem in error.problems]
    shown = "\n".join(problems[:MAX_PROBLEMS_SHOWN])
    more = len(problems) - MAX_PROBLEMS_SHOWN
    suffix = f"\n... and {more} more problems." if more > 0 else ""
    return f"The roster was not imported, and nothing was changed:\n{shown}{suffix}"


class WardService:
    """The ward operations of one organisation.

    `planner_settings` (None for the defaults) is kept for the workflow service that
    `WorkflowService.of` builds from this one, so that bookings made in chat plan their reminders
    with the same settings as the planning job.
    """

    def __init__(
        self, database: Database, clock: Clock, organisation: str, *, planner_settings: PlannerSettings | None = None
    ) -> None:
        self.database = database
        self.clock = clock
        self.organisation = organisation
        self.planner_settings = planner_settings

    async def import_roster(self, roster: Roster, *, dry_run: bool = False, rename: bool = True) -> ImportReport:
        """Write a checked roster in one transaction (rolled back for a dry run).

        A ward that exists keeps its stored policy, since roster files carry none, and keeps its
        name unless `rename` is set.
        """
        async with self.database.session() as session:
            await repository.ensure_organisation(session, self.organisation)
            stored = {ward.key: ward for ward in await repository.list_wards(session, self.organisation)}
            existing = stored.get(roster.ward.key)
            if existing is not None:
                name = roster.ward.name if rename else existing.name
                roster.ward = LearningEnvironment(existing.key, name, existing.policy)
            report = await repository.save_roster(session, self.organisation, roster)
            if dry_run:
                await session.rollback()
            else:
                await session.commit()
        logger.info(
            "Imported roster for ward %s in organisation %s (dry run: %s).", roster.ward.key, self.organisation, dry_run
        )
        return report

    async def find_ward(self, text: str) -> LearningEnvironment:
        async with self.database.session() as session:
            wards = await repository.list_wards(session, self.organisation)
        wanted = text.strip().casefold()
        for ward in wards:
            if wanted in (ward.key.casefold(), ward.name.casefold()):
                return ward
        known = ", ".join(ward.key for ward in wards) or "none yet: import a roster first"
        raise UserError(f"There is no ward called '{text.strip()}'. Wards: {known}.")

    async def find_person(self, key: str) -> Person | None:
        async with self.database.session() as session:
            return await repository.find_person(session, self.organisation, key)

    async def educator_wards(self, person: str) -> list[str]:
        # Any confirmed educator role counts, whatever its dates: an educator ends it by replacing it.
        async with self.database.session() as session:
            stored = await repository.list_assignments(
                session, self.organisation, person=person, roles=[Role.CLINICAL_EDUCATOR]
            )
        return sorted({item.assignment.ward for item in stored if item.assignment.ward})

    def today(self, timezone: str = "Europe/London") -> date:
        return self.clock.now().astimezone(ZoneInfo(timezone)).date()

    async def roster_summary(self, ward_text: str) -> RosterSummary:
        ward = await self.find_ward(ward_text)
        async with self.database.session() as session:
            roster = await repository.load_roster(session, self.organisation, ward.key)
            stored = await repository.list_assignments(session, self.organisation, ward=ward.key, roles=MENTOR_ROLES)
        people = roster.people
        staff = sorted((p for p in people.values() if not p.is_student and not p.academic), key=lambda p: p.key)
        days = sorted(shift.day for shift in roster.shifts.values())
        mentors: dict[str, dict[Role, Person]] = {}
        for item in stored:
            student, role = item.assignment.student, item.assignment.role
            if student and item.assignment.person in people:
                mentors.setdefault(student, {})[role] = people[item.assignment.person]
        return RosterSummary(
            ward=ward,
            students=tuple(roster.students()),
            registered_nurses=tuple(p for p in staff if p.is_registered_nurse),
            other_registered=tuple(p for p in staff if p.is_registered and not p.is_registered_nurse),
            unregistered=tuple(p for p in staff if not p.is_registered),
            first_day=days[0] if days else None,
            last_day=days[-1] if days else None,
            shift_count=len(roster.shifts),
            mentors=mentors,
            breaches=tuple(ward_breaches(roster)),
        )

    async def propose_matches(self, ward_text: str, *, rematch: bool = False) -> MatchOutcome:
        """Run matching for a ward and store the result as proposals awaiting confirmation.

        Confirmed pairs are kept unless `rematch` is set. Then everyone is matched afresh: a pair
        that comes out the same stays as it is, and a changed one is proposed from today (or the
        placement start), replacing the confirmed one when the educator confirms.
        """
        ward = await self.find_ward(ward_text)
        today = self.today(ward.policy.timezone)
        async with self.database.session() as session:
            roster = await repository.load_roster(session, self.organisation, ward.key)
            student_keys = {person.key for person in roster.students()}
            history = await repository.list_assignments(
                session, self.organisation, roles=MENTOR_ROLES, statuses=(CONFIRMED, ENDED)
            )
            confirmed = [item for item in history if item.status == CONFIRMED]
            here = [item for item in confirmed if item.assignment.student in student_keys]
            existing = [item.assignment for item in confirmed if item.assignment.student not in student_keys]
            previous = self._previous_pairings(roster, history)
            if rematch:
                roster.assignments = [a for a in roster.assignments if a.role not in MENTOR_ROLES]
            result = match_ward(
                roster, existing=existing, previous=previous, keep=[] if rematch else [item.assignment for item in here]
            )

            current = {(item.assignment.student, item.assignment.role): item for item in here}
            kept = [] if rematch else list(here)
            proposals: list[tuple[RoleAssignment, str]] = []
            unchanged: list[Pairing] = []
            for pair in result.pairs:
                held = current.get((pair.student, pair.role))
                if held is not None and held.assignment.person == pair.person:
                    kept.append(held)
                    unchanged.append(pair)
                    continue
                proposals.append((self._proposal(roster, pair, held, today), pair.reason))
            await repository.replace_proposals(session, self.organisation, ward.key, proposals)
            await session.commit()
        result.pairs = [pair for pair in result.pairs if pair not in unchanged]
        logger.info(
            "Proposed %d pairs for ward %s (%d kept, %d unmatched).",
            len(result.pairs), ward.key, len(kept), len(result.unmatched),
        )
        return MatchOutcome(ward=ward, result=result, kept=tuple(kept), people=dict(roster.people), rematch=rematch)

    @staticmethod
    def _previous_pairings(roster: Roster, history: list[StoredAssignment]) -> list[RoleAssignment]:
        """Return each student's mentors from placements that ended before this one began."""
        starts = {placement.student: placement.start for placement in roster.placements}
        return [
            item.assignment for item in history
            if item.assignment.student in starts and item.assignment.end < starts[item.assignment.student]
        ]

    @staticmethod
    def _proposal(roster: Roster, pair: Pairing, held: StoredAssignment | None, today: date) -> RoleAssignment:
        placement = next(p for p in roster.placements if p.student == pair.student)
        start = placement.start
        change_reason = None
        if held is not None:
            # A change during the placement applies from today; the confirmed pair ends the day before.
            start = max(placement.start, min(today, placement.end))
            change_reason = "re-matched by the clinical educator"
        return RoleAssignment(
            role=pair.role, person=pair.person, student=pair.student, ward=roster.ward.key,
            start=start, end=placement.end, change_reason=change_reason,
        )

    async def confirm_matches(self, ward_text: str) -> tuple[LearningEnvironment, list[StoredAssignment]]:
        """Confirm the ward's proposals; storage ends any confirmed pair that a proposal replaces.

        Either everything is confirmed or, when a rule rejects a pair, nothing is.
        """
        ward = await self.find_ward(ward_text)
        async with self.database.session() as session:
            try:
                newly_confirmed = await repository.confirm_proposals(session, self.organisation, ward.key)
            except AssignmentRejected as rejected:
                await session.rollback()
                raise UserError(f"Nothing was confirmed for {ward.name}: {rejected}") from None
            await session.commit()
        logger.info("Confirmed %d pairs for ward %s.", len(newly_confirmed), ward.key)
        return ward, newly_confirmed

    async def coach_plans(self, ward_text: str, day: date | None = None) -> CoachDay:
        """Plan the coach groups of every shift starting on `day` (today by default).

        Groups are planned from the start of the roster so that each student's coach carries over
        from their previous shift.
        """
        ward = await self.find_ward(ward_text)
        day = day or self.today(ward.policy.timezone)
        async with self.database.session() as session:
            roster = await repository.load_roster(session, self.organisation, ward.key)
            supervisors = await self._named_supervisors(session, ward.key)
        plans = plan_coach_groups(roster, named_supervisors=supervisors, end=day)
        return CoachDay(ward, day, [plan for plan in plans if plan.shift.day == day], dict(roster.people))

    async def _named_supervisors(self, session, ward: str) -> dict[str, str]:
        stored = await repository.list_assignments(
            session, self.organisation, ward=ward, roles=[Role.NAMED_PRACTICE_SUPERVISOR]
        )
        return {item.assignment.student: item.assignment.person for item in stored if item.assignment.student}

    async def student_team(self, student_key: str, *, week: bool = False) -> StudentTeam:
        """Look up a student's practice assessor, named supervisor and coaches for today.

        Today's shifts are those starting today plus a night shift from yesterday that is still
        running, so a student on a night shift gets their coach after midnight too. With `week`,
        the shifts are those of the whole Monday-to-Sunday week instead.
        """
        now = self.clock.now()
        async with self.database.session() as session:
            student = await repository.find_person(session, self.organisation, student_key)
            if student is None or not student.is_student:
                raise UserError("This is for students on placement, and you are not on a roster as a student.")
            ward_key = await repository.ward_of_student(session, self.organisation, student_key, self.today())
            if ward_key is None:
                return StudentTeam(student=student, ward=None, assessor=None, supervisor=None, shifts_today=())
            roster = await repository.load_roster(session, self.organisation, ward_key)
            supervisors = await self._named_supervisors(session, ward_key)

        people = roster.people
        today = now.astimezone(ZoneInfo(roster.ward.policy.timezone)).date()
        # The mentor in post today; before the placement starts, the first one confirmed for it.
        mentors: dict[Role, Person | None] = {}
        for assignment in sorted(roster.assignments, key=lambda a: a.start):
            if assignment.student != student_key or assignment.role not in MENTOR_ROLES or assignment.end < today:
                continue
            if assignment.start <= today or assignment.role not in mentors:
                mentors[assignment.role] = people.get(assignment.person)
        monday = today - timedelta(days=today.weekday())
        last_day = monday + timedelta(days=6) if week else today
        shifts_today: list[tuple[ShiftPlan, Person | None]] = []
        for plan in plan_coach_groups(roster, named_supervisors=supervisors, end=last_day):
            running = plan.shift.starts_at <= now < plan.shift.ends_at
            in_week = week and monday <= plan.shift.day <= last_day
            if plan.shift.day != today and not running and not in_week:
                continue
            coach = next((group.coach for group in plan.groups if student_key in group.students), None)
            if coach is not None or any(gap.student == student_key for gap in plan.gaps):
                shifts_today.append((plan, people.get(coach) if coach else None))
        return StudentTeam(
            student=student,
            ward=roster.ward,
            assessor=mentors.get(Role.PRACTICE_ASSESSOR),
            supervisor=mentors.get(Role.NAMED_PRACTICE_SUPERVISOR),
            shifts_today=tuple(shifts_today),
        )

    def now(self) -> datetime:
        return self.clock.now()

    async def ward_overview(self, ward_text: str) -> WardOverview:
        """Summarise a ward for its educator: students, who lacks a mentor, today's gaps."""
        coach_day = await self.coach_plans(ward_text)
        summary = await self.roster_summary(coach_day.ward.key)
        unmatched = tuple(
            student for student in summary.students
            if set(summary.mentors.get(student.key, {})) != set(MENTOR_ROLES)
        )
        gaps = tuple((plan, gap) for plan in coach_day.plans for gap in plan.gaps)
        return WardOverview(coach_day.ward, summary.students, unmatched, gaps, coach_day.people)

    async def import_roster_csv(self, ward: LearningEnvironment, people: bytes, shifts: bytes) -> ImportReport:
        """Check and import a CSV roster sent through chat; a bad roster raises UserError and changes nothing."""
        with tempfile.TemporaryDirectory(prefix="clipbot-roster-") as folder:
            people_path = Path(folder) / "people.csv"
            shifts_path = Path(folder) / "shifts.csv"
            people_path.write_bytes(people)
            shifts_path.write_bytes(shifts)
            try:
                roster = read_csv_roster(people_path, shifts_path, ward=ward)
            except RosterError as error:
                raise UserError(_roster_problems(error)) from None
        return await self.import_roster(roster, rename=False)

    # Chat platforms: identities, ward channels and de-duplication of redelivered events.

    async def record_event(self, platform: str, event_id: str) -> bool:
        """Record an incoming event id; False means it was seen before and must be skipped."""
        async with self.database.session() as session:
            first = await repository.record_event(session, platform, event_id)
            await session.commit()
        return first

    async def person_for_user(self, platform: str, workspace: str, user: str, *, email: str | None = None) -> str | None:
        """Find the roster person of a chat user, linking them by e-mail the first time if it matches."""
        async with self.database.session() as session:
            key = await repository.person_for_user(session, self.organisation, platform, workspace, user)
            if key is not None or not email:
                return key
            person = await repository.find_person_by_email(session, self.organisation, email)
            if person is None:
                return None
            await repository.link_identity(
                session, self.organisation, platform, workspace, user, person.key, email=email
            )
            await session.commit()
        logger.info("Linked %s user %s in %s to person %s by e-mail.", platform, user, workspace, person.key)
        return person.key

    async def link_account(self, *, educator: str, platform: str, workspace: str, user: str, person_key: str) -> Person:
        """Link a chat user to a person on one of the educator's wards."""
        wards = set(await self.educator_wards(educator))
        async with self.database.session() as session:
            person = await repository.find_person(session, self.organisation, person_key)
            on_wards = set(await repository.wards_of_person(session, self.organisation, person_key)) if person else set()
            if person is None or not on_wards & wards:
                raise UserError(
                    f"'{person_key}' is not on the roster of your wards ({', '.join(sorted(wards))}). "
                    f"Check the id in 'roster WARD'."
                )
            await repository.link_identity(session, self.organisation, platform, workspace, user, person_key)
            await session.commit()
        logger.info("Educator %s linked %s user %s to person %s.", educator, platform, user, person_key)
        return person

    async def user_for_person(self, platform: str, workspace: str, person_key: str) -> str | None:
        async with self.database.session() as session:
            return await repository.user_for_person(session, self.organisation, platform, workspace, person_key)

    async def mark_unreachable(self, platform: str, workspace: str, user: str) -> None:
        async with self.database.session() as session:
            await repository.mark_unreachable(session, self.organisation, platform, workspace, user)
            await session.commit()

    async def set_ward_channel(self, ward_key: str, platform: str, workspace: str, channel: str) -> None:
        async with self.database.session() as session:
            await repository.set_ward_channel(session, self.organisation, ward_key, platform, workspace, channel)
            await session.commit()
        logger.info("Ward %s now posts to %s channel %s.", ward_key, platform, channel)

    async def ward_channel(self, ward_key: str, platform: str) -> tuple[str, str] | None:
        async with self.database.session() as session:
            found = await repository.ward_channel(session, self.organisation, ward_key, platform)
        return None if found is None else (found.workspace, found.channel_id)

    async def educator_names_for(self, person_key: str) -> list[str]:
        """Return the names of the clinical educators of the wards whose roster lists the person."""
        async with self.database.session() as session:
            ward_keys = await repository.wards_of_person(session, self.organisation, person_key)
        educators = sorted({key for ward in ward_keys for key in await self.ward_educators(ward)})
        people = await self.people_by_key(educators)
        return [people[key].name for key in educators if key in people]

    async def ward_educators(self, ward_key: str) -> list[str]:
        async with self.database.session() as session:
            stored = await repository.list_assignments(
                session, self.organisation, ward=ward_key, roles=[Role.CLINICAL_EDUCATOR]
            )
        return sorted({item.assignment.person for item in stored if item.assignment.ward == ward_key})

    async def claim_gap_alert(self, educator: str, student: str, shift: Shift) -> bool:
        """Return True the first time an educator is to be alerted that `student` has no coach on `shift`.

        The alert is recorded in the outbox as sent, so a later call for the same educator, student
        and shift returns False on any replica. The record contains no text and is deleted with other
        old outbox rows.
        """
        now = self.clock.now()
        record = NewMessage(
            idempotency_key=f"{self.organisation}:{GAP_ALERT}:{educator}:{student}:{shift.ward}:{shift.key}",
            kind=GAP_ALERT, recipient_kind=RecipientKind.PERSON, recipient=educator, payload={},
            due_at=now, not_after=max(now, shift.ends_at),
        )
        async with self.database.transaction() as session:
            return await repository.record_sent(session, self.organisation, record)

    async def people_by_key(self, keys: Iterable[str]) -> dict[str, Person]:
        found: dict[str, Person] = {}
        async with self.database.session() as session:
            for key in sorted(set(keys)):
                person = await repository.find_person(session, self.organisation, key)
                if person is not None:
                    found[key] = person
        return found

    async def add_educator(self, person_key: str, ward_text: str, *, name: str | None = None,
                           email: str | None = None, ward_name: str | None = None) -> RoleAssignment:
        """Make a registered nurse the ward's clinical educator, adding them to the people first if asked.

        A ward that does not exist yet is created empty, so that its educator can import its roster
        from Slack or Teams. `email` sets or replaces the person's e-mail address, by which the bot
        links their chat account. A later roster import that lists the person with another address
        replaces it, and one that gives none keeps it. When the person already has an
        open-ended educator role on the ward that has started, that role is returned and no second
        one is added. Everything is written in one transaction, so a UserError changes nothing.
        """
        address = None if email is None else _educator_email(email)
        try:
            ward = await self.find_ward(ward_text)
            new_ward = False
        except UserError:
            ward = LearningEnvironment(ward_text.strip(), (ward_name or ward_text).strip())
            if not ward.key or " " in ward.key:
                raise UserError(
                    f"'{ward_text}' cannot be a ward key. Use one word such as 6-west, and --ward-name for its name."
                ) from None
            new_ward = True
        today = self.today(ward.policy.timezone)

        async with self.database.session() as session:
            person = await repository.find_person(session, self.organisation, person_key)
            if person is None and not name:
                raise UserError(
                    f"'{person_key}' is not on any roster. Give --name to add them as a registered nurse."
                )
            if address is not None:
                await self._check_email_unused(session, address, person_key)
            if new_ward:
                await repository.ensure_organisation(session, self.organisation)
                await repository.save_roster(session, self.organisation, Roster(ward=ward))

            if person is None:
                person = Person(person_key, name or person_key, Registration.REGISTERED_NURSE, email=address)
                await repository.add_person(session, self.organisation, person, ward=ward.key)
            elif address is not None and address != person.email:
                person = replace(person, email=address)
                await repository.add_person(session, self.organisation, person)

            assignment = await self._open_educator_assignment(session, person.key, ward.key, today)
            if assignment is None:
                assignment = RoleAssignment(
                    role=Role.CLINICAL_EDUCATOR, person=person.key, ward=ward.key, start=today, end=date.max,
                )
                try:
                    await repository.add_assignment(session, self.organisation, assignment)
                except AssignmentRejected as rejected:
                    raise UserError(str(rejected)) from None
            await session.commit()
        if new_ward:
            logger.info("Created empty ward %s for its new educator.", ward.key)
        logger.info("Made %s clinical educator for ward %s.", person.key, ward.key)
        return assignment

    async def _check_email_unused(self, session, address: str, person_key: str) -> None:
        """Raise UserError when someone else has the address, because linking by e-mail needs exactly one match."""
        others = [
            person for person in await repository.people_with_email(session, self.organisation, address)
            if person.key != person_key
        ]
        if others:
            holders = ", ".join(f"{person.name} ({person.key})" for person in others)
            raise UserError(
                f"'{address}' is already the e-mail address of {holders}. The bot recognises a chat account "
                f"only when one person has its address, so give {person_key}'s own address, or first correct "
                f"the other person's (in their ward's people.csv, or with this command)."
            )

    async def _open_educator_assignment(
        self, session, person_key: str, ward_key: str, today: date
    ) -> RoleAssignment | None:
        """Return the person's confirmed educator role on the ward that started by today and has no end date."""
        stored = await repository.list_assignments(
            session, self.organisation, ward=ward_key, person=person_key, roles=[Role.CLINICAL_EDUCATOR], on=today
        )
        return next(
            (item.assignment for item in stored if item.assignment.ward == ward_key and item.assignment.end == date.max),
            None,
        )


def _educator_email(text: str) -> str:
    """Return the stripped address, or raise UserError when roster imports would reject it too."""
    address = text.strip()
    # The same pattern as the email column of people.csv, so the two accept the same addresses.
    if not ROSTER_EMAIL.fullmatch(address):
        raise UserError(
            f"'{address}' is not an e-mail address. Give the full address of the educator's Slack or Teams "
            f"account with --email, for example --email firstname.lastname@nhs.net. Nothing was changed."
        )
    return address
