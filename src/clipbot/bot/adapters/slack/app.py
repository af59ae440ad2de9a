"""clipbot's Slack app: slack-bolt listeners, background handling and the Slack HandlerContext.

Every listener acknowledges its request at once and queues the body for a few worker tasks, so
Slack gets its response well within its 3-second limit whatever the handler does. While a burst of
requests is arriving, the workers hold back for a moment so that the acknowledgements get the event
loop first. A worker first records the event id in the database, so a redelivered event is handled
once, then finds the organisation and roster person of the Slack user and calls `router.dispatch`.
Events of one Slack user are handled one at a time, in the order they arrived, so a double click
cannot run a command twice at once. Replies, direct messages, ward channel posts, modals and the
Home tab go through Slack's Web API at SLACK_API_URL. Message text, tokens and request bodies are
never logged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from clipbot.bot.adapters.slack.blocks import render_home, render_message, render_modal
from clipbot.bot.adapters.slack.translate import PLATFORM, event_from_slack, is_retry, slack_user_of
from clipbot.bot.events import Attachment, Form, Reply
from clipbot.bot.handlers import messages
from clipbot.bot.handlers.context import DELIVERED, Delivery, HandlerContext
from clipbot.bot.handlers.router import dispatch
from clipbot.bot.handlers.setup import MAX_ROSTER_BYTES
from clipbot.clock import Clock
from clipbot.config import Settings
from clipbot.service import WardService
from clipbot.storage import platforms, repository
from clipbot.storage.database import Database

logger = logging.getLogger(__name__)


class _ClientTokenWarningFilter(logging.Filter):
    """Drop bolt's start-up warning that its own token is unused because a client was given.

    bolt (1.30) reads SLACK_BOT_TOKEN from the environment even when it is handed a client, and
    clipbot hands it one with that same token, so the warning would only alarm administrators.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.AsyncApp").addFilter(_ClientTokenWarningFilter())

SLASH_COMMAND = "/clip"
# The Events API event types that clipbot handles, all matched by one listener.
HANDLED_EVENTS = re.compile(r"^(?:app_mention|message|app_home_opened)$")
# Matches every action id and view callback id.
ANY_ID = re.compile(".+")
# Bot scopes requested at install; deploy/slack-app-manifest.yml lists the same.
BOT_SCOPES = (
    "app_mentions:read", "chat:write", "commands", "files:read", "files:write", "im:history", "im:write",
    "users:read", "users:read.email",
)
# A web API call is retried this many times after a 429 or a dropped connection, then fails.
MAX_API_RETRIES = 2
# The number of worker tasks, and so the maximum number of requests handled at once. The rest wait in
# the queue without using the event loop. This stays within SQLAlchemy's default pool of 5 + 10 connections.
MAX_CONCURRENT_HANDLERS = 4
# While newer requests keep arriving less than this many seconds apart, a queued request waits,
# because handling it would share the event loop with their acknowledgements.
BURST_GAP_SECONDS = 0.02
# A queued request waits at most this many seconds after it arrived, so that a long burst cannot stop
# handling and a form can still open within the 3 seconds that Slack keeps its trigger id valid.
MAX_HOLD_SECONDS = 0.5
# Queued requests get this long at shutdown to be handled before the workers are cancelled.
SHUTDOWN_GRACE_SECONDS = 10.0
# An installed workspace's bot token is read from the database at most once per this many seconds.
# An install through this process replaces it at once; one through another replica is seen within this time.
BOT_CACHE_SECONDS = 60.0

# Errors after which a user cannot get direct messages until someone links them again.
UNREACHABLE_ERRORS = frozenset({
    "user_not_found", "users_not_found", "account_inactive", "cannot_dm_bot", "user_disabled",
})
CHANNEL_PROBLEMS = {
    "not_in_channel": (
        "I'm not a member of the {ward} channel, so the coach groups were not posted there. Invite me "
        "with /invite @clipbot in that channel, or run '/clip channel {ward_key}' in the channel they should go to."
    ),
    "channel_not_found": (
        "I can't find the {ward} channel: it may have been deleted or made private. Run "
        "'/clip channel {ward_key}' in the channel where coach groups should be posted."
    ),
    "is_archived": (
        "The {ward} channel is archived, so the coach groups were not posted there. Run "
        "'/clip channel {ward_key}' in the channel where coach groups should be posted."
    ),
}
# Channel errors after which an ephemeral answer to a slash command goes to a direct message instead.
_EPHEMERAL_FALLBACK_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
DOWNLOAD_FAILED = "I couldn't download {name} from Slack, so nothing was imported. Please send the file again."
FORM_EXPIRED = "The form took too long to open. Please run the command again."
WORKSPACE_NOT_LINKED = (
    "This Slack workspace is not linked to an organisation in clipbot yet. "
    "Ask whoever runs clipbot to install the app again from its /slack/install page."
)

_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")

Sleep = Callable[[float], Awaitable[None]]

# The longest Retry-After that a Web API call waits out itself, in seconds.
MAX_RETRY_AFTER_SECONDS = 10


class RateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's retry after HTTP 429, waiting Retry-After seconds plus up to 1 s of jitter.

    The wait goes through `sleep` so tests can replace it; slack_sdk's own handler calls
    asyncio.sleep directly.
    """

    def __init__(self, max_retry_count: int, sleep: Sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep

    async def _can_retry_async(
        self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        # A longer wait goes back to the caller: the outbox dispatcher puts the message back rather
        # than hold its lease while sleeping, and a person in chat is not kept waiting.
        if response is None or response.status_code != 429:
            return False
        return _retry_after_seconds(response.headers) <= MAX_RETRY_AFTER_SECONDS

    async def prepare_for_next_attempt_async(
        self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error or RuntimeError("Slack's 429 retry was asked to retry without a response.")
        state.next_attempt_requested = True
        delay = _retry_after_seconds(response.headers) + random.random()
        logger.warning("Slack rate-limited %s (HTTP 429); retrying in %.1f s.", request.url, delay)
        await self._sleep(delay)
        state.increment_current_attempt()


class ConnectionRetry(AsyncConnectionErrorRetryHandler):
    """slack_sdk's retry after a dropped connection, with its back-off waited through `sleep`."""

    def __init__(self, max_retry_count: int, sleep: Sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep

    async def prepare_for_next_attempt_async(
        self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        delay = self.interval_calculator.calculate_sleep_duration(state.current_attempt)
        logger.warning("The connection to Slack failed for %s (%s); retrying in %.1f s.", request.url, error, delay)
        await self._sleep(delay)
        state.increment_current_attempt()


def _retry_after_seconds(headers: Mapping[str, Sequence[str]]) -> int:
    for name, values in headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return max(0, int(values[0]))
            except ValueError:
                break
    return 1


def retry_handlers(sleep: Sleep = asyncio.sleep) -> list[AsyncRetryHandler]:
    return [RateLimitRetry(MAX_API_RETRIES, sleep), ConnectionRetry(MAX_API_RETRIES, sleep)]


def _rendered(message: Reply) -> list[dict[str, Any]]:
    """Render a reply as Slack messages; raise ValueError when it renders as none."""
    parts = render_message(message)
    if not parts:
        raise ValueError("The reply renders as no Slack message. Give it a text, a section or a button.")
    return parts


def _error_code(error: SlackApiError) -> str:
    return str(error.response.get("error", "")) if error.response is not None else ""


def _failure_of(error: Exception) -> str:
    """Describe a failed Web API call for a log line: Slack's error code or HTTP status, else the exception type."""
    if isinstance(error, SlackApiError) and error.response is not None:
        return _error_code(error) or f"HTTP {error.response.status_code}"
    return type(error).__name__


@dataclass(frozen=True, slots=True)
class Incoming:
    """The parts of one Slack request that its background task uses, copied before the listener returns."""

    kind: str  # "event", "command", "action" or "view"
    body: Mapping[str, Any]
    client: AsyncWebClient
    retry: bool
    bot_user: str | None


@dataclass(frozen=True, slots=True)
class Queued:
    """A request waiting for a worker, with when it arrived in seconds of the event loop's clock."""

    incoming: Incoming
    arrived: float


# The queue of requests that have no Slack user; `_handle` ignores them.
_NO_SENDER = ("", "")


@dataclass(slots=True)
class Conversation:
    """The user, channel and thread of one request, which its replies go to."""

    team: str
    user: str
    channel: str | None
    thread_ts: str | None
    ephemeral: bool
    trigger_id: str | None
    direct_channel: str | None = None


class LinkingInstallationStore(AsyncSQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy installation store, which also links each installed workspace to an organisation.

    A workspace already linked to another organisation keeps that link; the installation is saved anyway.
    The bot of each workspace is kept for BOT_CACHE_SECONDS, because bolt looks it up for every request.
    `monotonic` is the clock of that cache, in seconds.
    """

    def __init__(self, client_id: str, database: Database, organisation: str,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(client_id=client_id, engine=database.engine)
        self._database = database
        self._organisation = organisation
        self._monotonic = monotonic
        # (enterprise id, team id, org-wide install) -> (when it was read, the bot found).
        self._bots: dict[tuple[str | None, str | None, bool], tuple[float, Bot]] = {}
        # Counts the changes to bots, so that a lookup which overlapped a change is not cached.
        self._bot_changes = 0

    async def async_find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                             is_enterprise_install: bool | None = False) -> Bot | None:
        key = (enterprise_id, team_id, bool(is_enterprise_install))
        now = self._monotonic()
        cached = self._bots.get(key)
        if cached is not None and now - cached[0] < BOT_CACHE_SECONDS:
            return cached[1]
        changes = self._bot_changes
        bot = await super().async_find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        if bot is None or changes != self._bot_changes:
            self._bots.pop(key, None)
        else:
            self._bots[key] = (now, bot)
        return bot

    def _forget_bots(self) -> None:
        self._bot_changes += 1
        self._bots.clear()

    async def async_save_bot(self, bot: Bot) -> None:
        try:
            await super().async_save_bot(bot)
        finally:
            self._forget_bots()

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        try:
            await super().async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        finally:
            self._forget_bots()

    async def async_save(self, installation: Installation) -> None:
        await super().async_save(installation)
        # NOTE: an Enterprise Grid org-wide install is linked by its enterprise id, but requests are
        # looked up by team id, so its workspaces get WORKSPACE_NOT_LINKED until each is linked.
        workspace = installation.team_id or installation.enterprise_id or ""
        try:
            async with self._database.transaction() as session:
                await repository.ensure_organisation(session, self._organisation)
                await platforms.link_workspace(
                    session, self._organisation, PLATFORM, workspace, installation.team_name
                )
        except ValueError as error:
            logger.warning("Installed clipbot in Slack workspace %s without relinking it: %s", workspace, error)
            return
        logger.info("Installed clipbot in Slack workspace %s for organisation %s.", workspace, self._organisation)


class SlackBot:
    """The bolt AsyncApp with clipbot's listeners, and the background tasks they start.

    Call `start()` inside the running event loop before serving requests and `close()` at shutdown.
    `sleep` is what Web API retries wait with; tests pass one that returns at once.
    """

    def __init__(self, settings: Settings, database: Database, clock: Clock, *, sleep: Sleep = asyncio.sleep) -> None:
        if not settings.slack_enabled:
            raise ValueError(
                "Slack is not configured: set SLACK_SIGNING_SECRET, and SLACK_BOT_TOKEN or SLACK_CLIENT_ID "
                "and SLACK_CLIENT_SECRET."
            )
        self.settings = settings
        self.database = database
        self.clock = clock
        self.client = AsyncWebClient(
            token=settings.slack_bot_token or None,
            base_url=settings.slack_api_url,
            retry_handlers=retry_handlers(sleep),
        )
        self.installation_store: LinkingInstallationStore | None = None
        self.app = self._build_app()
        self._register_listeners()
        # The waiting requests of each (team, user), oldest first. A user has an entry here exactly
        # while their oldest request is either in `_ready` or being handled by a worker.
        self._lanes: dict[tuple[str, str], deque[Queued]] = {}
        self._ready: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._last_arrival = float("-inf")
        self._services: dict[str, WardService] = {}
        self._session: aiohttp.ClientSession | None = None

    def _build_app(self) -> AsyncApp:
        settings = self.settings
        # Listeners only acknowledge and start a task, so bolt may run them before it responds.
        # This skips the 10 ms polling loop in which bolt otherwise waits for the acknowledgement.
        options: dict[str, Any] = {
            "signing_secret": settings.slack_signing_secret,
            "client": self.client,
            "process_before_response": True,
        }
        if not settings.slack_oauth:
            return AsyncApp(**options)

        self.installation_store = LinkingInstallationStore(
            settings.slack_client_id, self.database, settings.slack_workspace_organisation
        )
        oauth = AsyncOAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            scopes=list(BOT_SCOPES),
            installation_store=self.installation_store,
            installation_store_bot_only=True,
            state_store=AsyncSQLAlchemyOAuthStateStore(expiration_seconds=600, engine=self.database.engine),
            install_path="/slack/install",
            redirect_uri_path="/slack/oauth_redirect",
        )
        # Bolt authorizes every request before its listener acknowledges it. clipbot has bot scopes
        # only, so the workspace's bot is all it needs to look up. Bolt keeps the auth.test result
        # for each token, where by default (bolt 1.30) it calls auth.test on Slack for every request.
        authorize = AsyncInstallationStoreAuthorize(
            logger=logger,
            installation_store=self.installation_store,
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            bot_only=True,
            cache_enabled=True,
            client=self.client,
        )
        return AsyncApp(**options, oauth_settings=oauth, authorize=authorize)

    def _register_listeners(self) -> None:
        # Bolt tries the listeners in order and builds its whole set of listener arguments for every
        # matcher it calls (bolt 1.30), so there is one listener per kind of request, most frequent first.
        app = self.app
        app.event(HANDLED_EVENTS)(self._on_event)
        app.command(SLASH_COMMAND)(self._on_command)
        app.action(ANY_ID)(self._on_action)
        app.view(ANY_ID)(self._on_view)

    async def start(self) -> None:
        """Start the workers, open the HTTP session for Web API calls and make sure the workspace's organisation exists."""
        if not self._workers:
            self._workers = [
                asyncio.create_task(self._work(), name=f"slack-worker-{number}")
                for number in range(1, MAX_CONCURRENT_HANDLERS + 1)
            ]
        if self._session is None:
            self._session = aiohttp.ClientSession()
            # Bolt copies the app client's session into each request's client, so all share one pool.
            self.client.session = self._session
        async with self.database.transaction() as session:
            await repository.ensure_organisation(session, self.settings.slack_workspace_organisation)
        mode = "OAuth, several workspaces" if self.settings.slack_oauth else "one workspace"
        logger.info("Slack is enabled (%s), calling the Web API at %s.", mode, self.settings.slack_api_url)

    async def wait_idle(self) -> None:
        """Wait until every queued request, including any queued meanwhile, has been handled."""
        await self._ready.join()

    async def close(self, grace_seconds: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Let the workers handle queued requests for up to `grace_seconds`, cancel them, and close the HTTP session."""
        if self._lanes:
            try:
                await asyncio.wait_for(self._ready.join(), grace_seconds)
            except TimeoutError:
                unhandled = sum(len(lane) for lane in self._lanes.values())
                logger.warning("Cancelled %d Slack requests not yet handled at shutdown.", unhandled)
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        if self._session is not None:
            await self._session.close()
            self._session = None

    # Listeners: acknowledge, copy what the worker needs, queue it.

    async def _on_event(self, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext,
                        request: AsyncBoltRequest) -> None:
        # Bolt acknowledges Events API requests itself.
        self._enqueue(Incoming("event", body, client, is_retry(request.headers), context.bot_user_id))

    async def _on_command(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient,
                          context: AsyncBoltContext) -> None:
        await ack()
        self._enqueue(Incoming("command", body, client, False, context.bot_user_id))

    async def _on_action(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient,
                         context: AsyncBoltContext) -> None:
        await ack()
        self._enqueue(Incoming("action", body, client, False, context.bot_user_id))

    async def _on_view(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient,
                       context: AsyncBoltContext) -> None:
        await ack()
        self._enqueue(Incoming("view", body, client, False, context.bot_user_id))

    def _enqueue(self, incoming: Incoming) -> None:
        """Queue a request behind the same user's earlier requests; a worker handles it after them.

        NOTE: the order holds within one process only. Replicas behind a load balancer share
        `record_event`, so a redelivery is still handled once, but not this ordering. The queue has
        no size limit, because every request in it has already been acknowledged and cannot be turned away.
        """
        arrived = asyncio.get_running_loop().time()
        self._last_arrival = arrived
        sender = slack_user_of(incoming.body) or _NO_SENDER
        lane = self._lanes.get(sender)
        if lane is None:
            self._lanes[sender] = deque([Queued(incoming, arrived)])
            self._ready.put_nowait(sender)
        else:
            lane.append(Queued(incoming, arrived))

    async def _work(self) -> None:
        """Handle the oldest request of each ready user in turn, until cancelled."""
        while True:
            sender = await self._ready.get()
            lane = self._lanes[sender]
            try:
                await self._hold_back_during_burst(lane[0].arrived)
                await self._handle_safely(lane[0].incoming)
            finally:
                lane.popleft()
                # The user's next request goes to the back of the queue, so one busy user cannot
                # keep a worker from everybody else.
                if lane:
                    self._ready.put_nowait(sender)
                else:
                    del self._lanes[sender]
                self._ready.task_done()

    async def _hold_back_during_burst(self, arrived: float) -> None:
        """Wait while newer requests keep arriving, for at most MAX_HOLD_SECONDS after `arrived`.

        Handling a request takes several database queries and Web API calls, which would delay the
        acknowledgements of a burst that shares the event loop. A request with no newer one behind
        it is handled at once.
        """
        loop = asyncio.get_running_loop()
        latest = arrived + MAX_HOLD_SECONDS
        while self._last_arrival > arrived:
            now = loop.time()
            resume = min(self._last_arrival + BURST_GAP_SECONDS, latest)
            if now >= resume:
                return
            await asyncio.sleep(resume - now)

    async def _handle_safely(self, incoming: Incoming) -> None:
        try:
            await self._handle(incoming)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("Failed to handle a Slack %s request (%s).", incoming.kind, _request_id(incoming.body))

    # Background handling of one request.

    async def _handle(self, incoming: Incoming) -> None:
        body = _without_file_share_subtype(incoming.body)
        preview = event_from_slack(body, organisation="", person=None)
        sender = slack_user_of(body)
        if preview is None or sender is None:
            return
        if incoming.retry:
            logger.info("Slack redelivered event %s.", preview.event_id)
        if preview.event_id and not await self._first_delivery(preview.event_id):
            return

        team, user = sender
        conversation = _conversation(incoming, team, user)
        organisation = await self._organisation(team)
        if organisation is None:
            logger.warning("Slack workspace %s is not linked to an organisation, so user %s was asked to reinstall.", team, user)
            await self._reply(incoming.client, conversation, Reply(WORKSPACE_NOT_LINKED))
            return

        person = await self._person(incoming.client, organisation, team, user)
        attachments = await self._attachments(incoming, conversation)
        if attachments is None:
            return
        event = dataclasses.replace(
            preview,
            organisation=organisation,
            person=person,
            workspace=team,
            mentions=_mentions(incoming, user),
            direct=bool(conversation.channel and conversation.channel.startswith("D")),
            attachments=attachments,
        )
        await dispatch(event, self._context(incoming.client, organisation, conversation))

    async def _first_delivery(self, event_id: str) -> bool:
        async with self.database.transaction() as session:
            return await platforms.record_event(session, PLATFORM, event_id)

    async def _organisation(self, team: str) -> str | None:
        if not self.settings.slack_oauth:
            return self.settings.slack_workspace_organisation
        async with self.database.session() as session:
            return await platforms.organisation_of_workspace(session, PLATFORM, team)

    def _service(self, organisation: str) -> WardService:
        if organisation not in self._services:
            self._services[organisation] = WardService(
                self.database, self.clock, organisation, planner_settings=self.settings.planner
            )
        return self._services[organisation]

    # Identity: Slack users and roster people.

    async def _person(self, client: AsyncWebClient, organisation: str, team: str, user: str) -> str | None:
        """Return the roster person of a Slack user, linking them by their profile email the first time."""
        service = self._service(organisation)
        person = await service.person_for_user(PLATFORM, team, user)
        if person is not None:
            return person

        try:
            answer = await client.users_info(user=user)
        except SlackApiError as error:
            logger.warning("Could not read Slack user %s in %s: %s.", user, team, _error_code(error))
            return None
        email = str(answer.get("user", {}).get("profile", {}).get("email") or "")
        if not email:
            logger.info("Slack user %s in %s has no email in their profile, so is not linked.", user, team)
            return None
        person = await service.person_for_user(PLATFORM, team, user, email=email)
        if person is None:
            logger.info("No roster person has the email of Slack user %s in %s, so the user is not linked.", user, team)
        return person

    async def _slack_user_of_person(
        self, client: AsyncWebClient, organisation: str, team: str, person_key: str
    ) -> str | None:
        """Return the Slack user of a roster person, finding them by roster email the first time.

        Only the workspace of the current request is searched, because its bot token makes the calls.
        """
        async with self.database.session() as session:
            identity = await platforms.identity_of_person(session, organisation, PLATFORM, team, person_key)
            person = None if identity is not None else await repository.find_person(session, organisation, person_key)
        if identity is not None:
            return identity.user_id if identity.reachable else None
        if person is None or not person.email:
            return None

        try:
            answer = await client.users_lookupByEmail(email=person.email)
        except SlackApiError as error:
            logger.info("No Slack user in %s has the roster email of person %s (%s).", team, person_key, _error_code(error))
            return None
        user = str(answer.get("user", {}).get("id") or "")
        if not user:
            return None
        async with self.database.transaction() as session:
            await platforms.link_identity(session, organisation, PLATFORM, team, user, person_key, email=person.email)
        return user

    # Files attached to a message.

    async def _attachments(self, incoming: Incoming, conversation: Conversation) -> tuple[Attachment, ...] | None:
        """Download the CSV files of a message; on a file too large or a failed download, reply and return None.

        Only CSV files are read, because rosters are the only files handlers use; others are ignored.
        """
        files = incoming.body.get("event", {}).get("files") if incoming.kind == "event" else None
        if not isinstance(files, list) or not files:
            return ()
        attachments: list[Attachment] = []
        for item in files:
            name = str(item.get("name") or item.get("title") or "file")
            if not (name.casefold().endswith(".csv") or item.get("filetype") == "csv"):
                continue
            size = int(item.get("size") or 0)
            if size > MAX_ROSTER_BYTES:
                text = messages.ROSTER_TOO_LARGE.format(name=name, size=size, limit=MAX_ROSTER_BYTES)
                await self._reply(incoming.client, conversation, Reply(text))
                return None
            content = await self._download(incoming.client, str(item.get("url_private_download") or ""))
            if content is None:
                await self._reply(incoming.client, conversation, Reply(DOWNLOAD_FAILED.format(name=name)))
                return None
            if len(content) > MAX_ROSTER_BYTES:
                text = messages.ROSTER_TOO_LARGE.format(name=name, size=len(content), limit=MAX_ROSTER_BYTES)
                await self._reply(incoming.client, conversation, Reply(text))
                return None
            attachments.append(Attachment(name, content))
        return tuple(attachments)

    async def _download(self, client: AsyncWebClient, url: str) -> bytes | None:
        """Download a private Slack file, reading at most one byte past the size limit.

        The bot token is sent only to files.slack.com or the Web API's own host, never to another host.
        """
        host = urlsplit(url).netloc
        if host not in ("files.slack.com", urlsplit(self.settings.slack_api_url).netloc):
            logger.warning("Refused to download a Slack file from host %s.", host or "(none)")
            return None
        session = self._session
        if session is None:
            raise RuntimeError("SlackBot.start() was not called before handling requests.")
        try:
            async with session.get(url, headers={"Authorization": f"Bearer {client.token}"}) as response:
                if response.status != 200:
                    logger.warning("Downloading a Slack file failed with HTTP status %d.", response.status)
                    return None
                return await response.content.read(MAX_ROSTER_BYTES + 1)
        except aiohttp.ClientError as error:
            logger.warning("Downloading a Slack file failed: %s.", type(error).__name__)
            return None

    # The HandlerContext: everything a handler can do in Slack.

    def _context(self, client: AsyncWebClient, organisation: str, conversation: Conversation) -> HandlerContext:
        async def reply(message: Reply) -> None:
            await self._reply(client, conversation, message)

        async def notify(person_key: str, message: Reply) -> bool:
            return await self._notify(client, organisation, conversation.team, person_key, message)

        async def post_to_ward(ward_key: str, message: Reply) -> Delivery:
            return await self._post_to_ward(client, organisation, conversation.team, ward_key, message)

        async def show_form(form: Form) -> None:
            try:
                await client.views_open(trigger_id=conversation.trigger_id, view=render_modal(form))
            except SlackApiError as error:
                # A trigger id expires 3 s after the user's action, which a long backlog can exceed.
                if _error_code(error) != "expired_trigger_id":
                    raise
                logger.warning("The trigger for form %s expired before it could be opened.", form.action)
                await self._reply(client, conversation, Reply(FORM_EXPIRED))

        async def publish_home(message: Reply) -> None:
            await client.views_publish(user_id=conversation.user, view=render_home(message))

        return HandlerContext(
            reply=reply,
            notify=notify,
            service=self._service(organisation),
            logger=logger,
            post_to_ward=post_to_ward,
            show_form=show_form if conversation.trigger_id else None,
            publish_home=publish_home,
        )

    async def _reply(self, client: AsyncWebClient, conversation: Conversation, message: Reply) -> None:
        """Answer in the request's channel or thread; a slash command's answer is ephemeral."""
        for part in render_message(message):
            if conversation.ephemeral and conversation.channel:
                try:
                    await client.chat_postEphemeral(
                        channel=conversation.channel, user=conversation.user, thread_ts=conversation.thread_ts, **part
                    )
                    continue
                except SlackApiError as error:
                    if _error_code(error) not in _EPHEMERAL_FALLBACK_ERRORS:
                        raise
                    # Slash commands also work in channels the bot is not in; answer privately instead.
                    conversation.ephemeral = False
                    conversation.channel = None
                    conversation.thread_ts = None
            if conversation.channel:
                await client.chat_postMessage(channel=conversation.channel, thread_ts=conversation.thread_ts, **part)
                continue
            if conversation.direct_channel is None:
                opened = await client.conversations_open(users=conversation.user)
                conversation.direct_channel = str(opened["channel"]["id"])
            await client.chat_postMessage(channel=conversation.direct_channel, **part)

    async def _notify(
        self, client: AsyncWebClient, organisation: str, team: str, person_key: str, message: Reply
    ) -> bool:
        """Send a direct message to a roster person; False when they have no reachable Slack user."""
        user = await self._slack_user_of_person(client, organisation, team, person_key)
        if user is None:
            return False
        try:
            opened = await client.conversations_open(users=user)
            channel = str(opened["channel"]["id"])
            for part in render_message(message):
                await client.chat_postMessage(channel=channel, **part)
        except SlackApiError as error:
            code = _error_code(error)
            if code in UNREACHABLE_ERRORS:
                logger.info("Slack user %s in %s cannot get direct messages (%s); marked unreachable.", user, team, code)
                await self._service(organisation).mark_unreachable(PLATFORM, team, user)
            else:
                logger.warning("Direct message to Slack user %s in %s failed: %s.", user, team, code)
            return False
        return True

    async def _post_to_ward(
        self, client: AsyncWebClient, organisation: str, team: str, ward_key: str, message: Reply
    ) -> Delivery:
        service = self._service(organisation)
        ward = await service.find_ward(ward_key)
        found = await service.ward_channel(ward.key, PLATFORM)
        if found is None:
            return Delivery(False, messages.NO_WARD_CHANNEL.format(ward=ward.name, ward_key=ward.key))

        workspace, channel = found
        poster = client if workspace == team else await self._client_for(workspace)
        try:
            for part in render_message(message):
                await poster.chat_postMessage(channel=channel, **part)
        except SlackApiError as error:
            code = _error_code(error)
            if code not in CHANNEL_PROBLEMS:
                raise
            logger.info("Could not post to ward %s channel %s: %s.", ward.key, channel, code)
            return Delivery(False, CHANNEL_PROBLEMS[code].format(ward=ward.name, ward_key=ward.key))
        return DELIVERED

    # Messages the bot sends on its own, outside any request (the outbox).

    async def send_to_person(
        self,
        organisation: str,
        workspace: str,
        person_key: str,
        message: Reply,
        *,
        attachment: Attachment | None = None,
        attachment_title: str | None = None,
    ) -> str | None:
        """Send a direct message to a roster person in `workspace`, or share `attachment` there with the message's text.

        Returns the ts of the first message posted, or the id of the shared file, or None when the
        person has no reachable Slack user in `workspace`. With an attachment, the file is uploaded
        with the reply's text as its comment, which shows no sections or buttons. Raises
        SlackApiError when Slack rejects the first post or the upload, after marking the user
        unreachable for a code in UNREACHABLE_ERRORS, and aiohttp.ClientError or TimeoutError when
        Slack cannot be reached, each after slack_sdk's own retries. Raises ValueError for a reply
        that renders as no Slack message. Once the first part is posted, a failed later part is
        logged and not raised, so that retrying the whole message cannot post it twice.
        """
        client = await self._client_for(workspace)
        user = await self._slack_user_of_person(client, organisation, workspace, person_key)
        if user is None:
            return None

        try:
            opened = await client.conversations_open(users=user)
            channel = str(opened["channel"]["id"])
            if attachment is None:
                return await self._post_parts(client, channel, _rendered(message))
            uploaded = await client.files_upload_v2(
                channel=channel, file=attachment.content, filename=attachment.name,
                title=attachment_title or attachment.name, initial_comment=message.text,
            )
            return str(uploaded["file"]["id"])
        except SlackApiError as error:
            code = _error_code(error)
            if code in UNREACHABLE_ERRORS:
                logger.info("Slack user %s in %s cannot get direct messages (%s); marked unreachable.", user, workspace, code)
                await self._service(organisation).mark_unreachable(PLATFORM, workspace, user)
            raise

    async def post_to_ward(self, organisation: str, ward_key: str, message: Reply) -> str | None:
        """Post in the ward's Slack channel, with the token of the workspace that has it, and return the first ts.

        Returns None when the ward has no Slack channel. Raises as `send_to_person` does; a code in
        CHANNEL_PROBLEMS means that an educator has to set the channel again.
        """
        found = await self._service(organisation).ward_channel(ward_key, PLATFORM)
        if found is None:
            return None
        workspace, channel = found
        client = await self._client_for(workspace)
        return await self._post_parts(client, channel, _rendered(message))

    async def update_ward_post(self, organisation: str, ward_key: str, ts: str, message: Reply) -> bool:
        """Change a message that `post_to_ward` posted to show `message`; return False if the ward has no Slack channel.

        The first part replaces the posted message and any further parts are posted after it. Raises
        as `post_to_ward` does; `message_not_found`, `cant_update_message` and `edit_window_closed`
        mean that the message can no longer be changed.
        """
        found = await self._service(organisation).ward_channel(ward_key, PLATFORM)
        if found is None:
            return False
        workspace, channel = found
        client = await self._client_for(workspace)
        parts = _rendered(message)
        await client.chat_update(channel=channel, ts=ts, **parts[0])
        if len(parts) > 1:
            await self._post_parts(client, channel, parts[1:])
        return True

    async def _post_parts(self, client: AsyncWebClient, channel: str, parts: Sequence[Mapping[str, Any]]) -> str:
        """Post the rendered parts of a reply in order and return the ts of the first.

        Only a failure of the first part is raised. After a later part fails, the rest are skipped
        and the failure is logged, because posting the message again would repeat its first parts.
        """
        first = await client.chat_postMessage(channel=channel, **parts[0])

        for number, part in enumerate(parts[1:], start=2):
            try:
                await client.chat_postMessage(channel=channel, **part)
            except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
                logger.warning(
                    "Posted part 1 of %d in Slack channel %s, but part %d failed (%s), so the rest were not posted.",
                    len(parts), channel, number, _failure_of(error),
                )
                break
        return str(first["ts"])

    async def _client_for(self, workspace: str) -> AsyncWebClient:
        """Return a Web API client with the bot token of another workspace (OAuth installs only)."""
        if self.installation_store is None:
            return self.client
        bot = await self.installation_store.async_find_bot(enterprise_id=None, team_id=workspace)
        return AsyncWebClient(
            token=bot.bot_token if bot else None,
            base_url=self.client.base_url,
            session=self.client.session,
            retry_handlers=list(self.client.retry_handlers or []),
        )


def _request_id(body: Mapping[str, Any]) -> str:
    """Return an id for a log line: the event id, trigger id or view id of the request."""
    view = body.get("view") if isinstance(body.get("view"), Mapping) else {}
    for value in (body.get("event_id"), body.get("trigger_id"), view.get("id")):
        if isinstance(value, str) and value:
            return value
    return "unknown"


def _without_file_share_subtype(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return the body with a `file_share` subtype removed, so a message with files is translated like any message."""
    event = body.get("event")
    if not isinstance(event, Mapping) or event.get("subtype") != "file_share":
        return body
    return {**body, "event": {key: value for key, value in event.items() if key != "subtype"}}


def _conversation(incoming: Incoming, team: str, user: str) -> Conversation:
    body = incoming.body
    if incoming.kind == "event":
        event = body.get("event", {})
        return Conversation(team, user, event.get("channel"), event.get("thread_ts"), False, None)
    if incoming.kind == "command":
        return Conversation(team, user, body.get("channel_id"), None, True, body.get("trigger_id"))
    if incoming.kind == "action":
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        message = body.get("message") or {}
        return Conversation(
            team, user, channel, message.get("thread_ts"), bool(container.get("is_ephemeral")), body.get("trigger_id")
        )
    # A modal has no channel: its answers go to the user's direct messages.
    return Conversation(team, user, None, None, False, body.get("trigger_id"))


def _mentions(incoming: Incoming, user: str) -> tuple[str, ...]:
    """Return the users mentioned in a message or command text, in order, without the bot or the sender."""
    body = incoming.body
    if incoming.kind == "event":
        text = str(body.get("event", {}).get("text") or "")
    elif incoming.kind == "command":
        text = str(body.get("text") or "")
    else:
        return ()
    bots = {item.get("user_id") for item in body.get("authorizations") or () if item.get("is_bot")}
    bots.add(incoming.bot_user)
    mentioned = [found for found in _USER_MENTION.findall(text) if found not in bots and found != user]
    return tuple(dict.fromkeys(mentioned))

