"""Parsers for the four file kinds of the INRC-II nurse rostering benchmark.

INRC-II files are whitespace-separated text in sections. A section starts with a keyword line,
sometimes `KEYWORD = value`, and its items follow one a line. The parsers accept CRLF or LF line
endings, trailing spaces and blank lines. A solution's `ASSIGNMENTS = N` list is read for exactly N
lines and anything after it (such as a solver's `Cost:` lines) is ignored. Every parser reports
all the problems in its file at once, as one RosterError.

File kinds: the scenario `Sc-<id>.txt` (weeks, skills, shift types, contracts, staff), the initial
history `H0-<id>-<h>.txt`, the week data `WD-<id>-<j>.txt` (cover requirements and requests for a
day or shift off) and the solution `Sol-<id>-<j>-<w>.txt` (who works which shift in week w).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from clipbot.rosters.errors import ProblemLog, RosterError

logger = logging.getLogger(__name__)

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

_PAIR = re.compile(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)")
_SHIFT_TYPE = re.compile(r"(\S+)\s*(\(.*\))")
_CONTRACT = re.compile(r"(\S+)\s*(\(.*\))\s+(\d+)\s+(\d+)")


@dataclass(frozen=True)
class Inrc2ShiftType:
    """A scenario's shift type with its soft limits on consecutive days of that shift."""

    name: str
    min_consecutive: int
    max_consecutive: int


@dataclass(frozen=True)
class Inrc2Contract:
    """A contract: limits on total shifts, runs of working days and days off, and weekends."""

    name: str
    min_assignments: int
    max_assignments: int
    min_consecutive_working_days: int
    max_consecutive_working_days: int
    min_consecutive_days_off: int
    max_consecutive_days_off: int
    max_working_weekends: int
    complete_weekends: bool


@dataclass(frozen=True)
class Inrc2Nurse:
    """A member of staff in the scenario, with the scenario line that lists them."""

    id: str
    contract: str
    skills: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Inrc2Scenario:
    """The master data of a dataset: planning horizon, skills, shift types, contracts and staff.

    `forbidden_successions` maps a shift type to the shift types that may not follow it the next day.
    """

    file: str
    id: str
    weeks: int
    skills: tuple[str, ...]
    shift_types: tuple[Inrc2ShiftType, ...]
    shift_type_lines: dict[str, int]
    forbidden_successions: dict[str, tuple[str, ...]]
    contracts: tuple[Inrc2Contract, ...]
    nurses: tuple[Inrc2Nurse, ...]


@dataclass(frozen=True)
class Inrc2NurseHistory:
    """A nurse's state on the last day before week 0. `last_shift` is None for a day off."""

    nurse: str
    assignments: int
    working_weekends: int
    last_shift: str | None
    consecutive_same_shift: int
    consecutive_working_days: int
    consecutive_days_off: int


@dataclass(frozen=True)
class Inrc2History:
    """An initial history: the week it precedes and every nurse's state."""

    file: str
    week: int
    scenario_id: str
    nurses: tuple[Inrc2NurseHistory, ...]


@dataclass(frozen=True)
class Inrc2Requirement:
    """Cover wanted for one skill on one shift type, Monday to Sunday: hard minimum and optimum."""

    shift: str
    skill: str
    minimum: tuple[int, ...]
    optimal: tuple[int, ...]


@dataclass(frozen=True)
class Inrc2ShiftOffRequest:
    """A nurse's wish not to work a shift (or, with `shift` None, any shift) on a day (0 = Monday)."""

    nurse: str
    shift: str | None
    day: int


@dataclass(frozen=True)
class Inrc2WeekData:
    """One week's cover requirements and requests for shifts off."""

    file: str
    scenario_id: str
    requirements: tuple[Inrc2Requirement, ...]
    shift_off_requests: tuple[Inrc2ShiftOffRequest, ...]


@dataclass(frozen=True)
class Inrc2Assignment:
    """One solution line: `nurse` works `shift` on `day` (0 = Monday), covering `skill`."""

    nurse: str
    day: int
    shift: str
    skill: str
    line: int


@dataclass(frozen=True)
class Inrc2Solution:
    """One week of a solved roster. `week` is the week index inside the planning horizon."""

    file: str
    week: int
    week_line: int
    scenario_id: str
    assignments: tuple[Inrc2Assignment, ...]


@dataclass(frozen=True)
class _Line:
    number: int
    text: str

    @property
    def words(self) -> list[str]:
        return self.text.split()


@dataclass
class _Section:
    header: _Line
    value: str
    lines: list[_Line]


class _Reader:
    """The sections of one file, with the problems found in them."""

    def __init__(self, path: Path, keywords: Collection[str], problems: ProblemLog) -> None:
        self.file = path.name
        self.problems = problems
        self.count_before = len(problems)
        self.sections: dict[str, _Section] = {}
        self.failed_to_read = True
        lines = self._read_lines(path)
        if lines is not None:
            self._split(lines, keywords)

    @property
    def failed(self) -> bool:
        return len(self.problems) > self.count_before

    def problem(self, line: int | None, field: str | None, message: str) -> None:
        self.problems.add(self.file, line, field, message)

    def section(self, keyword: str) -> _Section | None:
        found = self.sections.get(keyword)
        if found is None and not self.failed_to_read:
            self.problem(None, None, f"The {keyword} section is missing. Check that this is the right file.")
        return found

    def counted(self, keyword: str, noun: str, *, extra_allowed: bool = False) -> list[_Line]:
        """Return the items of a `KEYWORD = N` section, reporting a count that does not match."""
        found = self.section(keyword)
        if found is None:
            return []
        if not found.value.isdigit():
            self.problem(found.header.number, keyword, f"'{found.value}' is not a number. Write {keyword} = "
                         f"the number of {noun}.")
            return found.lines
        count = int(found.value)
        if len(found.lines) < count or (len(found.lines) > count and not extra_allowed):
            self.problem(found.header.number, keyword, f"{keyword} = {count}, but {len(found.lines)} {noun} "
                         f"follow. Correct the number or the list.")
        if len(found.lines) > count:
            logger.debug("Ignored %d lines after the %s list in %s", len(found.lines) - count, keyword, self.file)
        return found.lines[:count]

    def single(self, keyword: str) -> _Line | None:
        """Return the only line of a one-line section, such as `SOLUTION`."""
        found = self.section(keyword)
        if found is None:
            return None
        if len(found.lines) != 1:
            self.problem(found.header.number, keyword, f"The {keyword} section should have one line, but it has "
                         f"{len(found.lines)}.")
            return None
        return found.lines[0]

    def number(self, line: _Line, field: str, text: str) -> int | None:
        if text.isdigit():
            return int(text)
        self.problem(line.number, field, f"'{text}' is not a whole number of zero or more.")
        return None

    def _read_lines(self, path: Path) -> list[_Line] | None:
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except FileNotFoundError:
            self.problem(None, None, f"File not found at {path}. Check the file name and folder.")
            return None
        except IsADirectoryError:
            self.problem(None, None, f"{path} is a folder, not a file. Give the scenario file first, then the "
                                     f"solution folder.")
            return None
        except OSError as error:
            self.problem(None, None, f"The file could not be read: {error.strerror}.")
            return None
        except UnicodeDecodeError:
            self.problem(None, None, "The file is not UTF-8 text. Check that this is an INRC-II file.")
            return None
        self.failed_to_read = False
        # splitlines() also ends a line at a lone CR, so CRLF files read like LF files.
        return [_Line(number, raw.strip()) for number, raw in enumerate(text.splitlines(), start=1) if raw.strip()]

    def _split(self, lines: list[_Line], keywords: Collection[str]) -> None:
        current: _Section | None = None
        for line in lines:
            name, _, value = line.text.partition("=")
            name = name.strip()
            if name in keywords:
                if name in self.sections:
                    self.problem(line.number, name, f"The {name} section appears twice, first on line "
                                 f"{self.sections[name].header.number}. Keep one.")
                current = _Section(line, value.strip(), [])
                self.sections.setdefault(name, current)
            elif current is None:
                self.problem(line.number, None, f"'{line.text}' comes before the first section. Check that this "
                             f"is the right kind of file.")
            else:
                current.lines.append(line)


def parse_inrc2_scenario(path: Path) -> Inrc2Scenario:
    """Parse a scenario file `Sc-<id>.txt`, raising RosterError with every problem in it."""
    problems = ProblemLog()
    scenario = read_scenario(path, problems)
    if scenario is None:
        raise RosterError(problems.problems)
    return scenario


def parse_inrc2_history(path: Path) -> Inrc2History:
    """Parse an initial history file `H0-<id>-<h>.txt`, raising RosterError with every problem in it."""
    problems = ProblemLog()
    history = read_history(path, problems)
    if history is None:
        raise RosterError(problems.problems)
    return history


def parse_inrc2_week_data(path: Path) -> Inrc2WeekData:
    """Parse a week data file `WD-<id>-<j>.txt`, raising RosterError with every problem in it."""
    problems = ProblemLog()
    week_data = read_week_data(path, problems)
    if week_data is None:
        raise RosterError(problems.problems)
    return week_data


def parse_inrc2_solution(path: Path) -> Inrc2Solution:
    """Parse a solution file `Sol-<id>-<j>-<w>.txt`, raising RosterError with every problem in it."""
    problems = ProblemLog()
    solution = read_solution(path, problems)
    if solution is None:
        raise RosterError(problems.problems)
    return solution


_SCENARIO_KEYWORDS = (
    "SCENARIO", "WEEKS", "SKILLS", "SHIFT_TYPES", "FORBIDDEN_SHIFT_TYPES_SUCCESSIONS", "CONTRACTS", "NURSES",
)


def read_scenario(path: Path, problems: ProblemLog) -> Inrc2Scenario | None:
    """Parse a scenario file, adding its problems to `problems`. Returns None if there were any."""
    reader = _Reader(path, _SCENARIO_KEYWORDS, problems)

    scenario = reader.section("SCENARIO")
    scenario_id = scenario.value if scenario else ""
    if scenario is not None and len(scenario.value.split()) != 1:
        reader.problem(scenario.header.number, "SCENARIO", "Write the scenario id as SCENARIO = id, with no spaces.")

    weeks_section = reader.section("WEEKS")
    weeks = 0
    if weeks_section is not None:
        if weeks_section.value.isdigit() and int(weeks_section.value) > 0:
            weeks = int(weeks_section.value)
        else:
            reader.problem(weeks_section.header.number, "WEEKS", f"'{weeks_section.value}' is not a number of "
                           f"weeks. Write WEEKS = a whole number of 1 or more.")

    skills = _read_names(reader, "SKILLS", "skills", "skill")
    shift_types, shift_type_lines = _read_shift_types(reader)
    forbidden = _read_forbidden_successions(reader, set(shift_type_lines))
    contracts = _read_contracts(reader)
    nurses = _read_nurses(reader, set(skills), {contract.name for contract in contracts})

    if reader.failed:
        return None
    return Inrc2Scenario(
        reader.file, scenario_id, weeks, tuple(skills), tuple(shift_types), shift_type_lines, forbidden,
        tuple(contracts), tuple(nurses),
    )


def _read_names(reader: _Reader, keyword: str, noun: str, field: str) -> list[str]:
    names: list[str] = []
    for line in reader.counted(keyword, noun):
        if len(line.words) != 1:
            reader.problem(line.number, field, f"'{line.text}' should be a single {field} name.")
        elif line.text in names:
            reader.problem(line.number, field, f"{field.capitalize()} '{line.text}' is listed twice.")
        else:
            names.append(line.text)
    return names


def _read_pairs(text: str, count: int) -> list[tuple[int, int]] | None:
    """Parse exactly `count` "(a,b)" pairs separated by spaces, or return None."""
    pairs = [(int(match[1]), int(match[2])) for match in _PAIR.finditer(text)]
    if len(pairs) != count or _PAIR.sub("", text).strip():
        return None
    return pairs


def _read_shift_types(reader: _Reader) -> tuple[list[Inrc2ShiftType], dict[str, int]]:
    shift_types: list[Inrc2ShiftType] = []
    lines: dict[str, int] = {}
    for line in reader.counted("SHIFT_TYPES", "shift types"):
        match = _SHIFT_TYPE.fullmatch(line.text)
        pairs = _read_pairs(match[2], 1) if match else None
        if match is None or pairs is None:
            reader.problem(line.number, "shift type", f"'{line.text}' is not a shift type. Write it as "
                           f"Name (minimum,maximum), for example Early (2,5).")
            continue
        if match[1] in lines:
            reader.problem(line.number, "shift type", f"Shift type '{match[1]}' is listed twice.")
            continue
        lines[match[1]] = line.number
        shift_types.append(Inrc2ShiftType(match[1], *pairs[0]))
    return shift_types, lines


def _read_forbidden_successions(reader: _Reader, shift_names: set[str]) -> dict[str, tuple[str, ...]]:
    section = reader.section("FORBIDDEN_SHIFT_TYPES_SUCCESSIONS")
    forbidden: dict[str, tuple[str, ...]] = {}
    for line in section.lines if section else []:
        first, *rest = line.words
        if not rest or not rest[0].isdigit() or int(rest[0]) != len(rest) - 1:
            reader.problem(line.number, "shift type", f"'{line.text}' should be a shift type, the number of "
                           f"shift types that may not follow it, then those shift types.")
            continue
        unknown = [name for name in (first, *rest[1:]) if name not in shift_names]
        if unknown:
            reader.problem(line.number, "shift type", f"'{unknown[0]}' is not one of the SHIFT_TYPES.")
            continue
        forbidden[first] = tuple(rest[1:])
    return forbidden


def _read_contracts(reader: _Reader) -> list[Inrc2Contract]:
    contracts: list[Inrc2Contract] = []
    for line in reader.counted("CONTRACTS", "contracts"):
        match = _CONTRACT.fullmatch(line.text)
        pairs = _read_pairs(match[2], 3) if match else None
        if match is None or pairs is None or match[4] not in ("0", "1"):
            reader.problem(line.number, "contract", f"'{line.text}' is not a contract. Write it as Name "
                           f"(min,max) (min,max) (min,max) weekends 0|1.")
            continue
        (min_total, max_total), (min_work, max_work), (min_off, max_off) = pairs
        contracts.append(Inrc2Contract(
            match[1], min_total, max_total, min_work, max_work, min_off, max_off, int(match[3]), match[4] == "1",
        ))
    return contracts


def _read_nurses(reader: _Reader, skills: set[str], contracts: set[str]) -> list[Inrc2Nurse]:
    nurses: list[Inrc2Nurse] = []
    seen: dict[str, int] = {}
    for line in reader.counted("NURSES", "nurses"):
        words = line.words
        if len(words) < 3 or not words[2].isdigit() or int(words[2]) != len(words) - 3:
            reader.problem(line.number, "nurse", f"'{line.text}' should be a nurse id, a contract, the number "
                           f"of skills, then the skills.")
            continue
        nurse, contract, _, *nurse_skills = words
        if nurse in seen:
            reader.problem(line.number, "nurse", f"Nurse '{nurse}' is already listed on line {seen[nurse]}.")
            continue
        seen[nurse] = line.number
        if contract not in contracts:
            reader.problem(line.number, "contract", f"'{contract}' is not one of the CONTRACTS.")
        for skill in nurse_skills:
            if skill not in skills:
                reader.problem(line.number, "skills", f"'{skill}' is not one of the SKILLS.")
        nurses.append(Inrc2Nurse(nurse, contract, tuple(nurse_skills), line.number))
    return nurses


def read_history(path: Path, problems: ProblemLog) -> Inrc2History | None:
    """Parse an initial history file, adding its problems to `problems`. Returns None if there were any."""
    reader = _Reader(path, ("HISTORY", "NURSE_HISTORY"), problems)
    week, scenario_id = _read_week_line(reader, "HISTORY")

    nurses: list[Inrc2NurseHistory] = []
    section = reader.section("NURSE_HISTORY")
    for line in section.lines if section else []:
        words = line.words
        if len(words) != 7:
            reader.problem(line.number, "nurse", f"'{line.text}' should have 7 values: nurse, shifts worked, "
                           f"working weekends, last shift type or None, and three run lengths.")
            continue
        numbers = [reader.number(line, "nurse", word) for word in words[1:3] + words[4:]]
        counts = [number for number in numbers if number is not None]
        if len(counts) != len(numbers):
            continue
        last_shift = None if words[3] == "None" else words[3]
        nurses.append(Inrc2NurseHistory(words[0], counts[0], counts[1], last_shift, counts[2], counts[3], counts[4]))

    if reader.failed or week is None:
        return None
    return Inrc2History(reader.file, week, scenario_id, tuple(nurses))


def read_week_data(path: Path, problems: ProblemLog) -> Inrc2WeekData | None:
    """Parse a week data file, adding its problems to `problems`. Returns None if there were any."""
    reader = _Reader(path, ("WEEK_DATA", "REQUIREMENTS", "SHIFT_OFF_REQUESTS"), problems)
    id_line = reader.single("WEEK_DATA")
    scenario_id = id_line.text if id_line else ""

    requirements: list[Inrc2Requirement] = []
    section = reader.section("REQUIREMENTS")
    for line in section.lines if section else []:
        words = line.words
        pairs = _read_pairs(" ".join(words[2:]), 7) if len(words) > 2 else None
        if pairs is None:
            reader.problem(line.number, "requirement", f"'{line.text}' should be a shift type, a skill, then "
                           f"seven (minimum,optimal) pairs from Monday to Sunday.")
            continue
        minimum, optimal = zip(*pairs)
        requirements.append(Inrc2Requirement(words[0], words[1], tuple(minimum), tuple(optimal)))

    requests: list[Inrc2ShiftOffRequest] = []
    for line in reader.counted("SHIFT_OFF_REQUESTS", "requests"):
        words = line.words
        if len(words) != 3 or words[2] not in DAY_NAMES:
            reader.problem(line.number, "request", f"'{line.text}' should be a nurse, a shift type or Any, and a "
                           f"day ({', '.join(DAY_NAMES)}).")
            continue
        shift = None if words[1] == "Any" else words[1]
        requests.append(Inrc2ShiftOffRequest(words[0], shift, DAY_NAMES.index(words[2])))

    if reader.failed:
        return None
    return Inrc2WeekData(reader.file, scenario_id, tuple(requirements), tuple(requests))


def read_solution(path: Path, problems: ProblemLog) -> Inrc2Solution | None:
    """Parse a solution file, adding its problems to `problems`. Returns None if there were any."""
    reader = _Reader(path, ("SOLUTION", "ASSIGNMENTS"), problems)
    week, scenario_id = _read_week_line(reader, "SOLUTION")
    section = reader.sections.get("SOLUTION")

    assignments: list[Inrc2Assignment] = []
    for line in reader.counted("ASSIGNMENTS", "assignments", extra_allowed=True):
        words = line.words
        if len(words) != 4:
            reader.problem(line.number, None, f"'{line.text}' should be a nurse, a day, a shift type and a skill.")
            continue
        nurse, day, shift, skill = words
        if day not in DAY_NAMES:
            reader.problem(line.number, "day", f"'{day}' is not a day. Use one of {', '.join(DAY_NAMES)}.")
            continue
        assignments.append(Inrc2Assignment(nurse, DAY_NAMES.index(day), shift, skill, line.number))

    if reader.failed or week is None or section is None:
        return None
    return Inrc2Solution(reader.file, week, section.lines[0].number, scenario_id, tuple(assignments))


def _read_week_line(reader: _Reader, keyword: str) -> tuple[int | None, str]:
    """Read the `<week> <scenario id>` line that follows HISTORY or SOLUTION."""
    line = reader.single(keyword)
    if line is None:
        return None, ""
    words = line.words
    if len(words) != 2:
        reader.problem(line.number, "week", f"'{line.text}' should be the week number and the scenario id.")
        return None, ""
    return reader.number(line, "week", words[0]), words[1]
