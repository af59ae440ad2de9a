"""Roster importers: turn a ward's roster files into a `clipbot.domain.roster.Roster`.

Two formats are read: clipbot's own CSV pair (people.csv and shifts.csv, described in
`clipbot.rosters.csv_format`) and the INRC-II nurse rostering benchmark. Each reader checks
everything before it returns, and raises one RosterError listing every problem with its file,
line and field. Nothing is stored here.
"""

from clipbot.rosters.csv_format import read_csv_roster
from clipbot.rosters.errors import RosterError, RosterProblem
from clipbot.rosters.inrc2 import read_inrc2_roster
from clipbot.rosters.inrc2_files import (
    Inrc2Assignment,
    Inrc2Contract,
    Inrc2History,
    Inrc2Nurse,
    Inrc2NurseHistory,
    Inrc2Requirement,
    Inrc2Scenario,
    Inrc2ShiftOffRequest,
    Inrc2ShiftType,
    Inrc2Solution,
    Inrc2WeekData,
    parse_inrc2_history,
    parse_inrc2_scenario,
    parse_inrc2_solution,
    parse_inrc2_week_data,
)
from clipbot.rosters.shift_times import parse_shift_times

__all__ = [
    "Inrc2Assignment",
    "Inrc2Contract",
    "Inrc2History",
    "Inrc2Nurse",
    "Inrc2NurseHistory",
    "Inrc2Requirement",
    "Inrc2Scenario",
    "Inrc2ShiftOffRequest",
    "Inrc2ShiftType",
    "Inrc2Solution",
    "Inrc2WeekData",
    "RosterError",
    "RosterProblem",
    "parse_inrc2_history",
    "parse_inrc2_scenario",
    "parse_inrc2_solution",
    "parse_inrc2_week_data",
    "parse_shift_times",
    "read_csv_roster",
    "read_inrc2_roster",
]
