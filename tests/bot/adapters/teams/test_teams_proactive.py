"""Proactive messages from a fresh process: only the stored conversation references, no inbound activity."""

from __future__ import annotations

import asyncio
import json
import sys

from sqlalchemy import text

from clipbot.storage.database import Database
from teams_harness import ORGANISATION, STUDENT, TEAM_CHANNEL, TENANT, TeamsHarness

# Runs in a new Python process: builds a messenger from settings alone and sends one message of each kind.
SCRIPT = """
import asyncio, json, sys
from clipbot.bot.adapters.teams.app import TeamsMessenger
from clipbot.bot.adapters.teams.settings import TeamsSettings
from clipbot.bot.events import Reply
from clipbot.storage.database import Database

async def main(url, schema, organisation, tenant):
    database = Database(url, schema=schema or None)
    settings = TeamsSettings(allow_unauthenticated=True, organisation=organisation)
    messenger = TeamsMessenger.create(settings, database)
    delivered = await messenger.notify(organisation, tenant, "S1", Reply("Your coach today is Grace Obi."))
    posted = await messenger.post_to_ward(organisation, "6-west", Reply("Coach groups for the Early shift"))
    await database.dispose()
    print(json.dumps({"delivered": delivered, "posted": posted.delivered, "problem": posted.problem}))

asyncio.run(main(*sys.argv[1:]))
"""


async def current_schema(database: Database) -> str:
    if database.url.get_backend_name() != "postgresql":
        return ""
    async with database.session() as session:
        return str(await session.scalar(text("SELECT current_schema()")))


async def run_fresh_process(database: Database) -> dict:
    url = database.url.render_as_string(hide_password=False)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SCRIPT, url, await current_schema(database), ORGANISATION, TENANT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    return json.loads(stdout.decode().strip().splitlines()[-1])


async def test_fresh_process_sends_to_person_and_channel(teams: TeamsHarness):
    await teams.install(STUDENT)
    await teams.mention(STUDENT, "help")
    await teams.service.set_ward_channel("6-west", "teams", TENANT, TEAM_CHANNEL)
    before = len(teams.connector.requests)

    outcome = await run_fresh_process(teams.service.database)

    assert outcome == {"delivered": True, "posted": True, "problem": None}
    assert teams.text_to(STUDENT.personal_chat).endswith("Your coach today is Grace Obi.")
    assert teams.text_to(TEAM_CHANNEL) == "Coach groups for the Early shift"
    assert len(teams.connector.requests) == before + 2
