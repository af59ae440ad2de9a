from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from clipbot.domain.people import FieldOfPractice, Person, Registration
from clipbot.domain.roles import Placement, Role, RoleAssignment
from clipbot.domain.roster import Roster
from clipbot.domain.rules import RuleContext, check_regulatory
from clipbot.domain.shifts import DEFAULT_SHIFT_TYPES, Duty, Leave, ShiftType
from clipbot.domain.ward import LearningEnvironment, WardPolicy
from clipbot.rosters import RosterError, RosterProblem, read_csv_roster

FILES = Path(__file__).parent / "files"
WARD = LearningEnvironment("ward-7", "Ward 7")
LONDON = ZoneInfo("Europe/London")

# A small ward for the error cases: each case changes or adds a few lines.
PEOPLE = """id,name,role,field
S1,Amy Lee,student,adult
N1,Cara Dunn,registered nurse,adult
N2,Dev Patel,registered nurse,adult
H1,Gail Ives,healthcare assistant,
"""
SHIFTS = """date,shift,person,in_charge,coach
2025-03-03,Early,N1,yes,
2025-03-03,Early,S1,,N1
2025-03-03,Early,H1,,
"""


def people_with(column: str, person: str, value: str) -> str:
    """Return PEOPLE with one more column, empty except in `person`'s row."""
    lines = PEOPLE.splitlines()
    rows = [f"{line},{value if line.startswith(person + ',') else ''}" for line in lines[1:]]
    return "\n".join([f"{lines[0]},{column}", *rows]) + "\n"


def read_files(tmp_path: Path, people: str, shifts: str, **options: object) -> Roster:
    people_path = tmp_path / "people.csv"
    shifts_path = tmp_path / "shifts.csv"
    people_path.write_text(people, encoding="utf-8", newline="")
    shifts_path.write_text(shifts, encoding="utf-8", newline="")
    return read_csv_roster(people_path, shifts_path, ward=WARD, **options)  # type: ignore[arg-type]


def problems_of(tmp_path: Path, people: str, shifts: str) -> list[RosterProblem]:
    with pytest.raises(RosterError) as raised:
        read_files(tmp_path, people, shifts)
    return raised.value.problems


def find(problems: list[RosterProblem], file: str, line: int | None, field: str | None) -> RosterProblem | None:
    return next((p for p in problems if (p.file, p.line, p.field) == (file, line, field)), None)


@pytest.fixture
def roster() -> Roster:
    return read_csv_roster(FILES / "people.csv", FILES / "shifts.csv", ward=WARD)


def test_people_have_their_roles(roster: Roster) -> None:
    assert roster.people["S1"] == Person(
        "S1", "Amy Lee", Registration.STUDENT, FieldOfPractice.ADULT, "amy.lee@northgate.example", 2,
        "Northgate University",
    )
    assert roster.people["S2"].field is FieldOfPractice.MENTAL_HEALTH
    assert roster.people["N3"].registration is Registration.REGISTERED_NURSE
    assert roster.people["P1"].registration is Registration.REGISTERED_PROFESSIONAL
    assert roster.people["H1"].registration is Registration.UNREGISTERED
    assert roster.people["A1"].registration is Registration.REGISTERED_NURSE
    assert roster.people["A1"].academic
    assert not roster.people["N1"].academic


def test_placements_default_to_shift_dates(roster: Roster) -> None:
    assert roster.placements == [
        Placement("S1", "ward-7", date(2025, 3, 3), date(2025, 3, 10)),
        Placement("S2", "ward-7", date(2025, 3, 3), date(2025, 3, 30)),
    ]


def test_presets_become_assignments(roster: Roster) -> None:
    s1_start, s1_end = date(2025, 3, 3), date(2025, 3, 10)
    s2_start, s2_end = date(2025, 3, 3), date(2025, 3, 30)
    assert roster.assignments == [
        RoleAssignment(Role.PRACTICE_ASSESSOR, "N1", s1_start, s1_end, student="S1"),
        RoleAssignment(Role.NAMED_PRACTICE_SUPERVISOR, "N2", s1_start, s1_end, student="S1"),
        RoleAssignment(Role.ACADEMIC_ASSESSOR, "A1", s1_start, s1_end, student="S1", programme_part=2),
        RoleAssignment(Role.PRACTICE_ASSESSOR, "N2", s2_start, s2_end, student="S2"),
        RoleAssignment(Role.NAMED_PRACTICE_SUPERVISOR, "N1", s2_start, s2_end, student="S2"),
        RoleAssignment(Role.CLINICAL_EDUCATOR, "E1", date(2025, 3, 3), date(2025, 3, 10), ward="ward-7"),
    ]


def test_duties_keep_in_charge_and_coach(roster: Roster) -> None:
    assert roster.duties[0] == Duty("2025-03-03 Early", "N1", in_charge=True)
    assert roster.duties[2] == Duty("2025-03-03 Early", "S1", coach="N3")
    assert len(roster.duties) == 13


def test_consecutive_leave_is_merged(roster: Roster) -> None:
    assert roster.leave == [Leave("S2", date(2025, 3, 5), date(2025, 3, 7))]


def test_shifts_have_ward_clock_times(roster: Roster) -> None:
    night = roster.shifts["2025-03-04 Night"]

    assert set(roster.shifts) == {"2025-03-03 Early", "2025-03-03 Late", "2025-03-04 Night", "2025-03-10 Day"}
    assert night.ward == "ward-7"
    assert night.starts_at == datetime(2025, 3, 4, 22, 30, tzinfo=LONDON)
    assert night.ends_at == datetime(2025, 3, 5, 6, 30, tzinfo=LONDON)


def test_custom_shift_types_are_used(tmp_path: Path) -> None:
    shift_types = (*DEFAULT_SHIFT_TYPES, ShiftType("Twilight", time(18, 0), time(2, 0)))
    shifts = SHIFTS.replace("2025-03-03,Early,H1,,", "2025-03-03,twilight,H1,,")

    roster = read_files(tmp_path, PEOPLE, shifts, shift_types=shift_types)

    assert roster.shifts["2025-03-03 Twilight"].ends_at == datetime(2025, 3, 4, 2, 0, tzinfo=LONDON)


def test_bom_crlf_semicolon_are_accepted(tmp_path: Path, roster: Roster) -> None:
    people = (FILES / "people.csv").read_text(encoding="utf-8")
    shifts = (FILES / "shifts.csv").read_text(encoding="utf-8")
    people = people.replace(",", ";").replace("\n", "\r\n")
    shifts = shifts.replace(",", ";").replace("\n", "\r\n")

    spreadsheet = read_files(tmp_path, "\ufeff" + people, "\ufeff" + shifts)

    assert spreadsheet.people == roster.people
    assert spreadsheet.duties == roster.duties
    assert spreadsheet.assignments == roster.assignments


def test_header_spelling_and_spacing_are_accepted(tmp_path: Path) -> None:
    people = " ID , Name ,ROLE,Field,Programme Part,Placement-Start,placement end\n" \
             "S1 , Amy Lee , Student ,Mental_Health, 2 ,03/03/2025,2025-03-28\n" \
             "\n" \
             "N1,Cara Dunn,Registered Nurse,,,,\n" \
             ",,,,,,\n" \
             "N2,Dev Patel,registered-nurse,,,,\n" \
             "H1,Gail Ives,HCA,,,,\n"

    roster = read_files(tmp_path, people, SHIFTS.replace("in_charge", "In Charge"))

    assert roster.people["S1"].name == "Amy Lee"
    assert roster.people["S1"].field is FieldOfPractice.MENTAL_HEALTH
    assert roster.people["S1"].programme_part == 2
    assert roster.placements == [Placement("S1", "ward-7", date(2025, 3, 3), date(2025, 3, 28))]
    assert roster.duties[0].in_charge


def test_dates_are_read_both_ways(tmp_path: Path) -> None:
    shifts = SHIFTS.replace("2025-03-03,Early,S1", "03/03/2025,Early,S1") + "4/3/2025,Late,S1,,\n"

    roster = read_files(tmp_path, PEOPLE, shifts)

    assert roster.duties[1].shift_key == "2025-03-03 Early"
    assert roster.duties[3].shift_key == "2025-03-04 Late"


def test_role_aliases_mean_healthcare_assistant(tmp_path: Path) -> None:
    people = PEOPLE + "H2,Jo Lamb,unregistered,\nH3,Kit Moss,Health care assistant,\n"

    roster = read_files(tmp_path, people, SHIFTS)

    assert roster.people["H2"].registration is Registration.UNREGISTERED
    assert roster.people["H3"].registration is Registration.UNREGISTERED


def test_problem_text_names_file_line_field() -> None:
    problem = RosterProblem("/uploads/ward7/people.csv", 12, "role", "'doctor' is not a role.")

    assert str(problem) == "people.csv, line 12, field role: 'doctor' is not a role."


def test_error_text_lists_every_problem() -> None:
    error = RosterError([
        RosterProblem("people.csv", 2, "role", "First."),
        RosterProblem("shifts.csv", None, None, "Second."),
    ])

    assert str(error) == "people.csv, line 2, field role: First.\nshifts.csv: Second."


# Each case: people.csv, shifts.csv, then where the problem is and a part of its message that
# names the bad value.
ERROR_CASES = {
    "unknown column": (
        PEOPLE.replace("field\n", "field,shoe size\n"), SHIFTS,
        ("people.csv", 1, "shoe size"), "placement_start",
    ),
    "missing required column": (
        PEOPLE, "date,shift,in_charge\n2025-03-03,Early,yes\n",
        ("shifts.csv", 1, "person"), "'person' is missing",
    ),
    "repeated column": (
        PEOPLE.replace("field\n", "field,Field\n"), SHIFTS,
        ("people.csv", 1, "Field"), "appears twice",
    ),
    "empty name": (
        PEOPLE + "N3,,registered nurse,adult\n", SHIFTS,
        ("people.csv", 6, "name"), "empty",
    ),
    "empty date": (
        PEOPLE, SHIFTS + ",Late,N2,,\n",
        ("shifts.csv", 5, "date"), "empty",
    ),
    "unknown role": (
        PEOPLE + "D1,Dr Ng,doctor,\n", SHIFTS,
        ("people.csv", 6, "role"), "'doctor'",
    ),
    "unknown field": (
        PEOPLE + "S2,Ben Cole,student,surgery\n", SHIFTS,
        ("people.csv", 6, "field"), "'surgery'",
    ),
    "student without field": (
        PEOPLE + "S2,Ben Cole,student,\n", SHIFTS,
        ("people.csv", 6, "field"), "needs a field",
    ),
    "unknown shift": (
        PEOPLE, SHIFTS + "2025-03-03,Twilight,N2,,\n",
        ("shifts.csv", 5, "shift"), "'Twilight'",
    ),
    "bad date": (
        PEOPLE, SHIFTS + "2025-02-30,Late,N2,,\n",
        ("shifts.csv", 5, "date"), "'2025-02-30'",
    ),
    "dotted date": (
        PEOPLE, SHIFTS + "03.03.2025,Late,N2,,\n",
        ("shifts.csv", 5, "date"), "'03.03.2025'",
    ),
    "bad placement date": (
        people_with("placement_start", "S1", "31/02/2025"), SHIFTS,
        ("people.csv", 2, "placement_start"), "'31/02/2025'",
    ),
    "bad yes or no": (
        PEOPLE, SHIFTS + "2025-03-03,Late,N2,maybe,\n",
        ("shifts.csv", 5, "in_charge"), "'maybe'",
    ),
    "bad clinical educator": (
        people_with("clinical_educator", "N1", "sometimes"), SHIFTS,
        ("people.csv", 3, "clinical_educator"), "'sometimes'",
    ),
    "bad programme part": (
        people_with("programme_part", "S1", "4"), SHIFTS,
        ("people.csv", 2, "programme_part"), "'4'",
    ),
    "bad email": (
        people_with("email", "S1", "amy at uni"), SHIFTS,
        ("people.csv", 2, "email"), "'amy at uni'",
    ),
    "duplicated person id": (
        PEOPLE + "N1,Cara Dunn,registered nurse,adult\n", SHIFTS,
        ("people.csv", 6, "id"), "line 3",
    ),
    "person not in people": (
        PEOPLE, SHIFTS + "2025-03-03,Late,N9,,\n",
        ("shifts.csv", 5, "person"), "'N9'",
    ),
    "same person twice on a shift": (
        PEOPLE, SHIFTS + "2025-03-03,early,N1,,\n",
        ("shifts.csv", 5, "shift"), "line 2",
    ),
    "leave and shift on one day": (
        PEOPLE, SHIFTS + "2025-03-03,Leave,H1,,\n",
        ("shifts.csv", 5, "shift"), "lines 4 and 5",
    ),
    "student in charge": (
        PEOPLE, SHIFTS + "2025-03-04,Late,S1,yes,\n",
        ("shifts.csv", 5, "in_charge"), "Amy Lee (S1) is a student",
    ),
    "healthcare assistant in charge": (
        PEOPLE, SHIFTS + "2025-03-04,Late,H1,y,\n",
        ("shifts.csv", 5, "in_charge"), "Gail Ives (H1) is a healthcare assistant",
    ),
    "coach on a staff row": (
        PEOPLE, SHIFTS + "2025-03-03,Early,N2,,N1\n",
        ("shifts.csv", 5, "coach"), "Only a student's row",
    ),
    "coach not in people": (
        PEOPLE, SHIFTS.replace("S1,,N1", "S1,,N7"),
        ("shifts.csv", 3, "coach"), "'N7'",
    ),
    "coach not on the shift": (
        PEOPLE, SHIFTS.replace("S1,,N1", "S1,,N2"),
        ("shifts.csv", 3, "coach"), "is not on the 2025-03-03 Early shift",
    ),
    "healthcare assistant as coach": (
        PEOPLE, SHIFTS.replace("S1,,N1", "S1,,H1"),
        ("shifts.csv", 3, "coach"), "Gail Ives (H1) is not a registered professional",
    ),
    "registered professional as coach": (
        PEOPLE + "P1,Finn Hale,registered professional,\n",
        SHIFTS.replace("S1,,N1", "S1,,P1") + "2025-03-03,Early,P1,,\n",
        ("shifts.csv", 3, "coach"), "must be a registered nurse",
    ),
    "coach on a leave row": (
        PEOPLE, SHIFTS + "2025-03-05,Leave,S1,,N1\n",
        ("shifts.csv", 5, "coach"), "Leave row",
    ),
    "assessor on a staff row": (
        "id,name,role,field,practice_assessor\nN1,Cara Dunn,registered nurse,adult,N2\n"
        "N2,Dev Patel,registered nurse,adult,\nS1,Amy Lee,student,adult,\nH1,Gail Ives,hca,,\n", SHIFTS,
        ("people.csv", 2, "practice_assessor"), "students only",
    ),
    "assessor not in people": (
        "id,name,role,field,practice_assessor\nS1,Amy Lee,student,adult,N8\n"
        "N1,Cara Dunn,registered nurse,adult,\nH1,Gail Ives,hca,,\n", SHIFTS,
        ("people.csv", 2, "practice_assessor"), "'N8'",
    ),
    "academic assessor not from university": (
        "id,name,role,field,academic_assessor\nS1,Amy Lee,student,adult,N2\n"
        "N1,Cara Dunn,registered nurse,adult,\nN2,Dev Patel,registered nurse,adult,\nH1,Gail Ives,hca,,\n", SHIFTS,
        ("people.csv", 2, "academic_assessor"), "not university staff",
    ),
    "placement end before first shift": (
        "id,name,role,field,placement_end\nS1,Amy Lee,student,adult,2025-03-02\n"
        "N1,Cara Dunn,registered nurse,adult,\nH1,Gail Ives,hca,,\n", SHIFTS,
        ("people.csv", 2, "placement_start"), "03/03/2025 to 02/03/2025",
    ),
    "student outside placement": (
        "id,name,role,field,placement_start,placement_end\nS1,Amy Lee,student,adult,2025-03-03,2025-03-07\n"
        "N1,Cara Dunn,registered nurse,adult,,\nH1,Gail Ives,hca,,,\n", SHIFTS + "2025-03-10,Late,S1,,\n",
        ("shifts.csv", 5, "date"), "the Late shift on 10/03/2025",
    ),
    "student with no dates": (
        PEOPLE + "S2,Ben Cole,student,adult\n", SHIFTS,
        ("people.csv", 6, "placement_start"), "Ben Cole (S2) has no placement dates",
    ),
    "placement ends before it starts": (
        "id,name,role,field,placement_start,placement_end\nS1,Amy Lee,student,adult,2025-03-10,2025-03-01\n"
        "N1,Cara Dunn,registered nurse,adult,,\nH1,Gail Ives,hca,,,\n", SHIFTS,
        ("people.csv", 2, "placement_end"), "ends on 01/03/2025",
    ),
    "too many values": (
        PEOPLE, SHIFTS + "2025-03-04,Late,N2,,,extra\n",
        ("shifts.csv", 5, None), "'extra'",
    ),
    "no shifts": (
        PEOPLE, "date,shift,person\n",
        ("shifts.csv", None, None), "no shifts",
    ),
}


@pytest.mark.parametrize(("people", "shifts", "where", "fragment"), ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_error_case_is_reported(
    tmp_path: Path, people: str, shifts: str, where: tuple[str, int | None, str | None], fragment: str
) -> None:
    problems = problems_of(tmp_path, people, shifts)

    problem = find(problems, *where)
    assert problem is not None, "\n".join(str(p) for p in problems)
    assert fragment in problem.message
    assert len(problems) == 1, "\n".join(str(p) for p in problems)


def test_several_errors_are_all_reported(tmp_path: Path) -> None:
    people = PEOPLE + "D1,Dr Ng,doctor,\nN1,Cara Dunn,registered nurse,adult\n"
    shifts = SHIFTS + "2025-03-04,Twilight,N2,,\n2025-03-04,Late,N9,,\n2025-13-01,Late,N2,,\n"

    problems = problems_of(tmp_path, people, shifts)

    assert [(p.file, p.line, p.field) for p in problems] == [
        ("people.csv", 6, "role"),
        ("people.csv", 7, "id"),
        ("shifts.csv", 5, "shift"),
        ("shifts.csv", 6, "person"),
        ("shifts.csv", 7, "date"),
    ]


def test_invalid_person_is_not_reported_again(tmp_path: Path) -> None:
    people = PEOPLE + "D1,Dr Ng,doctor,\n"
    shifts = SHIFTS + "2025-03-04,Late,D1,,\n"

    problems = problems_of(tmp_path, people, shifts)

    assert [(p.file, p.field) for p in problems] == [("people.csv", "role")]


def test_missing_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "shifts.csv").write_text(SHIFTS, encoding="utf-8")

    with pytest.raises(RosterError) as raised:
        read_csv_roster(tmp_path / "people.csv", tmp_path / "shifts.csv", ward=WARD)

    assert [(p.file, p.line) for p in raised.value.problems] == [("people.csv", None)]
    assert "not found" in raised.value.problems[0].message


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_bytes(PEOPLE.replace("Amy Lee", "Zoë").encode("latin-1"))
    (tmp_path / "shifts.csv").write_text(SHIFTS, encoding="utf-8")

    with pytest.raises(RosterError) as raised:
        read_csv_roster(tmp_path / "people.csv", tmp_path / "shifts.csv", ward=WARD)

    assert raised.value.problems[0].line == 2
    assert "CSV UTF-8" in raised.value.problems[0].message


def rule_message(people: dict[str, Person], new: RoleAssignment, existing: list[RoleAssignment]) -> str:
    """Return the message the NMC rules give for `new`, to compare with the importer's problem."""
    violations = check_regulatory(new, RuleContext(people=people, assignments=existing))
    assert len(violations) == 1
    return violations[0].message


def test_student_as_coach_gets_rule_message(tmp_path: Path) -> None:
    people = PEOPLE + "S2,Ben Cole,student,adult\n"
    shifts = SHIFTS.replace("S1,,N1", "S1,,S2") + "2025-03-03,Early,S2,,N1\n"

    roster_people = read_files(tmp_path, PEOPLE, SHIFTS).people | {
        "S2": Person("S2", "Ben Cole", Registration.STUDENT, FieldOfPractice.ADULT)
    }
    day = date(2025, 3, 3)
    coach = RoleAssignment(Role.COACH, "S2", day, day, student="S1", shift="2025-03-03 Early")
    problem = find(problems_of(tmp_path, people, shifts), "shifts.csv", 3, "coach")

    assert problem is not None
    assert problem.message.startswith(rule_message(roster_people, coach, []))
    assert problem.message.endswith("Name a registered nurse on the same shift, or leave coach empty.")


def test_assistant_as_assessor_gets_rule_message(tmp_path: Path) -> None:
    people = "id,name,role,field,practice_assessor\nS1,Amy Lee,student,adult,H1\n" \
             "N1,Cara Dunn,registered nurse,adult,\nH1,Gail Ives,hca,,\n"

    roster_people = read_files(tmp_path, PEOPLE, SHIFTS).people
    assessor = RoleAssignment(Role.PRACTICE_ASSESSOR, "H1", date(2025, 3, 3), date(2025, 3, 3), student="S1")
    problem = find(problems_of(tmp_path, people, SHIFTS), "people.csv", 2, "practice_assessor")

    assert problem is not None
    assert problem.message.startswith(rule_message(roster_people, assessor, []))
    assert problem.message.endswith("Name someone else in practice_assessor, or leave it empty.")


def test_assessor_as_supervisor_gets_rule_message(tmp_path: Path) -> None:
    people = "id,name,role,field,practice_assessor,named_supervisor\nS1,Amy Lee,student,adult,N1,N1\n" \
             "N1,Cara Dunn,registered nurse,adult,,\nH1,Gail Ives,hca,,,\n"

    roster_people = read_files(tmp_path, PEOPLE, SHIFTS).people
    day = date(2025, 3, 3)
    assessor = RoleAssignment(Role.PRACTICE_ASSESSOR, "N1", day, day, student="S1")
    supervisor = RoleAssignment(Role.NAMED_PRACTICE_SUPERVISOR, "N1", day, day, student="S1")
    problems = problems_of(tmp_path, people, SHIFTS)

    assert find(problems, "people.csv", 2, "practice_assessor") is None
    problem = find(problems, "people.csv", 2, "named_supervisor")
    assert problem is not None
    assert problem.message.startswith(rule_message(roster_people, supervisor, [assessor]))
    assert problem.message.endswith("Name someone else in named_supervisor, or leave it empty.")


def test_coach_over_policy_limit_is_rejected(tmp_path: Path) -> None:
    ward = LearningEnvironment("ward-7", "Ward 7", WardPolicy(max_students_per_coach=1))
    people = PEOPLE + "S2,Ben Cole,student,adult\n"
    shifts = SHIFTS + "2025-03-03,Early,S2,,N1\n"
    (tmp_path / "people.csv").write_text(people, encoding="utf-8")
    (tmp_path / "shifts.csv").write_text(shifts, encoding="utf-8")

    with pytest.raises(RosterError) as raised:
        read_csv_roster(tmp_path / "people.csv", tmp_path / "shifts.csv", ward=ward)

    assert [(p.line, p.field) for p in raised.value.problems] == [(5, "coach")]
    assert "the ward's limit of 1" in raised.value.problems[0].message


def test_overlapping_shifts_rejected(tmp_path: Path) -> None:
    shifts = "date,shift,person\n2025-03-03,Early,N1\n2025-03-03,Day,N1\n2025-03-03,Late,N1\n2025-03-03,Early,S1\n"
    problems = problems_of(tmp_path, PEOPLE, shifts)
    problem = find(problems, "shifts.csv", 3, "shift")
    assert problem is not None
    assert "overlaps the Early shift on 03/03/2025 on line 2" in problem.message
    # Day (08:30-16:30) also overlaps Late (14:30-22:30), but Early and Late only touch at 14:30.
    assert find(problems, "shifts.csv", 4, "shift") is not None
    assert len(problems) == 2


def test_night_then_early_next_day_allowed(tmp_path: Path) -> None:
    shifts = "date,shift,person\n2025-03-03,Night,N1\n2025-03-04,Late,N1\n2025-03-04,Late,S1\n"
    roster = read_files(tmp_path, PEOPLE, shifts)
    assert len([duty for duty in roster.duties if duty.person == "N1"]) == 2


def test_swapped_files_reported_once(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text(PEOPLE, encoding="utf-8")
    (tmp_path / "shifts.csv").write_text(SHIFTS, encoding="utf-8")
    with pytest.raises(RosterError) as raised:
        read_csv_roster(tmp_path / "shifts.csv", tmp_path / "people.csv", ward=LearningEnvironment("w", "W"))
    assert len(raised.value.problems) == 1
    assert "Give the people file first, then the shifts file." in raised.value.problems[0].message
