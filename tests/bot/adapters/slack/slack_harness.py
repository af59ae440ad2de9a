"""A running clipbot server on 127.0.0.1 wired to a fake Slack Web API, and signed requests to it.

`slack` starts both servers around a database that contains ward 6-west with its roster and
clinical educator CE1; `slack_new_ward` has the ward and CE1 but no roster yet. Nobody is linked to
a Slack user at first: the server links people by the email in their Slack profile, which the fake
serves for the users of `USERS`.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from clipbot.clock import FixedClock
from clipbot.config import Settings
from clipbot.domain.roster import Roster
from clipbot.domain.ward import LearningEnvironment
from clipbot.bot.adapters.slack.routes import SLACK_KEY
from clipbot.server import create_web_app
from clipbot.service import WardService
from clipbot.storage.database import Database
from fakes.slack_api import BOT_TOKEN, ApiCall, FakeSlackApi
from fakes.ward_files import NOW, PEOPLE_CSV, SHIFTS_CSV

PAYLOADS = Path(__file__).parent / "payloads"
SIGNING_SECRET = "signing-secret-for-server-tests"
ORGANISATION = "st-elsewhere"
# Slack user id -> roster person and profile email; U0099 has an email that is on no roster.
USERS = {
    "U0001": ("CE1", "sam.carter@example.org"),
    "U0002": ("S1", "amira.khan@example.org"),
    "U0003": ("S2", "ben.price@example.org"),
    "U0004": ("RN1", "grace.obi@example.org"),
    "U0005": ("RN2", "hugh.bell@example.org"),
    "U0006": ("RN3", "ivy.ross@example.org"),
    "U0099": ("", "visitor@example.com"),
}
EDUCATOR = "U0001"
STUDENT = "U0002"
STRANGER = "U0099"
EDUCATORS_CHANNEL = "C0001"


def payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def sign(body: str, *, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Return the signature headers Slack sends with `body`."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body) or ""
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


class SlackHarness:
    """Sends signed Slack requests to the running server and reads what it did in the fake Slack."""

    def __init__(self, url: str, http: aiohttp.ClientSession, fake: FakeSlackApi, application: web.Application,
                 service: WardService, sleeps: list[float]) -> None:
        self.url = url
        self.http = http
        self.fake = fake
        self.application = application
        self.service = service
        self.sleeps = sleeps
        self._numbers = iter(range(1, 1_000_000))

    @property
    def bot(self):
        return self.application[SLACK_KEY]

    async def post(self, body: str, content_type: str, headers: Mapping[str, str] | None = None,
                   path: str = "/slack/events") -> aiohttp.ClientResponse:
        """POST a raw body with the given headers (signed ones unless `headers` is given)."""
        sent = {"Content-Type": content_type, **(sign(body) if headers is None else headers)}
        async with self.http.post(self.url + path, data=body.encode("utf-8"), headers=sent) as response:
            await response.read()
            return response

    async def event(self, event: Mapping[str, Any], *, event_id: str | None = None, retry: int | None = None,
                    template: str = "message_im.json") -> aiohttp.ClientResponse:
        """Send an Events API callback whose `event` is the template's, updated with `event`."""
        envelope = payload(template)
        envelope["event"] = {**envelope["event"], **event}
        envelope["event_id"] = event_id or f"Ev{next(self._numbers):06d}"
        body = json.dumps(envelope)
        headers = sign(body)
        if retry is not None:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
        return await self.post(body, "application/json", headers)

    async def direct_message(self, user: str, text: str, **fields: Any) -> aiohttp.ClientResponse:
        number = next(self._numbers)
        return await self.event({
            "user": user, "text": text, "channel": direct_channel(user), "ts": f"1772442500.{number:06d}",
            "client_msg_id": f"message-{number}", **fields,
        })

    def command_body(self, text: str, *, user: str = EDUCATOR, channel: str = EDUCATORS_CHANNEL) -> str:
        form = dict(parse_qsl((PAYLOADS / "slash_command.txt").read_text(encoding="utf-8").strip()))
        form.update({
            "text": text, "user_id": user, "channel_id": channel,
            "trigger_id": f"1772442600.0001.trigger{next(self._numbers):06d}",
        })
        if channel.startswith("D"):
            form["channel_name"] = "directmessage"
        return urlencode(form)

    async def command(self, text: str, *, user: str = EDUCATOR, channel: str = EDUCATORS_CHANNEL
                      ) -> aiohttp.ClientResponse:
        """Send `/clip text` as `user` in `channel`."""
        return await self.post(self.command_body(text, user=user, channel=channel),
                               "application/x-www-form-urlencoded")

    async def interaction(self, body: Mapping[str, Any]) -> aiohttp.ClientResponse:
        return await self.post(urlencode({"payload": json.dumps(body)}), "application/x-www-form-urlencoded")

    def button_press(self, button: Mapping[str, Any], *, user: str = EDUCATOR, channel: str = EDUCATORS_CHANNEL,
                     ephemeral: bool = True) -> dict[str, Any]:
        """Return the block_actions payload of `user` pressing `button`, a button element we sent."""
        body = copy.deepcopy(payload("block_actions.json"))
        number = next(self._numbers)
        body["user"] = {**body["user"], "id": user}
        body["channel"] = {"id": channel, "name": "ward"}
        body["container"] = {**body["container"], "channel_id": channel, "is_ephemeral": ephemeral}
        body["trigger_id"] = f"1772442700.0001.trigger{number:06d}"
        body["actions"] = [{
            **body["actions"][0], "action_id": button["action_id"], "value": button.get("value", ""),
            "action_ts": f"1772442700.{number:06d}",
        }]
        return body

    def form_submission(self, view: Mapping[str, Any], values: Mapping[str, str], *, user: str = EDUCATOR
                        ) -> dict[str, Any]:
        """Return the view_submission payload of `user` submitting the modal `view` (as views.open got it)."""
        body = copy.deepcopy(payload("view_submission.json"))
        body["user"] = {**body["user"], "id": user}
        state = {
            block["block_id"]: {block["element"]["action_id"]: {"type": block["element"]["type"], "value": value}}
            for block in view["blocks"] if block.get("type") == "input"
            for value in [values.get(block["block_id"])]
        }
        number = next(self._numbers)
        body["view"] = {
            **body["view"], "id": f"V{number:04d}", "hash": f"1772442800.{number:06d}",
            "callback_id": view["callback_id"], "private_metadata": view.get("private_metadata", ""),
            "blocks": view["blocks"], "state": {"values": state},
        }
        return body

    async def settle(self) -> None:
        """Wait until the server has finished every task that the requests so far started."""
        await self.bot.wait_idle()

    # Reading the fake Slack.

    def posts_in(self, channel: str) -> list[str]:
        return [str(call.arguments.get("text")) for call in self.fake.messages_to(channel)]

    def ephemeral_to(self, user: str) -> list[ApiCall]:
        return [call for call in self.fake.calls_to("chat.postEphemeral") if call.arguments.get("user") == user]

    def ephemeral_text(self, user: str) -> str:
        return "\n".join(_message_text(call) for call in self.ephemeral_to(user))

    def direct_text(self, user: str) -> str:
        return "\n".join(_message_text(call) for call in self.fake.messages_to(direct_channel(user)))


def direct_channel(user: str) -> str:
    """Return the direct message channel that the fake opens for `user`."""
    return "D" + user.removeprefix("U")


def _message_text(call: ApiCall) -> str:
    """Return a posted message's fallback text and the text of its blocks, one per line."""
    blocks = call.arguments.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    lines = [str(call.arguments.get("text") or "")]
    for block in blocks[1:]:
        if block.get("text"):
            lines.append(block["text"]["text"])
        lines.extend(field["text"] for field in block.get("fields") or [])
    return "\n".join(lines)


def buttons_of(call: ApiCall) -> list[dict[str, Any]]:
    blocks = call.arguments.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return [element for block in blocks if block.get("type") == "actions" for element in block["elements"]]


async def seed(service: WardService) -> None:
    """Create ward 6-west with Sam Carter (CE1) as its clinical educator and import the roster."""
    ward = LearningEnvironment("6-west", "6 West")
    await service.import_roster_csv(ward, PEOPLE_CSV.encode(), SHIFTS_CSV.encode())
    await service.add_educator("CE1", "6-west")


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlackApi]:
    fake = FakeSlackApi()
    await fake.start()
    for user, (_, email) in USERS.items():
        fake.add_user(user, email)
    yield fake
    await fake.stop()


def slack_settings(fake: FakeSlackApi, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": "sqlite+aiosqlite:///unused.sqlite3", "organisation": ORGANISATION,
        "slack_signing_secret": SIGNING_SECRET, "slack_bot_token": BOT_TOKEN, "slack_api_url": fake.base_url,
        "slack_organisation": ORGANISATION,
    }
    values.update(changes)
    return Settings(**values)


async def start_server(application: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def seed_new_ward(service: WardService) -> None:
    """Create ward 6-west with no roster yet, and Sam Carter (CE1) as its clinical educator."""
    await service.import_roster(Roster(ward=LearningEnvironment("6-west", "6 West")))
    await service.add_educator("CE1", "6-west", name="Sam Carter", email="sam.carter@example.org")


@pytest.fixture
async def slack(database: Database, fake_slack: FakeSlackApi) -> AsyncIterator[SlackHarness]:
    async for harness in run_harness(database, fake_slack, seed):
        yield harness


@pytest.fixture
async def slack_new_ward(database: Database, fake_slack: FakeSlackApi) -> AsyncIterator[SlackHarness]:
    async for harness in run_harness(database, fake_slack, seed_new_ward):
        yield harness


async def run_harness(database: Database, fake_slack: FakeSlackApi,
                      seeding: Callable[[WardService], Awaitable[None]]) -> AsyncIterator[SlackHarness]:
    clock = FixedClock(NOW)
    service = WardService(database, clock, ORGANISATION)
    await seeding(service)
    sleeps: list[float] = []

    async def record_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    application = create_web_app(slack_settings(fake_slack), database, clock=clock, sleep=record_sleep)
    runner, url = await start_server(application)
    async with aiohttp.ClientSession() as http:
        yield SlackHarness(url, http, fake_slack, application, service, sleeps)
    await runner.cleanup()

