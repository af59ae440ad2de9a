"""Roster import from chat, posting coach groups to the ward channel, and the home view."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, time, timedelta


from clipbot.bot.events import Attachment, Event, EventKind, Form, Reply
from clipbot.bot.handlers import messages
from clipbot.bot.handlers.context import DELIVERED, Delivery, HandlerContext
from clipbot.bot.handlers.router import dispatch
from clipbot.bot.handlers.setup import MAX_ROSTER_BYTES
from clipbot.clock import FixedClock
from clipbot.domain.shifts import DEFAULT_SHIFT_TYPES, Duty, make_shift
from clipbot.service import WardService
from six_west import LONDON, MONDAY, ORGANISATION, six_west

PEOPLE = b"id,name,role,field\nS9,Cleo Hart,student,adult\nRN9,Dina Shah,registered nurse,adult\n"
SHIFTS = b"date,shift,person\n2026-03-09,Early,S9\n2026-03-09,Early,RN9\n"


class Chat:
    """A platform-like conversation: records replies, notices, ward posts, forms and home views."""

    def __init__(self, service: WardService, person: str | None, *, channel_works: bool | None = None) -> None:
        self.service = service
        self.person = person
        self.replies: list[Reply] = []
        self.posts: list[tuple[str, Reply]] = []
        self.forms: list[Form] = []
        self.homes: list[Reply] = []
        self.notices: list[tuple[str, Reply]] = []
        self.channel_works = channel_works

    def context(self, *, with_surfaces: bool) -> HandlerContext:
        async def reply(message: Reply) -> None:
            self.replies.append(message)

        async def notify(person: str, message: Reply) -> bool:
            self.notices.append((person, message))
            return True

        async def post_to_ward(ward: str, message: Reply) -> Delivery:
            if not self.channel_works:
                return Delivery(False, "I'm not in the ward's channel. Invite me, then try again.")
            self.posts.append((ward, message))
            return DELIVERED

        async def show_form(form: Form) -> None:
            self.forms.append(form)

        async def publish_home(message: Reply) -> None:
            self.homes.append(message)

        return HandlerContext(
            reply=reply, notify=notify, service=self.service, logger=logging.getLogger("test"),
            post_to_ward=post_to_ward if self.channel_works is not None else None,
            show_form=show_form if with_surfaces else None,
            publish_home=publish_home if with_surfaces else None,
        )

    async def send(self, text: str = "", *, action: str | None = None, values=None, attachments=(),
                   with_surfaces: bool = True, mentions=(), conversation: str = "D1", direct: bool = True) -> str:
        start = len(self.replies)
        event = Event(
            kind=EventKind.ACTION if action else EventKind.MESSAGE, platform="slack", organisation=ORGANISATION,
            user=self.person or "U0", person=self.person, text=text, action=action, values=values or {},
            attachments=tuple(attachments), direct=direct, workspace="T1", mentions=tuple(mentions),
            conversation=conversation,
        )
        await dispatch(event, self.context(with_surfaces=with_surfaces))
        return "\n".join(_text(reply) for reply in self.replies[start:])


def _text(reply: Reply) -> str:
    parts = [reply.text] + [section.text for section in reply.sections if section.text]
    parts += [f"{fact.label}: {fact.value}" for section in reply.sections for fact in section.facts]
    return "\n".join(parts)


async def test_roster_import_from_attachments(service):
    answer = await Chat(service, "CE1").send(
        "roster import 6-west", attachments=[Attachment("people.csv", PEOPLE), Attachment("shifts.csv", SHIFTS)]
    )
    assert answer.startswith("Imported the roster for 6 West.")
    assert "people: 2 created" in answer
    assert (await service.find_person("S9")).name == "Cleo Hart"


async def test_bad_roster_attachment_lists_problems(service):
    bad = PEOPLE.replace(b"field", b"pager")
    answer = await Chat(service, "CE1").send(
        "roster import 6-west", attachments=[Attachment("people.csv", bad), Attachment("shifts.csv", SHIFTS)]
    )
    assert answer.startswith("The roster was not imported, and nothing was changed:")
    assert "people.csv, line 1, field pager" in answer
    assert await service.find_person("S9") is None


async def test_oversize_roster_rejected(service):
    huge = PEOPLE + b"x" * MAX_ROSTER_BYTES
    answer = await Chat(service, "CE1").send(
        "roster import 6-west", attachments=[Attachment("people.csv", huge), Attachment("shifts.csv", SHIFTS)]
    )
    assert "more than the 2,000,000 bytes I accept in chat" in answer
    assert await service.find_person("S9") is None


async def test_roster_files_must_be_named(service):
    answer = await Chat(service, "CE1").send(
        "roster import 6-west", attachments=[Attachment("a.csv", PEOPLE), Attachment("b.csv", SHIFTS)]
    )
    assert answer == messages.ROSTER_FILES_NEEDED.format(names="a.csv, b.csv")


async def test_roster_import_opens_form(service):
    chat = Chat(service, "CE1")
    await chat.send("roster import 6-west")
    assert len(chat.forms) == 1
    assert chat.forms[0].action == "roster.import"
    assert chat.forms[0].context == "6-west"


async def test_roster_import_without_forms_explains(service):
    answer = await Chat(service, "CE1").send("roster import 6-west", with_surfaces=False)
    assert answer == messages.ROSTER_IMPORT_USAGE.format(ward_key="6-west")


async def test_roster_form_submission_imports(service):
    values = {"people": PEOPLE.decode(), "shifts": SHIFTS.decode(), "context": "6-west"}
    answer = await Chat(service, "CE1").send(action="roster.import", values=values)
    assert answer.startswith("Imported the roster for 6 West.")


async def test_roster_form_refused_to_nurse(service):
    values = {"people": PEOPLE.decode(), "shifts": SHIFTS.decode(), "context": "6-west"}
    answer = await Chat(service, "RN1").send(action="roster.import", values=values)
    assert answer.startswith(messages.EDUCATOR_ONLY.format(command="roster import"))
    assert await service.find_person("S9") is None


async def test_coaches_posted_to_ward_channel(service):
    chat = Chat(service, "CE1", channel_works=True)
    answer = await chat.send("coaches 6-west 2026-03-02")
    assert answer == "Posted the coach groups for 1 shifts on Monday 2 March to the 6 West channel."
    assert len(chat.posts) == 1
    assert chat.posts[0][0] == "6-west"


async def test_unposted_coaches_shown_to_educator(service):
    chat = Chat(service, "CE1", channel_works=False)
    answer = await chat.send("coaches 6-west 2026-03-02")
    assert answer.startswith("I'm not in the ward's channel. Invite me, then try again.")
    assert "Coach groups for the Early Mon 02 Mar 06:30-14:30 shift" in answer


async def test_student_home_shows_week(service):
    educator = Chat(service, "CE1")
    await educator.send("match 6-west")
    await educator.send(action="match.confirm", values={"value": "6-west"})
    student = Chat(service, "S1")
    await student.send(action="home.opened")
    home = _text(student.homes[0])
    assert home.startswith("Your placement: 6 West")
    assert "Practice assessor: " in home
    assert home.count("Early ") == 5


async def test_educator_home_lists_unmatched(service):
    chat = Chat(service, "CE1")
    await chat.send(action="home.opened")
    home = _text(chat.homes[0])
    assert "*6 West*: 2 students" in home
    assert "Without a confirmed assessor and supervisor: Amira Khan (S1), Ben Price (S2)" in home


async def test_home_for_unlinked_user(service):
    chat = Chat(service, None)
    await chat.send(action="home.opened")
    assert chat.homes[0].text == messages.NOT_LINKED


async def saturday_without_coach(database) -> tuple[WardService, FixedClock]:
    """Ben (S2) works Saturday's Early shift with only a healthcare assistant, so no nurse can coach him."""
    roster = six_west()
    saturday = MONDAY + timedelta(days=5)
    shift = make_shift("6-west", saturday, DEFAULT_SHIFT_TYPES[0])
    roster.shifts[shift.key] = shift
    roster.duties += [Duty(shift.key, "S2"), Duty(shift.key, "HCA1")]
    clock = FixedClock(datetime.combine(saturday, time(9, 0), tzinfo=LONDON))
    service = WardService(database, clock, ORGANISATION)
    await service.import_roster(roster)
    await service.add_educator("CE1", "6-west", name="Sam Carter")
    return service, clock


async def test_gap_alerts_educator_at_once(database):
    service, _ = await saturday_without_coach(database)

    chat = Chat(service, "S2")
    answer = await chat.send("who is my coach?")
    assert answer.startswith("Right now, nobody can coach you on the Early Sat 07 Mar 06:30-14:30 shift.")
    assert [person for person, _ in chat.notices] == ["CE1"]
    assert chat.notices[0][1].text.startswith("⚠ Supervision gap on 6 West: Ben Price (S2) has no coach")


async def test_gap_alert_sent_once_per_shift(database):
    service, _ = await saturday_without_coach(database)
    chat = Chat(service, "S2")

    for _ in range(3):
        await chat.send("who is my coach?")

    assert [person for person, _ in chat.notices] == ["CE1"]


async def test_no_gap_alert_after_shift(database):
    service, clock = await saturday_without_coach(database)
    clock.moment = clock.moment.replace(hour=23, minute=46)
    chat = Chat(service, "S2")

    answer = await chat.send("who is my coach?")

    assert answer == "You had no coach on the Early Sat 07 Mar 06:30-14:30 shift, which has ended."
    assert chat.notices == []


async def test_link_command_links_account(service):
    answer = await Chat(service, "CE1").send("link @amira S1", mentions=["U777"])
    assert answer == messages.LINKED.format(user="@amira", person="Amira Khan (S1)")
    assert await service.person_for_user("slack", "T1", "U777") == "S1"


async def test_link_needs_mention(service):
    answer = await Chat(service, "CE1").send("link S1")
    assert answer == messages.LINK_USAGE


async def test_link_rejects_person_off_ward(service):
    answer = await Chat(service, "CE1").send("link @x NOBODY", mentions=["U778"])
    assert answer.startswith("'NOBODY' is not on the roster of your wards (6-west).")
    assert await service.person_for_user("slack", "T1", "U778") is None


async def test_link_refused_to_student(service):
    answer = await Chat(service, "S1").send("link @x S2", mentions=["U779"])
    assert answer.startswith(messages.EDUCATOR_ONLY.format(command="link"))


async def test_channel_command_sets_ward_channel(service):
    answer = await Chat(service, "CE1").send("channel 6-west", conversation="C42", direct=False)
    assert answer == messages.CHANNEL_SET.format(ward="6 West")
    assert await service.ward_channel("6-west", "slack") == ("T1", "C42")


async def test_channel_command_rejected_in_dm(service):
    answer = await Chat(service, "CE1").send("channel 6-west")
    assert answer == messages.CHANNEL_NEEDS_CHANNEL.format(ward_key="6-west")
    assert await service.ward_channel("6-west", "slack") is None


async def test_user_linked_by_email(service, database):
    roster = six_west()
    roster.people["S1"] = replace(roster.people["S1"], email="Amira.Khan@example.nhs.uk")
    await service.import_roster(roster)
    assert await service.person_for_user("slack", "T1", "U900", email="amira.khan@example.nhs.uk") == "S1"
    assert await service.person_for_user("slack", "T1", "U900") == "S1"
    assert await service.person_for_user("slack", "T1", "U901", email="nobody@example.nhs.uk") is None


async def test_redelivered_event_recorded_once(service):
    assert await service.record_event("slack", "Ev123") is True
    assert await service.record_event("slack", "Ev123") is False


async def test_coaches_accepts_today_and_tomorrow(service):
    chat = Chat(service, "CE1")
    today = await chat.send("coaches 6-west today")
    tomorrow = await chat.send("coaches 6-west tomorrow")
    assert "Early Mon 02 Mar" in today
    assert "Early Tue 03 Mar" in tomorrow
