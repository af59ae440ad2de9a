"""Ward 6 West as the CSV files an educator would send, shared by the Slack and Teams server tests."""

from datetime import datetime
from zoneinfo import ZoneInfo

# Monday 2 March 2026, 09:00 in London: the first day of the roster below.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/London"))

PEOPLE_CSV = """id,name,role,field,email,programme_part
S1,Amira Khan,student,adult,amira.khan@example.org,2
S2,Ben Price,student,adult,ben.price@example.org,1
RN1,Grace Obi,registered nurse,adult,grace.obi@example.org,
RN2,Hugh Bell,registered nurse,adult,hugh.bell@example.org,
RN3,Ivy Ross,registered nurse,adult,ivy.ross@example.org,
HCA1,Jo Wood,healthcare assistant,,jo.wood@example.org,
CE1,Sam Carter,registered nurse,adult,sam.carter@example.org,
"""

SHIFTS_CSV = """date,shift,person,in_charge
2026-03-02,Early,S1,
2026-03-02,Early,S2,
2026-03-02,Early,RN1,
2026-03-02,Early,RN2,
2026-03-02,Early,RN3,yes
2026-03-02,Early,HCA1,
2026-03-03,Early,S1,
2026-03-03,Early,S2,
2026-03-03,Early,RN1,
2026-03-03,Early,RN2,
2026-03-03,Early,RN3,yes
"""
