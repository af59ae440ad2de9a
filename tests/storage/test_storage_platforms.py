"""Chat platform storage: workspaces, identities, processed events, ward channels, conversation
references, and slack_sdk's OAuth stores running on the migrated database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from storage_builders import sample_roster

from clipbot.storage import Database
from clipbot.storage.models import chat_identities, chat_workspaces, processed_events, slack_installations
from clipbot.storage.repository import (
    SLACK,
    TEAMS,
    ChatIdentity,
    NotFoundError,
    WardChannel,
    channel_reference_key,
    ensure_organisation,
    forget_events_before,
    identity_of_person,
    link_identity,
    link_workspace,
    load_reference,
    mark_unreachable,
    organisation_of_workspace,
    person_for_user,
    record_event,
    save_reference,
    save_roster,
    set_ward_channel,
    user_for_person,
    user_reference_key,
    ward_channel,
)

LEEDS_TEAM = "T0LEEDS"
YORK_TEAM = "T0YORK"
YORK_TENANT = "5f1c2a3e-york-tenant"
SLACK_CLIENT_ID = "1111.2222"

REFERENCE = {
    "bot": {"id": "28:bot", "name": "clipbot"},
    "conversation": {"id": "a:1Xyz", "conversationType": "personal", "tenantId": YORK_TENANT},
    "serviceUrl": "https://smba.trafficmanager.net/uk/",
    "channelId": "msteams",
}


@pytest.fixture
async def two_trusts(session: AsyncSession) -> AsyncSession:
    """Trusts "leeds" and "york", each with ward W1 and people of the same keys, and one Slack workspace each."""
    await ensure_organisation(session, "leeds", "Leeds Teaching Hospitals")
    await ensure_organisation(session, "york", "York and Scarborough")
    await save_roster(session, "leeds", sample_roster(suffix=" (Leeds)", presets=False))
    await save_roster(session, "york", sample_roster(suffix=" (York)", presets=False))
    await link_workspace(session, "leeds", SLACK, LEEDS_TEAM, "Leeds Slack")
    await link_workspace(session, "york", SLACK, YORK_TEAM)
    await session.commit()
    return session


async def count_rows(session: AsyncSession, table: Table) -> int:
    return await session.scalar(select(func.count()).select_from(table)) or 0


# Workspaces


async def test_workspace_organisation_found(two_trusts: AsyncSession) -> None:
    assert await organisation_of_workspace(two_trusts, SLACK, LEEDS_TEAM) == "leeds"


async def test_unlinked_workspace_has_no_organisation(two_trusts: AsyncSession) -> None:
    assert await organisation_of_workspace(two_trusts, SLACK, "T0HULL") is None


async def test_workspace_link_idempotent(two_trusts: AsyncSession) -> None:
    # The fixture has linked one workspace for each trust.
    await link_workspace(two_trusts, "leeds", SLACK, LEEDS_TEAM)
    await link_workspace(two_trusts, "leeds", SLACK, LEEDS_TEAM)
    assert await count_rows(two_trusts, chat_workspaces) == 2


async def test_workspace_relink_keeps_name(two_trusts: AsyncSession) -> None:
    await link_workspace(two_trusts, "leeds", SLACK, LEEDS_TEAM)
    name = await two_trusts.scalar(select(chat_workspaces.c.name).where(chat_workspaces.c.external_id == LEEDS_TEAM))
    assert name == "Leeds Slack"


async def test_workspace_relink_renames(two_trusts: AsyncSession) -> None:
    await link_workspace(two_trusts, "leeds", SLACK, LEEDS_TEAM, "LTHT Slack")
    name = await two_trusts.scalar(select(chat_workspaces.c.name).where(chat_workspaces.c.external_id == LEEDS_TEAM))
    assert name == "LTHT Slack"


async def test_workspace_of_other_trust_rejected(two_trusts: AsyncSession) -> None:
    with pytest.raises(ValueError) as raised:
        await link_workspace(two_trusts, "york", SLACK, LEEDS_TEAM)
    assert "'leeds'" in str(raised.value)
    assert "'york'" in str(raised.value)
    assert LEEDS_TEAM in str(raised.value)


async def test_workspace_of_other_trust_unchanged(two_trusts: AsyncSession) -> None:
    with pytest.raises(ValueError):
        await link_workspace(two_trusts, "york", SLACK, LEEDS_TEAM)
    assert await organisation_of_workspace(two_trusts, SLACK, LEEDS_TEAM) == "leeds"


async def test_same_id_on_other_platform_separate(two_trusts: AsyncSession) -> None:
    await link_workspace(two_trusts, "york", TEAMS, LEEDS_TEAM)
    assert await organisation_of_workspace(two_trusts, TEAMS, LEEDS_TEAM) == "york"


async def test_workspace_for_unknown_trust_not_found(two_trusts: AsyncSession) -> None:
    with pytest.raises(NotFoundError, match="'hull'"):
        await link_workspace(two_trusts, "hull", SLACK, "T0HULL")


async def test_unknown_platform_rejected(two_trusts: AsyncSession) -> None:
    with pytest.raises(ValueError, match="'discord'"):
        await link_workspace(two_trusts, "leeds", "discord", "G1")


async def test_blank_workspace_id_rejected(two_trusts: AsyncSession) -> None:
    with pytest.raises(ValueError, match="Microsoft Teams tenant id is empty"):
        await link_workspace(two_trusts, "leeds", TEAMS, " ")


# Identities


async def test_person_for_linked_user(two_trusts: AsyncSession) -> None:
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1")
    assert await person_for_user(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01") == "N1"


async def test_user_for_linked_person(two_trusts: AsyncSession) -> None:
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1")
    assert await user_for_person(two_trusts, "leeds", SLACK, LEEDS_TEAM, "N1") == "U01"


async def test_identity_of_linked_person(two_trusts: AsyncSession) -> None:
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1", email="carys.jones@example.nhs.uk")
    identity = await identity_of_person(two_trusts, "leeds", SLACK, LEEDS_TEAM, "N1")
    assert identity == ChatIdentity(user_id="U01", reachable=True, email="carys.jones@example.nhs.uk")


async def test_unlinked_user_has_no_person(two_trusts: AsyncSession) -> None:
    assert await person_for_user(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U99") is None


async def test_unlinked_person_has_no_identity(two_trusts: AsyncSession) -> None:
    assert await identity_of_person(two_trusts, "leeds", SLACK, LEEDS_TEAM, "N1") is None


async def test_link_identity_idempotent(two_trusts: AsyncSession) -> None:
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1")
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1")
    assert await count_rows(two_trusts, chat_identities) == 1


async def test_relinked_person_moves_to_new_user(two_trusts: AsyncSession) -> None:
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1")
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U02", "N1")
    assert await user_for_person(two_trusts, "leeds", SLACK, LEEDS_TEAM, "N1") == "U02"
    assert await person_for_user(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01") is None


async def test_relinked_user_moves_to_new_person(two_trusts: AsyncSession) -> None:
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1")
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N2")
    assert await person_for_user(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01") == "N2"
    assert await user_for_person(two_trusts, "leeds", SLACK, LEEDS_TEAM, "N1") is None


async def test_person_has_one_identity_per_workspace(two_trusts: AsyncSession) -> None:
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1")
    await link_identity(two_trusts, "leeds", TEAMS, "tenant-leeds", "29:aad-n1", "N1")
    assert await user_for_person(two_trusts, "leeds", SLACK, LEEDS_TEAM, "N1") == "U01"
    assert await user_for_person(two_trusts, "leeds", TEAMS, "tenant-leeds", "N1") == "29:aad-n1"


async def test_link_without_email_keeps_email(two_trusts: AsyncSession) -> None:
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1", email="carys.jones@example.nhs.uk")
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1")
    identity = await identity_of_person(two_trusts, "leeds", SLACK, LEEDS_TEAM, "N1")
    assert identity is not None
    assert identity.email == "carys.jones@example.nhs.uk"


async def test_link_identity_unknown_person_not_found(two_trusts: AsyncSession) -> None:
    with pytest.raises(NotFoundError) as raised:
        await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "Z9")
    assert "'Z9'" in str(raised.value)
    assert "import a roster" in str(raised.value)


async def test_link_identity_claims_new_workspace(two_trusts: AsyncSession) -> None:
    await link_identity(two_trusts, "york", TEAMS, YORK_TENANT, "29:aad-n1", "N1")
    assert await organisation_of_workspace(two_trusts, TEAMS, YORK_TENANT) == "york"


async def test_link_identity_in_other_trust_workspace_rejected(two_trusts: AsyncSession) -> None:
    with pytest.raises(ValueError, match="already linked to organisation 'leeds'"):
        await link_identity(two_trusts, "york", SLACK, LEEDS_TEAM, "U01", "N1")


async def test_mark_unreachable_returns_true(two_trusts: AsyncSession) -> None:
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1")
    assert await mark_unreachable(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01") is True


async def test_unreachable_in_identity(two_trusts: AsyncSession) -> None:
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1")
    await mark_unreachable(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01")
    identity = await identity_of_person(two_trusts, "leeds", SLACK, LEEDS_TEAM, "N1")
    assert identity == ChatIdentity(user_id="U01", reachable=False)


async def test_unreachable_user_still_found(two_trusts: AsyncSession) -> None:
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1")
    await mark_unreachable(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01")
    assert await user_for_person(two_trusts, "leeds", SLACK, LEEDS_TEAM, "N1") == "U01"


async def test_relink_makes_reachable(two_trusts: AsyncSession) -> None:
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1")
    await mark_unreachable(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01")
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1")
    identity = await identity_of_person(two_trusts, "leeds", SLACK, LEEDS_TEAM, "N1")
    assert identity is not None
    assert identity.reachable is True


async def test_mark_unreachable_unknown_user(two_trusts: AsyncSession) -> None:
    assert await mark_unreachable(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U99") is False


async def test_blank_user_id_rejected(two_trusts: AsyncSession) -> None:
    with pytest.raises(ValueError, match="Slack user id is empty"):
        await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "", "N1")


# Organisation isolation: both trusts have people N1 and a ward W1.


async def test_other_trust_cannot_find_user(two_trusts: AsyncSession) -> None:
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1")
    assert await person_for_user(two_trusts, "york", SLACK, LEEDS_TEAM, "U01") is None


async def test_other_trust_cannot_find_identity(two_trusts: AsyncSession) -> None:
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1")
    assert await identity_of_person(two_trusts, "york", SLACK, LEEDS_TEAM, "N1") is None


async def test_own_person_not_matched_by_other_trust_user(two_trusts: AsyncSession) -> None:
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1")
    await link_identity(two_trusts, "york", SLACK, YORK_TEAM, "U01", "N2")
    assert await person_for_user(two_trusts, "york", SLACK, YORK_TEAM, "U01") == "N2"
    assert await person_for_user(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01") == "N1"


async def test_other_trust_cannot_mark_unreachable(two_trusts: AsyncSession) -> None:
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1")
    assert await mark_unreachable(two_trusts, "york", SLACK, LEEDS_TEAM, "U01") is False
    identity = await identity_of_person(two_trusts, "leeds", SLACK, LEEDS_TEAM, "N1")
    assert identity is not None
    assert identity.reachable is True


async def test_other_trust_cannot_find_ward_channel(two_trusts: AsyncSession) -> None:
    await set_ward_channel(two_trusts, "leeds", "W1", SLACK, LEEDS_TEAM, "C0WARD1")
    assert await ward_channel(two_trusts, "york", "W1", SLACK) is None


async def test_other_trust_ward_channel_rejected(two_trusts: AsyncSession) -> None:
    with pytest.raises(ValueError, match="already linked to organisation 'leeds'"):
        await set_ward_channel(two_trusts, "york", "W1", SLACK, LEEDS_TEAM, "C0WARD1")


async def test_other_trust_cannot_load_reference(two_trusts: AsyncSession) -> None:
    await save_reference(two_trusts, "york", TEAMS, YORK_TENANT, "user:29:aad-n1", REFERENCE)
    assert await load_reference(two_trusts, "leeds", TEAMS, YORK_TENANT, "user:29:aad-n1") is None


async def test_other_trust_reference_rejected(two_trusts: AsyncSession) -> None:
    await save_reference(two_trusts, "york", TEAMS, YORK_TENANT, "user:29:aad-n1", REFERENCE)
    with pytest.raises(ValueError, match="already linked to organisation 'york'"):
        await save_reference(two_trusts, "leeds", TEAMS, YORK_TENANT, "user:29:aad-n1", {"replaced": True})


async def test_unknown_trust_finds_nothing(two_trusts: AsyncSession) -> None:
    await link_identity(two_trusts, "leeds", SLACK, LEEDS_TEAM, "U01", "N1")
    assert await person_for_user(two_trusts, "hull", SLACK, LEEDS_TEAM, "U01") is None
    assert await identity_of_person(two_trusts, "hull", SLACK, LEEDS_TEAM, "N1") is None
    assert await ward_channel(two_trusts, "hull", "W1", SLACK) is None
    assert await load_reference(two_trusts, "hull", SLACK, LEEDS_TEAM, "user:U01") is None


# Processed events


async def test_record_event_first_time(session: AsyncSession) -> None:
    assert await record_event(session, SLACK, "Ev01") is True


async def test_record_event_redelivery(session: AsyncSession) -> None:
    await record_event(session, SLACK, "Ev01")
    await session.commit()
    assert await record_event(session, SLACK, "Ev01") is False


async def test_same_event_id_other_platform(session: AsyncSession) -> None:
    await record_event(session, SLACK, "Ev01")
    assert await record_event(session, TEAMS, "Ev01") is True


async def test_rolled_back_event_recorded_again(session: AsyncSession) -> None:
    await record_event(session, SLACK, "Ev01")
    await session.rollback()
    assert await record_event(session, SLACK, "Ev01") is True


async def test_blank_event_id_rejected(session: AsyncSession) -> None:
    with pytest.raises(ValueError, match="Slack event id is empty"):
        await record_event(session, SLACK, "")


async def record_in_own_session(database: Database, ready: asyncio.Barrier, event_id: str) -> bool:
    async with database.session() as session:
        # Every session has a connection open before any of them inserts.
        await session.connection()
        await ready.wait()
        first = await record_event(session, SLACK, event_id)
        await session.commit()
        return first


@pytest.mark.parametrize("replicas", [2, 5])
async def test_record_event_race_one_winner(database: Database, replicas: int) -> None:
    ready = asyncio.Barrier(replicas)
    results = await asyncio.gather(*(record_in_own_session(database, ready, "Ev01") for _ in range(replicas)))
    assert results.count(True) == 1


async def test_record_event_race_one_row(database: Database) -> None:
    ready = asyncio.Barrier(2)
    await asyncio.gather(*(record_in_own_session(database, ready, "Ev01") for _ in range(2)))
    async with database.session() as session:
        assert await count_rows(session, processed_events) == 1


async def test_forget_events_before_cutoff(session: AsyncSession) -> None:
    await record_event(session, SLACK, "Ev-old")
    await record_event(session, SLACK, "Ev-new")
    old = datetime.now(UTC) - timedelta(days=3)
    await session.execute(
        update(processed_events).where(processed_events.c.event_id == "Ev-old").values(received_at=old)
    )

    forgotten = await forget_events_before(session, datetime.now(UTC) - timedelta(days=1))

    assert forgotten == 1
    assert await record_event(session, SLACK, "Ev-old") is True
    assert await record_event(session, SLACK, "Ev-new") is False


async def test_forget_events_naive_cutoff_rejected(session: AsyncSession) -> None:
    with pytest.raises(ValueError, match="2024-10-27T01:30:00 has no time zone"):
        await forget_events_before(session, datetime(2024, 10, 27, 1, 30))


async def test_forget_events_in_batches(database: Database) -> None:
    old = datetime.now(UTC) - timedelta(days=3)
    async with database.transaction() as session:
        for number in range(5):
            await record_event(session, TEAMS, f"activity-old-{number}")
        await record_event(session, SLACK, "Ev-new")
        await session.execute(
            update(processed_events).where(processed_events.c.event_id.like("activity-old-%")).values(received_at=old)
        )

    batches = []
    for _ in range(4):
        async with database.transaction() as session:
            batches.append(await forget_events_before(session, datetime.now(UTC) - timedelta(days=1), limit=2))

    assert batches == [2, 2, 1, 0]
    async with database.session() as session:
        remaining = (await session.scalars(select(processed_events.c.event_id))).all()
    assert remaining == ["Ev-new"]


async def test_forget_events_zero_limit_rejected(session: AsyncSession) -> None:
    with pytest.raises(ValueError, match="The delete limit 0 is not valid"):
        await forget_events_before(session, datetime.now(UTC), limit=0)


# Ward channels


async def test_ward_channel_set_and_found(two_trusts: AsyncSession) -> None:
    await set_ward_channel(two_trusts, "leeds", "W1", SLACK, LEEDS_TEAM, "C0WARD1")
    assert await ward_channel(two_trusts, "leeds", "W1", SLACK) == WardChannel(LEEDS_TEAM, "C0WARD1")


async def test_ward_channel_is_pair(two_trusts: AsyncSession) -> None:
    await set_ward_channel(two_trusts, "leeds", "W1", SLACK, LEEDS_TEAM, "C0WARD1")
    assert await ward_channel(two_trusts, "leeds", "W1", SLACK) == (LEEDS_TEAM, "C0WARD1")


async def test_ward_channel_replaced(two_trusts: AsyncSession) -> None:
    await set_ward_channel(two_trusts, "leeds", "W1", SLACK, LEEDS_TEAM, "C0WARD1")
    await set_ward_channel(two_trusts, "leeds", "W1", SLACK, LEEDS_TEAM, "C0WARD2")
    assert await ward_channel(two_trusts, "leeds", "W1", SLACK) == (LEEDS_TEAM, "C0WARD2")


async def test_ward_channel_per_platform(two_trusts: AsyncSession) -> None:
    await set_ward_channel(two_trusts, "york", "W1", SLACK, YORK_TEAM, "C0WARD1")
    await set_ward_channel(two_trusts, "york", "W1", TEAMS, YORK_TENANT, "19:ward1@thread.tacv2")
    assert await ward_channel(two_trusts, "york", "W1", SLACK) == (YORK_TEAM, "C0WARD1")
    assert await ward_channel(two_trusts, "york", "W1", TEAMS) == (YORK_TENANT, "19:ward1@thread.tacv2")


async def test_ward_without_channel(two_trusts: AsyncSession) -> None:
    assert await ward_channel(two_trusts, "leeds", "W1", TEAMS) is None


async def test_ward_channel_unknown_ward_not_found(two_trusts: AsyncSession) -> None:
    with pytest.raises(NotFoundError, match="Ward 'W9' not found"):
        await set_ward_channel(two_trusts, "leeds", "W9", SLACK, LEEDS_TEAM, "C0WARD1")


# Conversation references


async def test_reference_saved_and_loaded(two_trusts: AsyncSession) -> None:
    await save_reference(two_trusts, "york", TEAMS, YORK_TENANT, "user:29:aad-n1", REFERENCE)
    assert await load_reference(two_trusts, "york", TEAMS, YORK_TENANT, "user:29:aad-n1") == REFERENCE


async def test_reference_replaced(two_trusts: AsyncSession) -> None:
    await save_reference(two_trusts, "york", TEAMS, YORK_TENANT, "channel:19:ward1", REFERENCE)
    await save_reference(two_trusts, "york", TEAMS, YORK_TENANT, "channel:19:ward1", {"serviceUrl": "https://x/"})
    assert await load_reference(two_trusts, "york", TEAMS, YORK_TENANT, "channel:19:ward1") == {
        "serviceUrl": "https://x/"
    }


async def test_missing_reference(two_trusts: AsyncSession) -> None:
    assert await load_reference(two_trusts, "york", TEAMS, YORK_TENANT, "user:29:nobody") is None


def test_reference_key_helpers() -> None:
    assert user_reference_key("29:aad-n1") == "user:29:aad-n1"
    assert channel_reference_key("19:ward1") == "channel:19:ward1"


@pytest.mark.parametrize("key", ["29:aad-n1", "user:", "channel: ", "conversation:19:ward1"])
async def test_invalid_reference_key_rejected(two_trusts: AsyncSession, key: str) -> None:
    with pytest.raises(ValueError, match="Use 'user:<user id>' or 'channel:<conversation id>'"):
        await save_reference(two_trusts, "york", TEAMS, YORK_TENANT, key, REFERENCE)


@pytest.mark.parametrize("reference", [{"sent": datetime(2024, 10, 21, tzinfo=UTC)}, {"score": float("nan")}])
async def test_non_json_reference_rejected(two_trusts: AsyncSession, reference: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="cannot be stored as JSON"):
        await save_reference(two_trusts, "york", TEAMS, YORK_TENANT, "user:29:aad-n1", reference)


# slack_sdk's stores on our migrated database


def slack_store_metadata() -> MetaData:
    metadata = MetaData()
    AsyncSQLAlchemyInstallationStore.build_installations_table(metadata, "slack_installations")
    AsyncSQLAlchemyInstallationStore.build_bots_table(metadata, "slack_bots")
    AsyncSQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, "slack_oauth_states")
    return metadata


async def test_slack_tables_match_slack_sdk(database: Database) -> None:
    expected = slack_store_metadata()
    options = {
        "compare_type": True,
        "include_name": lambda name, kind, _parents: kind != "table" or name in expected.tables,
    }
    async with database.engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts=options), expected)
        )
    assert differences == []


def team_installation(installed_at: datetime) -> Installation:
    return Installation(
        app_id="A0CLIPBOT",
        enterprise_id=None,
        team_id=LEEDS_TEAM,
        team_name="Leeds Slack",
        bot_token="bot-token-for-tests",
        bot_id="B0CLIP",
        bot_user_id="U0CLIPBOT",
        bot_scopes=["chat:write", "commands", "im:history"],
        user_id="U0ADMIN",
        installed_at=installed_at,
    )


async def test_slack_installation_saved_and_found(database: Database) -> None:
    store = AsyncSQLAlchemyInstallationStore(client_id=SLACK_CLIENT_ID, engine=database.engine)
    await store.async_save(team_installation(datetime(2024, 10, 21, 9, 0, tzinfo=UTC)))

    found = await store.async_find_installation(enterprise_id=None, team_id=LEEDS_TEAM)

    assert found is not None
    assert found.bot_token == "bot-token-for-tests"
    assert found.bot_scopes == ["chat:write", "commands", "im:history"]


async def test_slack_bot_found(database: Database) -> None:
    store = AsyncSQLAlchemyInstallationStore(client_id=SLACK_CLIENT_ID, engine=database.engine)
    await store.async_save(team_installation(datetime(2024, 10, 21, 9, 0, tzinfo=UTC)))

    bot = await store.async_find_bot(enterprise_id=None, team_id=LEEDS_TEAM)

    assert bot is not None
    assert bot.bot_user_id == "U0CLIPBOT"


async def test_slack_newest_installation_found(database: Database) -> None:
    store = AsyncSQLAlchemyInstallationStore(client_id=SLACK_CLIENT_ID, engine=database.engine)
    first = datetime(2024, 10, 21, 9, 0, tzinfo=UTC)
    await store.async_save(team_installation(first))
    newer = team_installation(first + timedelta(days=1))
    newer.bot_token = "newer-bot-token-for-tests"
    await store.async_save(newer)

    found = await store.async_find_installation(enterprise_id=None, team_id=LEEDS_TEAM)

    assert found is not None
    assert found.bot_token == "newer-bot-token-for-tests"


async def test_slack_installation_rows_in_our_table(database: Database) -> None:
    store = AsyncSQLAlchemyInstallationStore(client_id=SLACK_CLIENT_ID, engine=database.engine)
    await store.async_save(team_installation(datetime(2024, 10, 21, 9, 0, tzinfo=UTC)))
    async with database.session() as session:
        assert await session.scalar(select(slack_installations.c.team_id)) == LEEDS_TEAM


async def test_slack_oauth_state_consumed_once(database: Database) -> None:
    store = AsyncSQLAlchemyOAuthStateStore(expiration_seconds=600, engine=database.engine)
    state = await store.async_issue()
    assert await store.async_consume(state) is True
    assert await store.async_consume(state) is False


async def test_slack_expired_oauth_state_rejected(database: Database) -> None:
    store = AsyncSQLAlchemyOAuthStateStore(expiration_seconds=-60, engine=database.engine)
    state = await store.async_issue()
    assert await store.async_consume(state) is False
