"""A running Teams endpoint on 127.0.0.1 with a fake connector as its serviceUrl, and helpers to drive it.

Activities are posted the way the Bot Framework posts them: JSON to /api/messages, in the shapes
Teams sends for personal chats, channel mentions, installs, Action.Submit, Action.Execute and the
responses to file consent cards. The server runs in unauthenticated mode, with uploads allowed to the
fake's plain-http upload URLs, unless a test builds its own settings. File offers are dated by
`TeamsHarness.clock`, which a test may move.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from clipbot.bot.adapters.teams.app import TEAMS_BOT, TeamsBot, add_teams_routes
from clipbot.bot.adapters.teams.sending import SendPacer, Sender
from clipbot.bot.adapters.teams.settings import TeamsSettings
from clipbot.clock import FixedClock
from clipbot.domain.roster import Roster
from clipbot.domain.ward import LearningEnvironment
from clipbot.service import WardService
from clipbot.storage.database import Database
from fakes.teams_connector import ConnectorRequest, FakeConnector, card_lines
from fakes.ward_files import NOW, PEOPLE_CSV, SHIFTS_CSV

ORGANISATION = "st-elsewhere"
TENANT = "3f2b9c1e-7a4d-4e8b-9c6f-2d1e0a5b7c84"
BOT_ID = "28:5e7a1c90-2b3d-4f6e-8a1c-9d0b7e6f5a32"
BOT_NAME = "CLiP Bot"
TEAM_CHANNEL = "19:6westWardTeam0001@thread.tacv2"

@dataclass(frozen=True, slots=True)
class TeamsUser:
    """A Teams user of the test tenant; `person` is their roster id, empty for someone on no roster."""

    user_id: str
    name: str
    email: str
    aad_object_id: str
    person: str

    @property
    def personal_chat(self) -> str:
        return f"a:1personal{self.user_id.removeprefix('29:')}"


USERS = {
    user.person or "visitor": user
    for user in (
        TeamsUser("29:1sam", "Sam Carter", "Sam.Carter@example.org", "aad-0000-sam", "CE1"),
        TeamsUser("29:1amira", "Amira Khan", "amira.khan@example.org", "aad-0000-amira", "S1"),
        TeamsUser("29:1ben", "Ben Price", "ben.price@example.org", "aad-0000-ben", "S2"),
        TeamsUser("29:1grace", "Grace Obi", "grace.obi@example.org", "aad-0000-grace", "RN1"),
        TeamsUser("29:1hugh", "Hugh Bell", "hugh.bell@example.org", "aad-0000-hugh", "RN2"),
        TeamsUser("29:1ivy", "Ivy Ross", "ivy.ross@example.org", "aad-0000-ivy", "RN3"),
        TeamsUser("29:1visitor", "Val Visitor", "visitor@example.com", "aad-0000-visitor", ""),
    )
}
EDUCATOR = USERS["CE1"]
STUDENT = USERS["S1"]
VISITOR = USERS["visitor"]


class FakeTime:
    """A monotonic clock that moves only when something sleeps, and a record of every sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def fake_time_sender(time: FakeTime) -> Sender:
    """Build a Sender that paces and retries on fake time, with no jitter."""
    return Sender(
        pacer=SendPacer(clock=time.monotonic, sleep=time.sleep), sleep=time.sleep, jitter=lambda: 0.0,
    )


class TeamsHarness:
    """Posts activities to the running endpoint and reads what the bot sent to the fake connector."""

    def __init__(self, url: str, http: aiohttp.ClientSession, connector: FakeConnector, application: web.Application,
                 service: WardService, time: FakeTime, clock: FixedClock) -> None:
        self.url = url
        self.http = http
        self.connector = connector
        self.application = application
        self.service = service
        self.time = time
        self.clock = clock
        self._numbers = itertools.count(1)

    @property
    def bot(self) -> TeamsBot:
        return self.application[TEAMS_BOT]

    async def post(self, activity: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
        """POST an activity and return the HTTP status and the JSON body (None when the body is not JSON)."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        async with self.http.post(self.url + "/api/messages", data=json.dumps(activity), headers=sent) as response:
            body = await response.read()
            is_json = response.content_type == "application/json" and body
            return response.status, json.loads(body) if is_json else None

    def activity(self, user: TeamsUser, **fields: Any) -> dict[str, Any]:
        """Build a message activity from `user` in their personal chat, updated with `fields`."""
        activity: dict[str, Any] = {
            "type": "message",
            "id": f"17724430{next(self._numbers):05d}",
            "timestamp": "2026-03-02T09:00:00.000Z",
            "serviceUrl": self.connector.service_url,
            "channelId": "msteams",
            "from": {"id": user.user_id, "name": user.name, "aadObjectId": user.aad_object_id},
            "recipient": {"id": BOT_ID, "name": BOT_NAME},
            "conversation": {"id": user.personal_chat, "conversationType": "personal", "tenantId": TENANT},
            "channelData": {"tenant": {"id": TENANT}},
            "locale": "en-GB",
            "textFormat": "plain",
        }
        activity.update(fields)
        return activity

    async def say(self, user: TeamsUser, text: str, **fields: Any) -> tuple[int, Any]:
        """Send a personal chat message."""
        return await self.post(self.activity(user, text=text, **fields))

    async def mention(self, user: TeamsUser, text: str, *, at_bot: bool = True) -> tuple[int, Any]:
        """Send a message in the team's channel, starting a new thread; it @mentions the bot unless `at_bot` is False."""
        activity = self.activity(user)
        mention = {"type": "mention", "mentioned": {"id": BOT_ID, "name": BOT_NAME}, "text": f"<at>{BOT_NAME}</at>"}
        activity.update({
            "text": f"<at>{BOT_NAME}</at> {text}" if at_bot else text,
            "conversation": {
                "id": f"{TEAM_CHANNEL};messageid={activity['id']}", "conversationType": "channel",
                "isGroup": True, "tenantId": TENANT,
            },
            "channelData": {
                "team": {"id": TEAM_CHANNEL, "name": "6 West nursing"},
                "channel": {"id": TEAM_CHANNEL, "name": "General"},
                "tenant": {"id": TENANT},
            },
            "entities": [mention] if at_bot else [],
        })
        return await self.post(activity)

    async def install(self, user: TeamsUser) -> tuple[int, Any]:
        """Send the conversationUpdate that Teams sends when `user` adds the app for themselves."""
        activity = self.activity(user, type="conversationUpdate", id=f"f:install-{next(self._numbers)}")
        activity["membersAdded"] = [{"id": BOT_ID}, {"id": user.user_id, "aadObjectId": user.aad_object_id}]
        return await self.post(activity)

    async def add_to_team(self, user: TeamsUser, added: list[TeamsUser]) -> tuple[int, Any]:
        """Send the conversationUpdate of `user` adding the bot and `added` to the ward's team."""
        activity = self.activity(user, type="conversationUpdate", id=f"f:team-{next(self._numbers)}")
        activity.update({
            "conversation": {"id": TEAM_CHANNEL, "conversationType": "channel", "isGroup": True, "tenantId": TENANT},
            "channelData": {
                "team": {"id": TEAM_CHANNEL, "name": "6 West nursing"}, "eventType": "teamMemberAdded",
                "tenant": {"id": TENANT},
            },
            "membersAdded": [{"id": BOT_ID}] + [
                {"id": member.user_id, "aadObjectId": member.aad_object_id} for member in added
            ],
        })
        return await self.post(activity)

    async def submit(self, user: TeamsUser, value: Mapping[str, Any], *, reply_to_id: str) -> tuple[int, Any]:
        """Send the message an Action.Submit button sends: no text, and the card data as `value`."""
        return await self.post(self.activity(user, text="", value=dict(value), replyToId=reply_to_id))

    async def execute(self, user: TeamsUser, verb: str, data: Mapping[str, Any]) -> tuple[int, Any]:
        """Send the adaptiveCard/action invoke an Action.Execute button sends."""
        activity = self.activity(user, type="invoke", name="adaptiveCard/action", id=f"f:invoke-{next(self._numbers)}")
        activity["value"] = {"action": {"type": "Action.Execute", "verb": verb, "data": dict(data)}, "trigger": "manual"}
        return await self.post(activity)

    async def respond_to_file_consent(
        self, user: TeamsUser, action: str, *, context: Mapping[str, Any] | None = None,
        upload_info: Mapping[str, Any] | None = None, reply_to_id: str | None = None,
    ) -> tuple[int, Any]:
        """Send the fileConsent/invoke that Allow ("accept") or Decline ("decline") on a file consent card sends.

        `context` is the card's acceptContext or declineContext, and `upload_info` the upload session
        that Teams adds to an accept. `reply_to_id` is the id of the card's message.
        """
        activity = self.activity(user, type="invoke", name="fileConsent/invoke", id=f"f:consent-{next(self._numbers)}")
        value: dict[str, Any] = {"type": "fileUpload", "action": action, "context": dict(context or {})}
        if upload_info is not None:
            value["uploadInfo"] = dict(upload_info)
        activity["value"] = value
        if reply_to_id is not None:
            activity["replyToId"] = reply_to_id
        return await self.post(activity)

    def sent_to(self, conversation: str) -> list[ConnectorRequest]:
        return self.connector.sent(conversation)

    def text_to(self, conversation: str) -> str:
        """Return the text of every card sent to a conversation, one line per text block or fact."""
        return "\n".join(request.text for request in self.sent_to(conversation))

    def last_card_to(self, conversation: str) -> dict[str, Any]:
        return self.sent_to(conversation)[-1].cards[-1]


def action_of(card: Mapping[str, Any], verb: str) -> dict[str, Any]:
    """Return the card's Action.Execute with this verb."""
    return next(action for action in card.get("actions", []) if action.get("verb") == verb)


def text_of(card: Mapping[str, Any]) -> str:
    return "\n".join(card_lines(dict(card)))


async def seed(service: WardService) -> None:
    """Create ward 6-west with Sam Carter (CE1) as its clinical educator and import the roster."""
    ward = LearningEnvironment("6-west", "6 West")
    await service.import_roster_csv(ward, PEOPLE_CSV.encode(), SHIFTS_CSV.encode())
    await service.add_educator("CE1", "6-west")


async def seed_new_ward(service: WardService) -> None:
    """Create ward 6-west with no roster yet, and Sam Carter (CE1) as its clinical educator."""
    await service.import_roster(Roster(ward=LearningEnvironment("6-west", "6 West")))
    await service.add_educator("CE1", "6-west", name="Sam Carter", email="sam.carter@example.org")


def unauthenticated_settings() -> TeamsSettings:
    return TeamsSettings(allow_unauthenticated=True, organisation=ORGANISATION, allow_loopback_http_uploads=True)


async def start_server(application: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def run_harness(database: Database, seeding, settings: TeamsSettings | None = None) -> AsyncIterator[TeamsHarness]:
    service = WardService(database, FixedClock(NOW), ORGANISATION)
    await seeding(service)
    time = FakeTime()
    clock = FixedClock(NOW)
    async with FakeConnector() as connector:
        for user in USERS.values():
            connector.add_member(user.user_id, name=user.name, email=user.email, aad_object_id=user.aad_object_id)
        application = web.Application()
        add_teams_routes(
            application, settings=settings or unauthenticated_settings(),
            service_factory=lambda organisation: WardService(database, FixedClock(NOW), organisation),
            database=database, sender=fake_time_sender(time), clock=clock,
        )
        runner, url = await start_server(application)
        try:
            async with aiohttp.ClientSession() as http:
                yield TeamsHarness(url, http, connector, application, service, time, clock)
        finally:
            await runner.cleanup()


@pytest.fixture
async def teams(database: Database) -> AsyncIterator[TeamsHarness]:
    async for harness in run_harness(database, seed):
        yield harness


@pytest.fixture
async def teams_new_ward(database: Database) -> AsyncIterator[TeamsHarness]:
    async for harness in run_harness(database, seed_new_ward):
        yield harness
