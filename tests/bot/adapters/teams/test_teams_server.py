"""The Teams endpoint against a fake Bot Framework connector: messages, installs, card actions and failures."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.schema import Activity

from clipbot.bot.adapters.teams.app import TOO_LONG, add_teams_routes, reply_activities
from clipbot.bot.adapters.teams.cards import CARD_CONTENT_TYPE, MAX_CARD_BYTES, card_size
from clipbot.bot.adapters.teams.settings import TeamsSettings
from clipbot.bot.events import Reply, Section
from clipbot.bot.handlers import messages
from clipbot.config import ConfigError
from clipbot.domain.ward import LearningEnvironment
from clipbot.service import WardService
from clipbot.storage import repository
from clipbot.storage.database import Database
from teams_harness import (
    EDUCATOR,
    ORGANISATION,
    STUDENT,
    TEAM_CHANNEL,
    TENANT,
    USERS,
    VISITOR,
    TeamsHarness,
    action_of,
    text_of,
)

MENTORS_AND_STUDENTS = [USERS[key] for key in ("S1", "S2", "RN1", "RN2", "RN3")]


async def linked_person(teams: TeamsHarness, user_id: str) -> str | None:
    async with teams.service.database.session() as session:
        return await repository.person_for_user(session, ORGANISATION, "teams", TENANT, user_id)


async def propose_matches(teams: TeamsHarness) -> dict:
    """Install the app for the students and mentors, ask for matches and return the Confirm button."""
    for user in MENTORS_AND_STUDENTS:
        await teams.install(user)
    await teams.say(EDUCATOR, "match 6-west")
    return action_of(teams.last_card_to(EDUCATOR.personal_chat), "match.confirm")


# Messages


async def test_personal_message_answered_in_chat(teams):
    status, _ = await teams.say(STUDENT, "who is my assessor?")
    assert status == 201
    assert messages.NO_ASSESSOR in teams.text_to(STUDENT.personal_chat)


async def test_reply_is_adaptive_card(teams):
    await teams.say(STUDENT, "help")
    attachment = teams.sent_to(STUDENT.personal_chat)[0].body["attachments"][0]
    assert attachment["contentType"] == CARD_CONTENT_TYPE
    assert attachment["content"]["version"] == "1.5"


async def test_first_message_links_user_by_email(teams):
    # The roster has sam.carter@example.org; Teams gives Sam.Carter@example.org.
    await teams.say(EDUCATOR, "help")
    assert await linked_person(teams, EDUCATOR.user_id) == "CE1"


async def test_unlinked_user_told_to_ask_educator(teams):
    await teams.say(VISITOR, "who is my coach?")
    assert messages.NOT_LINKED in teams.text_to(VISITOR.personal_chat)
    assert await linked_person(teams, VISITOR.user_id) is None


async def test_channel_mention_answered_in_thread(teams):
    await teams.mention(EDUCATOR, "roster 6-west")
    reply = teams.connector.sent()[-1]
    assert reply.conversation_id.startswith(f"{TEAM_CHANNEL};messageid=")
    assert "6 West: 2 shifts from 2 Mar to 3 Mar 2026." in reply.text


async def test_channel_message_without_mention_ignored(teams):
    status, _ = await teams.mention(EDUCATOR, "roster 6-west", at_bot=False)
    assert status == 201
    assert teams.connector.sent() == []


async def test_channel_command_sets_ward_channel(teams):
    await teams.mention(EDUCATOR, "channel 6-west")
    assert messages.CHANNEL_SET.format(ward="6 West") in teams.connector.sent()[-1].text
    assert await teams.service.ward_channel("6-west", "teams") == (TENANT, TEAM_CHANNEL)


async def test_redelivered_message_answered_once(teams):
    activity = teams.activity(STUDENT, text="help")
    await teams.post(activity)
    await teams.post(activity)
    assert len(teams.sent_to(STUDENT.personal_chat)) == 1


# Installation and proactive messages


async def test_personal_install_is_quiet(teams):
    status, _ = await teams.install(USERS["RN1"])
    assert status == 201
    assert teams.connector.sent() == []


async def test_personal_install_allows_notify(teams):
    await teams.install(USERS["RN1"])
    delivered = await teams.bot.messenger.notify(ORGANISATION, TENANT, "RN1", Reply("Your student starts on Monday."))
    assert delivered is True
    assert teams.text_to(USERS["RN1"].personal_chat) == "Your student starts on Monday."


async def test_notify_without_personal_chat_fails(teams):
    await teams.mention(USERS["RN2"], "help")
    delivered = await teams.bot.messenger.notify(ORGANISATION, TENANT, "RN2", Reply("Hello"))
    assert delivered is False


async def test_team_install_links_added_members(teams):
    await teams.add_to_team(EDUCATOR, [USERS["RN1"], VISITOR])
    assert await linked_person(teams, USERS["RN1"].user_id) == "RN1"
    assert await linked_person(teams, VISITOR.user_id) is None


async def test_team_install_allows_ward_posts(teams):
    await teams.add_to_team(EDUCATOR, [])
    await teams.service.set_ward_channel("6-west", "teams", TENANT, TEAM_CHANNEL)
    delivery = await teams.bot.messenger.post_to_ward(ORGANISATION, "6-west", Reply("Handover at 14:00"))
    assert delivery.delivered is True
    assert teams.text_to(TEAM_CHANNEL) == "Handover at 14:00"


async def test_ward_post_without_channel_explains(teams):
    delivery = await teams.bot.messenger.post_to_ward(ORGANISATION, "6-west", Reply("Handover at 14:00"))
    assert delivery.delivered is False
    assert "channel 6-west" in (delivery.problem or "")


async def test_ward_post_rejected_names_status(teams):
    await teams.add_to_team(EDUCATOR, [])
    await teams.service.set_ward_channel("6-west", "teams", TENANT, TEAM_CHANNEL)
    teams.connector.fail(TEAM_CHANNEL, 500)
    delivery = await teams.bot.messenger.post_to_ward(ORGANISATION, "6-west", Reply("Handover at 14:00"))
    assert delivery.delivered is False
    assert "(HTTP 500)" in (delivery.problem or "")


async def test_coaches_shown_when_channel_refuses(teams):
    await teams.mention(EDUCATOR, "channel 6-west")
    teams.connector.fail(TEAM_CHANNEL, 403)
    await teams.say(EDUCATOR, "coaches 6-west 2026-03-02")
    answer = teams.text_to(EDUCATOR.personal_chat)
    assert "bot is still in that team" in answer
    assert "Coach groups for the Early Mon 02 Mar 06:30-14:30 shift" in answer


# Card actions


async def test_action_execute_answered_with_card(teams):
    confirm = await propose_matches(teams)
    status, body = await teams.execute(EDUCATOR, confirm["verb"], confirm["data"])
    assert status == 200
    assert body["type"] == CARD_CONTENT_TYPE
    assert text_of(body["value"]) == "Done."
    assert "actions" not in body["value"]
    assert teams.text_to(EDUCATOR.personal_chat).count("Confirmed 4 pairs") == 1


async def test_action_execute_notifies_students(teams):
    confirm = await propose_matches(teams)
    await teams.execute(EDUCATOR, confirm["verb"], confirm["data"])
    assert "6 West" in teams.text_to(STUDENT.personal_chat)
    assert "6 West" in teams.text_to(USERS["S2"].personal_chat)


async def test_action_submit_reaches_same_handler(teams):
    confirm = await propose_matches(teams)
    status, _ = await teams.submit(EDUCATOR, confirm["fallback"]["data"], reply_to_id="1:proposal")
    assert status == 201
    assert "Confirmed 4 pairs" in teams.text_to(EDUCATOR.personal_chat)
    assert "6 West" in teams.text_to(STUDENT.personal_chat)


async def test_action_submit_replaces_card(teams):
    confirm = await propose_matches(teams)
    await teams.submit(EDUCATOR, confirm["fallback"]["data"], reply_to_id="1:proposal")
    updates = teams.connector.updates()
    assert [update.activity_id for update in updates] == ["1:proposal"]
    assert updates[0].text == "Done."


async def test_invoke_without_execute_action_rejected(teams):
    activity = teams.activity(EDUCATOR, type="invoke", name="adaptiveCard/action", id="f:odd-invoke")
    activity["value"] = {"action": {"type": "Action.Submit", "data": {"action": "match.confirm"}}}
    status, body = await teams.post(activity)
    assert status == 400
    assert body["statusCode"] == 400


async def test_redelivered_invoke_not_repeated(teams):
    confirm = await propose_matches(teams)
    activity = teams.activity(EDUCATOR, type="invoke", name="adaptiveCard/action", id="f:confirm-once")
    activity["value"] = {"action": {"type": "Action.Execute", "verb": confirm["verb"], "data": confirm["data"]}}
    await teams.post(activity)
    status, body = await teams.post(activity)
    assert status == 200
    assert body["value"] == "Already done."
    assert teams.text_to(STUDENT.personal_chat).count("6 West") == 1


# Failures from Teams


async def test_notify_403_marks_unreachable(teams):
    confirm = await propose_matches(teams)
    teams.connector.fail(STUDENT.personal_chat, 403)
    await teams.execute(EDUCATOR, confirm["verb"], confirm["data"])
    async with teams.service.database.session() as session:
        identity = await repository.identity_of_person(session, ORGANISATION, "teams", TENANT, "S1")
    assert identity is not None
    assert identity.reachable is False


async def test_notify_403_batch_continues(teams):
    confirm = await propose_matches(teams)
    teams.connector.fail(STUDENT.personal_chat, 403)
    await teams.execute(EDUCATOR, confirm["verb"], confirm["data"])
    assert teams.text_to(STUDENT.personal_chat) == ""
    assert "6 West" in teams.text_to(USERS["S2"].personal_chat)
    assert "Amira Khan" in teams.text_to(EDUCATOR.personal_chat)


async def test_404_personal_chat_marks_unreachable(teams):
    await teams.install(USERS["RN1"])
    teams.connector.fail(USERS["RN1"].personal_chat, 404)
    delivered = await teams.bot.messenger.notify(ORGANISATION, TENANT, "RN1", Reply("Hello"))
    again = await teams.bot.messenger.notify(ORGANISATION, TENANT, "RN1", Reply("Hello again"))
    assert delivered is False
    assert again is False
    tried = [request for request in teams.connector.requests if request.conversation_id == USERS["RN1"].personal_chat]
    assert [request.status for request in tried if request.kind != "member"] == [404]


async def test_unreachable_user_reachable_after_writing(teams):
    await teams.install(USERS["RN1"])
    teams.connector.fail(USERS["RN1"].personal_chat, 403)
    await teams.bot.messenger.notify(ORGANISATION, TENANT, "RN1", Reply("Hello"))
    await teams.say(USERS["RN1"], "help")
    delivered = await teams.bot.messenger.notify(ORGANISATION, TENANT, "RN1", Reply("Hello again"))
    assert delivered is True
    assert teams.text_to(USERS["RN1"].personal_chat).endswith("Hello again")


async def test_429_waits_for_retry_after(teams):
    teams.connector.fail(STUDENT.personal_chat, 429, retry_after="3")
    await teams.say(STUDENT, "help")
    statuses = [request.status for request in teams.connector.requests if request.kind == "reply"]
    assert statuses == [429, 200]
    assert teams.time.sleeps == [3.0]


async def test_503_retried_with_backoff(teams):
    teams.connector.fail(STUDENT.personal_chat, 503, times=2)
    await teams.say(STUDENT, "help")
    assert len(teams.sent_to(STUDENT.personal_chat)) == 1
    assert teams.time.sleeps == [0.25, 0.5]


async def test_retries_stop_after_max_attempts(teams):
    teams.connector.fail(STUDENT.personal_chat, 502, times=4)
    await teams.say(STUDENT, "help")
    statuses = [request.status for request in teams.connector.requests if request.kind == "reply"]
    # The reply fails four times; the router's apology then gets through.
    assert statuses == [502, 502, 502, 502, 200]
    assert messages.APOLOGY in teams.text_to(STUDENT.personal_chat)


async def test_400_not_retried(teams):
    teams.connector.fail(STUDENT.personal_chat, 400, times=2)
    await teams.say(STUDENT, "help")
    statuses = [request.status for request in teams.connector.requests if request.kind == "reply"]
    assert statuses == [400, 400]
    assert teams.time.sleeps == []


async def test_replies_paced_per_conversation(teams):
    for number in range(9):
        await teams.bot.messenger.notify(ORGANISATION, TENANT, "RN1", Reply(f"Notice {number}"))
    assert teams.time.sleeps == []
    await teams.install(USERS["RN1"])
    for number in range(9):
        await teams.bot.messenger.notify(ORGANISATION, TENANT, "RN1", Reply(f"Notice {number}"))
    assert len(teams.sent_to(USERS["RN1"].personal_chat)) == 9
    assert teams.time.sleeps == [1.0]


# Card size


async def test_large_reply_split_under_limit(teams):
    students = "\n".join(
        f"S{number:03d},Student Number {number:03d} With A Long Name,student,adult,2026-03-02,2026-03-27"
        for number in range(300)
    )
    people = "id,name,role,field,placement_start,placement_end\n" + students + "\n"
    shifts = "date,shift,person\n2026-03-02,Early,S000\n"
    await teams.service.import_roster_csv(LearningEnvironment("7-north", "7 North"), people.encode(), shifts.encode())
    await teams.service.add_educator("CE1", "7-north")
    await teams.say(EDUCATOR, "roster 7-north")
    cards = [card for request in teams.sent_to(EDUCATOR.personal_chat) for card in request.cards]
    assert len(cards) > 1
    assert max(card_size(card) for card in cards) < MAX_CARD_BYTES
    assert "(part 1 of " in text_of(cards[0])


def test_oversize_section_replaced_by_notice():
    reply = Reply("Everything", sections=(Section("x" * (MAX_CARD_BYTES + 1)),))
    activities = reply_activities(reply)
    card = activities[0].attachments[0].content
    assert len(activities) == 1
    assert TOO_LONG in text_of(card)
    assert card_size(card) < MAX_CARD_BYTES


# Start-up


def test_missing_app_id_fails_start(database: Database):
    with pytest.raises(ConfigError, match="TEAMS_ALLOW_UNAUTHENTICATED"):
        add_teams_routes(
            web.Application(), settings=TeamsSettings(organisation=ORGANISATION),
            service_factory=lambda organisation: WardService(database, None, organisation),  # type: ignore[arg-type]
        )


def test_unauthenticated_mode_logs_warning(database: Database, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING, logger="clipbot.bot.adapters.teams.app")
    add_teams_routes(
        web.Application(), settings=TeamsSettings(allow_unauthenticated=True, organisation=ORGANISATION),
        service_factory=lambda organisation: WardService(database, None, organisation),  # type: ignore[arg-type]
    )
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "NOT authenticated" in warnings[0].getMessage()


# Tenants


async def test_first_contact_links_tenant(teams):
    await teams.say(STUDENT, "help")
    async with teams.service.database.session() as session:
        organisation = await repository.organisation_of_workspace(session, "teams", TENANT)
    assert organisation == ORGANISATION


async def test_activity_without_tenant_answered(teams):
    # The Bot Framework Emulator sends no tenant at all.
    activity = teams.activity(VISITOR, text="help", channelData={})
    activity["conversation"].pop("tenantId")
    status, _ = await teams.post(activity)
    assert status == 201
    assert messages.NOT_LINKED in teams.text_to(VISITOR.personal_chat)


async def test_other_tenant_refused_when_tenant_fixed(database: Database):
    settings = TeamsSettings(app_id="5e7a1c90-2b3d-4f6e-8a1c-9d0b7e6f5a32", app_password="not-a-real-secret",
                             tenant_id=TENANT, organisation=ORGANISATION)
    bot = add_teams_routes(
        web.Application(), settings=settings, database=database,
        service_factory=lambda organisation: WardService(database, None, organisation),  # type: ignore[arg-type]
    )
    for tenant in (TENANT, "another-tenant"):
        activity = Activity().deserialize({
            "type": "conversationUpdate", "id": f"f:install-{tenant}", "serviceUrl": "http://127.0.0.1:9/teams/",
            "channelId": "msteams", "from": {"id": "29:1someone"}, "recipient": {"id": "28:bot"},
            "conversation": {"id": "a:1chat", "conversationType": "personal", "tenantId": tenant},
            "channelData": {"tenant": {"id": tenant}}, "membersAdded": [{"id": "28:bot"}],
        })
        await bot.on_turn(TurnContext(bot.adapter, activity))
    async with database.session() as session:
        assert await repository.organisation_of_workspace(session, "teams", TENANT) == ORGANISATION
        assert await repository.organisation_of_workspace(session, "teams", "another-tenant") is None
