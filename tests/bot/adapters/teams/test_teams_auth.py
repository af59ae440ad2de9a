"""Authentication of /api/messages when an app id is set: requests without a valid token get 401.

Only tokens that fail before botbuilder would fetch signing keys are sent, so these tests make no
request beyond 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import jwt
import pytest

from clipbot.bot.adapters.teams.settings import TeamsSettings
from clipbot.storage import repository
from clipbot.storage.database import Database
from teams_harness import ORGANISATION, STUDENT, TeamsHarness, run_harness, seed

APP_ID = "5e7a1c90-2b3d-4f6e-8a1c-9d0b7e6f5a32"


@pytest.fixture
async def secured(database: Database) -> AsyncIterator[TeamsHarness]:
    settings = TeamsSettings(app_id=APP_ID, app_password="not-a-real-secret", organisation=ORGANISATION)
    async for harness in run_harness(database, seed, settings):
        yield harness


async def test_request_without_token_rejected(secured):
    status, _ = await secured.say(STUDENT, "help")
    assert status == 401
    assert secured.connector.requests == []


async def test_malformed_token_rejected(secured):
    status, _ = await secured.post(secured.activity(STUDENT, text="help"), {"Authorization": "Bearer not-a-token"})
    assert status == 401
    assert secured.connector.requests == []


async def test_token_from_unknown_issuer_rejected(secured):
    claims = {"iss": "https://issuer.invalid/", "aud": APP_ID}
    token = jwt.encode(claims, "a-signing-key-that-no-one-trusts-at-all", algorithm="HS256")
    status, _ = await secured.post(secured.activity(STUDENT, text="help"), {"Authorization": f"Bearer {token}"})
    assert status == 401
    assert secured.connector.requests == []


async def test_basic_scheme_rejected(secured):
    status, _ = await secured.post(secured.activity(STUDENT, text="help"), {"Authorization": "Basic dXNlcjpwYXNz"})
    assert status == 401


async def test_rejected_request_handles_nothing(secured):
    activity = secured.activity(STUDENT, text="help")
    await secured.post(activity)
    async with secured.service.database.session() as session:
        first_time = await repository.record_event(session, "teams", activity["id"])
    assert first_time is True


async def test_non_json_body_rejected(secured):
    headers = {"Content-Type": "text/plain"}
    async with secured.http.post(secured.url + "/api/messages", data=b"hello", headers=headers) as response:
        assert response.status == 415
