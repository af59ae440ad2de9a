"""The Slack server as Slack meets it: signed HTTP requests in, Web API calls to a fake Slack out."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import aiohttp
import pytest

from clipbot.bot.adapters.slack.app import CHANNEL_PROBLEMS, FORM_EXPIRED
from clipbot.bot.handlers import messages
from clipbot.bot.handlers.setup import MAX_ROSTER_BYTES
from clipbot.clock import FixedClock
from clipbot.bot.adapters.slack.routes import SLACK_KEY
from clipbot.server import create_web_app
from clipbot.service import WardService
from clipbot.storage import platforms
from slack_harness import (
    EDUCATOR,
    EDUCATORS_CHANNEL,
    NOW,
    ORGANISATION,
    STRANGER,
    STUDENT,
    SlackHarness,
    buttons_of,
    direct_channel,
    payload,
    seed,
    sign,
    slack_settings,
    start_server,
)
from fakes.slack_api import BOT_TOKEN, TEAM_ID

# Text that must never reach a log, put into the bodies of rejected requests.
SECRET_TEXT = "patient-in-bay-4-confidential"


async def test_url_verification_returns_challenge(slack: SlackHarness):
    body = json.dumps(payload("url_verification.json"))
    async with slack.http.post(slack.url + "/slack/events", data=body, headers={
        "Content-Type": "application/json", **sign(body),
    }) as response:
        status = response.status
        answer = await response.json(content_type=None)
    assert status == 200
    assert answer["challenge"] == "c2hvcnQtY2hhbGxlbmdlLXN0cmluZw"


async def test_app_mention_answered_in_channel(slack: SlackHarness):
    response = await slack.event(
        {"user": EDUCATOR, "text": "<@UBOT0001> roster 6-west", "channel": "C0600"}, template="app_mention.json"
    )
    await slack.settle()
    assert response.status == 200
    posts = slack.posts_in("C0600")
    assert len(posts) == 1
    assert posts[0].startswith("6 West: 2 shifts from 2 Mar to 3 Mar 2026.")


async def test_mention_in_thread_answered_in_thread(slack: SlackHarness):
    await slack.event(
        {"user": EDUCATOR, "text": "<@UBOT0001> help", "channel": "C0600", "thread_ts": "1772442000.000050"},
        template="app_mention.json",
    )
    await slack.settle()
    replies = slack.fake.messages_to("C0600")
    assert len(replies) == 1
    assert replies[0].arguments["thread_ts"] == "1772442000.000050"


async def test_direct_message_links_student_by_email(slack: SlackHarness):
    await slack.direct_message(STUDENT, "who is my assessor?")
    await slack.settle()
    assert slack.direct_text(STUDENT) == messages.NO_ASSESSOR
    async with slack.service.database.session() as session:
        linked = await platforms.person_for_user(session, ORGANISATION, "slack", TEAM_ID, STUDENT)
    assert linked == "S1"


async def test_linked_user_not_looked_up_again(slack: SlackHarness):
    await slack.direct_message(STUDENT, "assessor")
    await slack.settle()
    await slack.direct_message(STUDENT, "supervisor")
    await slack.settle()
    assert len(slack.fake.calls_to("users.info")) == 1


async def test_home_tab_published(slack: SlackHarness):
    await slack.event({"user": STUDENT}, template="app_home_opened.json")
    await slack.settle()
    published = slack.fake.calls_to("views.publish")
    assert len(published) == 1
    assert published[0].arguments["user_id"] == STUDENT
    view = published[0].arguments["view"]
    assert view["type"] == "home"
    assert "Your placement: 6 West" in json.dumps(view)


async def test_slash_command_answers_ephemerally(slack: SlackHarness):
    response = await slack.command("help")
    await slack.settle()
    assert response.status == 200
    answers = slack.ephemeral_to(EDUCATOR)
    assert len(answers) == 1
    assert answers[0].arguments["channel"] == EDUCATORS_CHANNEL
    assert answers[0].arguments["text"].startswith("Clinical educator commands:")


async def test_command_reply_falls_back_to_direct_message(slack: SlackHarness):
    slack.fake.fail("chat.postEphemeral", "C0777", "channel_not_found")
    await slack.command("help", channel="C0777")
    await slack.settle()
    assert slack.direct_text(EDUCATOR).startswith("Clinical educator commands:")


async def test_match_confirm_button_confirms_and_notifies(slack: SlackHarness):
    await slack.command("match 6-west")
    await slack.settle()
    proposal = slack.ephemeral_to(EDUCATOR)[-1]
    [confirm] = buttons_of(proposal)
    assert confirm["action_id"] == "match.confirm"

    response = await slack.interaction(slack.button_press(confirm))
    await slack.settle()
    assert response.status == 200
    assert "Confirmed 4 pairs for 6 West" in slack.ephemeral_text(EDUCATOR)
    assert slack.direct_text("U0002").startswith("Your placement team on 6 West is confirmed")
    assert slack.direct_text("U0003").startswith("Your placement team on 6 West is confirmed")


async def test_view_submission_imports_roster(slack: SlackHarness):
    await slack.command("roster import 6-west")
    await slack.settle()
    [opened] = slack.fake.calls_to("views.open")
    view = opened.arguments["view"]
    assert view["callback_id"] == "roster.import"

    people = "id,name,role,field\nS7,Cleo Hart,student,adult\nRN7,Dina Shah,registered nurse,adult\n"
    shifts = "date,shift,person\n2026-03-09,Early,S7\n2026-03-09,Early,RN7\n"
    response = await slack.interaction(slack.form_submission(view, {"people": people, "shifts": shifts}))
    await slack.settle()
    assert response.status == 200
    assert slack.direct_text(EDUCATOR).startswith("Imported the roster for 6 West.")
    assert await slack.service.find_person("S7") is not None


async def test_modal_opened_with_request_trigger(slack: SlackHarness):
    body = slack.command_body("roster import 6-west")
    await slack.post(body, "application/x-www-form-urlencoded")
    await slack.settle()
    [opened] = slack.fake.calls_to("views.open")
    assert opened.arguments["trigger_id"] in body


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param(sign("a different body"), id="tampered"),
        pytest.param(None, id="six-minutes-old"),
    ],
)
async def test_bad_signature_rejected_without_logging_body(slack: SlackHarness, caplog, headers):
    body = json.dumps({**payload("message_im.json"), "event": {
        **payload("message_im.json")["event"], "text": SECRET_TEXT,
    }})
    if headers is None:
        headers = sign(body, timestamp=int(time.time()) - 6 * 60)
    with caplog.at_level(logging.DEBUG):
        response = await slack.post(body, "application/json", headers)
        await slack.settle()
    assert response.status == 401
    assert SECRET_TEXT not in caplog.text
    assert slack.fake.calls == []


async def test_rejections_logged_with_count(slack: SlackHarness, caplog):
    with caplog.at_level(logging.WARNING, logger="clipbot.server"):
        for _ in range(3):
            await slack.post("{}", "application/json", {})
    rejections = [record for record in caplog.records if "Rejected" in record.getMessage()]
    assert len(rejections) == 1
    assert "no signature" in rejections[0].getMessage()


async def test_redelivered_event_handled_once(slack: SlackHarness):
    event = {"user": STUDENT, "text": "assessor", "channel": direct_channel(STUDENT)}
    first = await slack.event(event, event_id="Ev0000REDELIVERED")
    await slack.settle()
    again = await slack.event(event, event_id="Ev0000REDELIVERED", retry=1)
    await slack.settle()
    assert first.status == 200
    assert again.status == 200
    assert len(slack.fake.messages_to(direct_channel(STUDENT))) == 1


async def test_burst_answered_in_order_per_user(slack: SlackHarness):
    async def send_in_turn(user: str) -> None:
        for text in ("assessor", "help", "assessor", "help"):
            await slack.direct_message(user, text)

    await asyncio.gather(send_in_turn(STUDENT), send_in_turn(EDUCATOR))
    await slack.settle()
    student = [str(call.arguments.get("text")) for call in slack.fake.messages_to(direct_channel(STUDENT))]
    educator = [str(call.arguments.get("text")) for call in slack.fake.messages_to(direct_channel(EDUCATOR))]
    assert [reply == messages.NO_ASSESSOR for reply in student] == [True, False, True, False]
    assert [reply.startswith("Ask me:") for reply in student] == [False, True, False, True]
    assert [reply.startswith("Clinical educator commands:") for reply in educator] == [False, True, False, True]


async def test_double_click_on_confirm_confirms_once(slack: SlackHarness):
    await slack.command("match 6-west")
    await slack.settle()
    [confirm] = buttons_of(slack.ephemeral_to(EDUCATOR)[-1])

    await asyncio.gather(
        slack.interaction(slack.button_press(confirm)), slack.interaction(slack.button_press(confirm))
    )
    await slack.settle()
    answers = slack.ephemeral_text(EDUCATOR)
    assert answers.count("Confirmed 4 pairs for 6 West") == 1
    assert messages.NOTHING_TO_CONFIRM.format(ward="6 West", ward_key="6-west") in answers
    # Two students and two mentors each (an assessor and a supervisor per student) get one message.
    assert len(slack.fake.calls_to("conversations.open")) == 6


async def test_rate_limited_call_retried_after_retry_after(slack: SlackHarness):
    slack.fake.rate_limit("chat.postMessage", 7)
    await slack.direct_message(STUDENT, "assessor")
    await slack.settle()
    attempts = [call.status for call in slack.fake.calls_to("chat.postMessage", succeeded=False)]
    assert attempts == [429, 200]
    assert slack.direct_text(STUDENT) == messages.NO_ASSESSOR
    assert len(slack.sleeps) == 1
    assert 7 <= slack.sleeps[0] < 8


async def test_rate_limit_retries_are_bounded(slack: SlackHarness):
    slack.fake.rate_limit("chat.postMessage", 0, 0, 0)
    await slack.direct_message(STUDENT, "assessor")
    await slack.settle()
    # The answer is tried three times (a call and two retries), then the apology gets through.
    attempts = [call.status for call in slack.fake.calls_to("chat.postMessage", succeeded=False)]
    assert attempts == [429, 429, 429, 200]
    assert slack.direct_text(STUDENT) == messages.APOLOGY


async def test_unlinked_user_told_to_ask_educator(slack: SlackHarness):
    await slack.direct_message(STRANGER, "who is my assessor?")
    await slack.settle()
    assert slack.direct_text(STRANGER) == messages.NOT_LINKED


async def test_user_without_profile_email_not_linked(slack: SlackHarness):
    slack.fake.add_user("U0098", None)
    await slack.direct_message("U0098", "who is my assessor?")
    await slack.settle()
    assert slack.direct_text("U0098") == messages.NOT_LINKED


async def test_oversize_roster_file_refused_before_download(slack: SlackHarness):
    big = b"id,name,role\n" + b"X" * MAX_ROSTER_BYTES
    files = [
        slack.fake.add_file("F0001", "people.csv", big),
        slack.fake.add_file("F0002", "shifts.csv", b"date,shift,person\n"),
    ]
    await slack.direct_message(EDUCATOR, "roster import 6-west", subtype="file_share", files=files)
    await slack.settle()
    expected = messages.ROSTER_TOO_LARGE.format(name="people.csv", size=len(big), limit=MAX_ROSTER_BYTES)
    assert slack.direct_text(EDUCATOR) == expected
    assert slack.fake.calls_to("files.download") == []


async def test_roster_files_downloaded_and_imported(slack: SlackHarness):
    files = [
        slack.fake.add_file("F0003", "people.csv", b"id,name,role,field\nS8,Ola Reid,student,adult\n"),
        slack.fake.add_file("F0004", "shifts.csv", b"date,shift,person\n2026-03-10,Early,S8\n"),
    ]
    await slack.direct_message(EDUCATOR, "roster import 6-west", subtype="file_share", files=files)
    await slack.settle()
    downloads = slack.fake.calls_to("files.download")
    assert [call.token for call in downloads] == [BOT_TOKEN, BOT_TOKEN]
    assert slack.direct_text(EDUCATOR).startswith("Imported the roster for 6 West.")


async def test_file_on_foreign_host_not_downloaded(slack: SlackHarness):
    files = [
        {**slack.fake.add_file("F0005", "people.csv", b"id\n"), "url_private_download": "http://127.0.0.2/x.csv"},
        slack.fake.add_file("F0006", "shifts.csv", b"date\n"),
    ]
    await slack.direct_message(EDUCATOR, "roster import 6-west", subtype="file_share", files=files)
    await slack.settle()
    assert slack.direct_text(EDUCATOR).startswith("I couldn't download people.csv from Slack")


async def test_notify_failure_marks_user_unreachable(slack: SlackHarness):
    slack.fake.fail("conversations.open", "U0003", "account_inactive")
    await slack.command("match 6-west")
    await slack.settle()
    [confirm] = buttons_of(slack.ephemeral_to(EDUCATOR)[-1])
    await slack.interaction(slack.button_press(confirm))
    await slack.settle()
    assert "I couldn't message Ben Price (S2). Please tell them yourself." in slack.ephemeral_text(EDUCATOR)
    async with slack.service.database.session() as session:
        identity = await platforms.identity_of_person(session, ORGANISATION, "slack", TEAM_ID, "S2")
    assert identity is not None
    assert identity.reachable is False


async def test_coach_groups_posted_to_ward_channel(slack: SlackHarness):
    await slack.command("channel 6-west", channel="C0600")
    await slack.command("coaches 6-west 2026-03-02")
    await slack.settle()
    posts = slack.posts_in("C0600")
    assert posts == ["Coach groups for the Early Mon 02 Mar 06:30-14:30 shift"]


async def test_coach_groups_without_bot_in_channel(slack: SlackHarness):
    await slack.command("channel 6-west", channel="C0600")
    slack.fake.fail("chat.postMessage", "C0600", "not_in_channel")
    await slack.command("coaches 6-west 2026-03-02")
    await slack.settle()
    answer = slack.ephemeral_text(EDUCATOR)
    assert CHANNEL_PROBLEMS["not_in_channel"].format(ward="6 West", ward_key="6-west") in answer
    assert "Coach groups for the Early Mon 02 Mar 06:30-14:30 shift" in answer


async def test_health_check_reports_database(slack: SlackHarness):
    async with slack.http.get(slack.url + "/healthz") as response:
        status = response.status
        body = await response.json()
    assert status == 200
    assert body == {"status": "ok", "database": "ok", "slack": "enabled", "teams": "disabled"}


async def test_shutdown_cancels_unfinished_tasks(database, fake_slack, caplog):
    blocked = asyncio.Event()

    async def never_wake(seconds: float) -> None:
        blocked.set()
        await asyncio.Event().wait()

    clock = FixedClock(NOW)
    await seed(WardService(database, clock, ORGANISATION))
    application = create_web_app(slack_settings(fake_slack), database, clock=clock, sleep=never_wake)
    runner, url = await start_server(application)
    fake_slack.rate_limit("chat.postMessage", 5)
    async with aiohttp.ClientSession() as http:
        harness = SlackHarness(url, http, fake_slack, application, WardService(database, clock, ORGANISATION), [])
        await harness.direct_message(STUDENT, "assessor")
        await blocked.wait()
    with caplog.at_level(logging.WARNING):
        await application[SLACK_KEY].close(grace_seconds=0)
    await runner.cleanup()
    assert "Cancelled 1 Slack requests not yet handled at shutdown." in caplog.text
    assert fake_slack.calls_to("chat.postMessage") == []


async def test_expired_trigger_asks_to_retry(slack: SlackHarness):
    slack.fake.fail("views.open", "*", "expired_trigger_id")
    await slack.command("roster import 6-west")
    await slack.settle()
    assert slack.ephemeral_text(EDUCATOR) == FORM_EXPIRED


async def test_files_other_than_csv_ignored(slack: SlackHarness):
    photo = {**slack.fake.add_file("F0007", "wound.jpg", b"\xff\xd8"), "filetype": "jpg", "mimetype": "image/jpeg"}
    await slack.direct_message(EDUCATOR, "help", subtype="file_share", files=[photo])
    await slack.settle()
    assert slack.fake.calls_to("files.download") == []
    assert slack.direct_text(EDUCATOR).startswith("Clinical educator commands:")


async def test_long_retry_after_not_waited_in_request(slack: SlackHarness):
    slack.fake.rate_limit("chat.postMessage", 60)
    await slack.direct_message(STUDENT, "assessor")
    await slack.settle()
    # A wait over MAX_RETRY_AFTER_SECONDS is not slept through inside the request's task.
    assert slack.sleeps == []
