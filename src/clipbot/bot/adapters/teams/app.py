"""Microsoft Teams over the Bot Framework: the /api/messages endpoint, the turn handler and proactive sends.

botbuilder's CloudAdapter authenticates every request (a Bot Framework JWT whenever an app id is
set) and runs `TeamsBot.on_turn`, which stores conversation references, links the sender to a roster
person and hands a neutral event to `router.dispatch`. The response to a file consent card (a
`fileConsent/invoke`) goes to `consent.FileConsent` instead. `TeamsMessenger` sends proactive messages
from stored references through `CloudAdapter.continue_conversation`, so it works in a process that
has had no inbound activity, such as a scheduled job.

Conversation references are stored per tenant (the storage's workspace) under `user:<29: id>` for a
personal chat and `channel:<19: id>` for a channel or group chat. A channel's key and reference use
the channel id without the `;messageid=` suffix that Teams adds inside a thread, so posts there
start new threads.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jwt
from aiohttp import web
from botbuilder.core import Bot, InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, ActivityTypes, ConversationReference
from msrest.exceptions import ClientException, DeserializationError
from msrest.serialization import Model
from requests import RequestException
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from clipbot.bot.adapters.teams.cards import message_activity, render_card, render_cards, render_form
from clipbot.bot.adapters.teams.consent import FileConsent, FileUploader, send_invoke_status
from clipbot.bot.adapters.teams.files import FILE_CONSENT_INVOKE
from clipbot.bot.adapters.teams.sending import SendError, Sender
from clipbot.bot.adapters.teams.settings import TeamsSettings
from clipbot.bot.adapters.teams.translate import (
    ADAPTIVE_CARD_ACTION,
    PERSONAL,
    conversation_reference_of,
    event_from_activity,
    identity_of,
    invoke_error,
    invoke_response,
    members_added,
)
from clipbot.bot.events import Event, Form, Reply, Section
from clipbot.bot.handlers import messages
from clipbot.bot.handlers.context import DELIVERED, Delivery, HandlerContext
from clipbot.bot.handlers.router import dispatch
from clipbot.clock import Clock, SystemClock
from clipbot.service import WardService
from clipbot.storage import repository
from clipbot.storage.database import Database

logger = logging.getLogger(__name__)

TEAMS = repository.TEAMS
MESSAGES_PATH = "/api/messages"
# The workspace of activities without a tenant: the Bot Framework Emulator and Web Chat send none.
NO_TENANT = "no-tenant"
# HTTP statuses after which a person's personal chat is gone: the app was removed or the user left.
UNREACHABLE_STATUSES = frozenset({403, 404})

ServiceFactory = Callable[[str], WardService]

TOO_LONG = (
    "This answer is too long for a Teams message, so I can't show it here. "
    "Ask for less at a time, for example one ward or one day."
)
TENANT_NOT_SET_UP = (
    "This Microsoft Teams organisation is not set up to use this CLiP bot. "
    "Ask your clinical educator or IT team to check the bot's MicrosoftAppTenantId."
)
ALREADY_HANDLED = "Already done."
DONE = "Done."

_MESSAGE_ID_SUFFIX = re.compile(r";messageid=.*$", re.IGNORECASE)
_EMPHASIS = re.compile(r"\*([^*\n]+)\*")


@dataclass(frozen=True, slots=True)
class _BotConfiguration:
    """The attribute names that botbuilder's ConfigurationBotFrameworkAuthentication reads."""

    APP_ID: str
    APP_PASSWORD: str
    APP_TYPE: str
    APP_TENANTID: str


def create_adapter(settings: TeamsSettings) -> CloudAdapter:
    """Build the CloudAdapter for these settings; JWT validation is on whenever an app id is set.

    Raises ConfigError when the settings cannot work, including no app id without the explicit
    unauthenticated mode.
    """
    settings.check()
    settings.require_enabled()
    configuration = _BotConfiguration(
        APP_ID=settings.app_id, APP_PASSWORD=settings.app_password,
        APP_TYPE=settings.app_type, APP_TENANTID=settings.tenant_id,
    )
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(configuration))
    adapter.on_turn_error = _log_turn_error
    return adapter


async def _log_turn_error(turn: TurnContext, error: Exception) -> None:
    activity = turn.activity
    logger.error(
        "Teams turn failed for %s activity %s in conversation %s.",
        activity.type, activity.id, activity.conversation.id if activity.conversation else None,
        exc_info=error,
    )


def add_teams_routes(
    app: web.Application,
    *,
    settings: TeamsSettings,
    service_factory: ServiceFactory,
    database: Database | None = None,
    sender: Sender | None = None,
    path: str = MESSAGES_PATH,
    clock: Clock | None = None,
) -> TeamsBot:
    """Register `POST /api/messages` for Teams on `app` and return the bot behind it.

    `service_factory` returns the WardService of an organisation key. `database` defaults to the
    database of the service for `settings.organisation`. `clock` dates file offers and their
    expiry, and defaults to the system clock. Raises ConfigError, before anything is
    registered, when the settings cannot work; without an app id it logs a WARNING that requests
    are not authenticated.
    """
    adapter = create_adapter(settings)
    if not settings.authenticated:
        logger.warning(
            "Teams requests to %s are NOT authenticated, because TEAMS_ALLOW_UNAUTHENTICATED is set and "
            "MicrosoftAppId is not. Use this only with the Bot Framework Emulator on a private machine.",
            path,
        )
    database = database or service_factory(settings.organisation).database
    sender = sender or Sender()
    messenger = TeamsMessenger(adapter, settings, database, sender=sender, clock=clock)
    bot = TeamsBot(adapter, settings, database, service_factory, messenger, sender=sender)
    app.router.add_post(path, bot.handle_request)
    app[TEAMS_BOT] = bot
    logger.info(
        "Teams endpoint ready at %s (app id %s, %s, organisation %s).",
        path, settings.app_id or "none", settings.app_type, settings.organisation,
    )
    return bot


@dataclass(slots=True)
class SendProgress:
    """How far one proactive send got: the ids of the accepted activities, and the failure that stopped it.

    `finished` is False when the turn raised something other than SendError, which the adapter's
    on_turn_error logged.
    """

    activity_ids: list[str | None] = field(default_factory=list)
    failure: SendError | None = None
    finished: bool = False


class TeamsMessenger:
    """Proactive messages to people and ward channels, sent from stored conversation references."""

    def __init__(
        self, adapter: CloudAdapter, settings: TeamsSettings, database: Database, *, sender: Sender,
        clock: Clock | None = None,
    ) -> None:
        self.adapter = adapter
        self.settings = settings
        self.database = database
        self.sender = sender
        self.clock = clock or SystemClock()

    @classmethod
    def create(cls, settings: TeamsSettings, database: Database, *, sender: Sender | None = None) -> TeamsMessenger:
        """Build a messenger with an adapter of its own, for sends outside a request, such as a scheduled job."""
        return cls(create_adapter(settings), settings, database, sender=sender or Sender())

    async def notify(self, organisation: str, tenant: str, person: str, reply: Reply) -> bool:
        """Send `reply` to the person's personal chat; return False when they cannot be reached.

        A 403 or 404 from Teams marks the person's Teams user unreachable, so later sends skip them
        until they message the bot or install it again.
        """
        async with self.database.session() as session:
            identity = await repository.identity_of_person(session, organisation, TEAMS, tenant, person)
            reference = None
            if identity is not None and identity.reachable:
                key = repository.user_reference_key(identity.user_id)
                reference = await repository.load_reference(session, organisation, TEAMS, tenant, key)
        if identity is None or not identity.reachable or reference is None:
            logger.info(
                "Cannot message person %s of organisation %s in tenant %s: %s.", person, organisation, tenant,
                "no linked Teams user" if identity is None else
                "their Teams user is unreachable" if not identity.reachable else "no personal chat stored",
            )
            return False

        try:
            await self.send(reference, reply_activities(reply), tenant=tenant, description="message to a person")
        except SendError as error:
            if error.status in UNREACHABLE_STATUSES:
                async with self.database.session() as session:
                    await repository.mark_unreachable(session, organisation, TEAMS, tenant, identity.user_id)
                    await session.commit()
            return False
        return True

    async def post_to_ward(self, organisation: str, ward_key: str, reply: Reply) -> Delivery:
        """Post `reply` in the ward's Teams channel; a failed Delivery's problem is the next step for the educator."""
        async with self.database.session() as session:
            channel = await repository.ward_channel(session, organisation, ward_key, TEAMS)
            reference = None
            if channel is not None:
                key = repository.channel_reference_key(channel.channel_id)
                reference = await repository.load_reference(session, organisation, TEAMS, channel.workspace, key)
            wards = await repository.list_wards(session, organisation)
        if channel is None:
            ward_name = next((ward.name for ward in wards if ward.key == ward_key), ward_key)
            return Delivery(False, messages.NO_WARD_CHANNEL.format(ward=ward_name, ward_key=ward_key))
        if reference is None:
            logger.warning(
                "Ward %s of organisation %s has Teams channel %s but no stored reference for it.",
                ward_key, organisation, channel.channel_id,
            )
            return Delivery(False, (
                f"I can't find the {ward_key} channel any more. Mention me in that channel with "
                f"'channel {ward_key}' so I can post there again."
            ))

        try:
            await self.send(
                reference, reply_activities(reply), tenant=channel.workspace, description="post to a ward channel"
            )
        except SendError as error:
            if error.status in UNREACHABLE_STATUSES:
                return Delivery(False, (
                    f"Teams did not let me post in the {ward_key} channel (HTTP {error.status}). Check that the "
                    f"bot is still in that team, then mention me there with 'channel {ward_key}'."
                ))
            reason = f"HTTP {error.status}" if error.status is not None else "no response"
            return Delivery(False, (
                f"Teams did not accept my post in the {ward_key} channel ({reason}). Try again in a few minutes."
            ))
        return DELIVERED

    async def send(
        self, reference: Mapping[str, Any], activities: list[Activity], *, tenant: str, description: str
    ) -> None:
        """Send activities to a stored conversation in order; raise SendError at the first that fails for good."""
        progress = await self.deliver(reference, activities, tenant=tenant, description=description)
        if progress.failure is not None:
            raise progress.failure

    async def deliver(
        self, reference: Mapping[str, Any], activities: list[Activity], *, tenant: str, description: str
    ) -> SendProgress:
        """Send activities to a stored conversation in order, paced and retried, and return how far it got.

        An activity that has an id already replaces the posted activity with that id. Raises SendError
        when Teams cannot be reached at all, for example when no token can be had.
        """
        conversation_reference = ConversationReference().deserialize(dict(reference))
        conversation = conversation_reference.conversation.id
        progress = SendProgress()

        async def send_all(turn: TurnContext) -> None:
            # run_pipeline would hand an exception to on_turn_error, so the outcome goes back in `progress`.
            try:
                for activity in activities:
                    deliver = turn.update_activity if activity.id else turn.send_activity
                    response = await self.sender.send(
                        partial(deliver, activity), tenant=tenant, conversation=conversation, description=description,
                    )
                    progress.activity_ids.append(getattr(response, "id", None))
            except SendError as error:
                progress.failure = error
            progress.finished = True

        try:
            await self.adapter.continue_conversation(conversation_reference, send_all, self.settings.app_id)
        except (ClientException, RequestException) as error:
            raise SendError(f"Failed to reach Teams for the {description}: {type(error).__name__}.", None) from error
        return progress


class TeamsBot(Bot):
    """The turn handler behind /api/messages: identity, stored references, dispatch and card actions."""

    def __init__(
        self,
        adapter: CloudAdapter,
        settings: TeamsSettings,
        database: Database,
        service_factory: ServiceFactory,
        messenger: TeamsMessenger,
        *,
        sender: Sender,
    ) -> None:
        self.adapter = adapter
        self.settings = settings
        self.database = database
        self.service_factory = service_factory
        self.messenger = messenger
        self.sender = sender
        uploader = FileUploader(allow_loopback_http=settings.allow_loopback_http_uploads)
        self.file_consent = FileConsent(database, sender, uploader, messenger.clock)
        self._rejected_requests = 0

    async def handle_request(self, request: web.Request) -> web.StreamResponse:
        """Handle one POST from the Bot Framework: 401 without a valid token, 415 or 400 for a bad body."""
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": "Send the activity as application/json."}, status=415)
        try:
            response = await self.adapter.process(request, self)
        except web.HTTPUnauthorized:
            self._count_rejection(request)
            raise
        except jwt.PyJWTError:
            # A token that is not a JWT at all fails in PyJWT before botbuilder can reject it.
            self._count_rejection(request)
            raise web.HTTPUnauthorized() from None
        except (json.JSONDecodeError, DeserializationError):
            return web.json_response({"error": "The body is not a Bot Framework activity."}, status=400)
        return response if response is not None else web.Response(status=201)

    def _count_rejection(self, request: web.Request) -> None:
        self._rejected_requests += 1
        count = self._rejected_requests
        if count == 1 or count % 100 == 0:
            logger.warning(
                "Rejected a request to %s without a valid Bot Framework token from %s (%d rejected so far).",
                request.path, request.remote, count,
            )

    async def on_turn(self, turn: TurnContext) -> None:
        activity = turn.activity
        is_card_action = activity.type == ActivityTypes.invoke and activity.name == ADAPTIVE_CARD_ACTION
        is_file_consent = activity.type == ActivityTypes.invoke and activity.name == FILE_CONSENT_INVOKE
        if activity.type not in (ActivityTypes.message, ActivityTypes.conversation_update) and not (
            is_card_action or is_file_consent
        ):
            return
        try:
            identity = identity_of(activity)
        except ValueError:
            logger.info("Ignored Teams %s activity %s: it has no sender.", activity.type, activity.id)
            return

        tenant = identity.tenant_id or NO_TENANT
        organisation = await self._organisation_of(tenant)
        if organisation is None:
            if is_file_consent:
                await send_invoke_status(turn, 403)
            await self._reject_tenant(turn, is_card_action)
            return
        await self._remember_conversation(activity, organisation, tenant)
        if activity.id and not await self._first_delivery(activity.id):
            if is_card_action:
                await _answer_invoke(turn, invoke_response(message=ALREADY_HANDLED))
            elif is_file_consent:
                await send_invoke_status(turn, 200)
            return
        if is_file_consent:
            await self.file_consent.handle(turn, organisation, tenant, identity.user_id)
            return

        personal = identity.conversation_type in (None, PERSONAL)
        person = await self._person_of(
            turn, organisation, tenant, identity.user_id, identity.aad_object_id, personal=personal
        )
        if activity.type == ActivityTypes.conversation_update:
            await self._link_added_members(turn, organisation, tenant)
            return

        event = event_from_activity(activity, organisation=organisation, person=person)
        if event is None:
            if is_card_action:
                await _answer_invoke(turn, invoke_error(400, "This card action is not one that clipbot sent."))
            return
        await self._handle(turn, _complete_event(event, activity, tenant), organisation, tenant, is_card_action)

    async def _handle(
        self, turn: TurnContext, event: Event, organisation: str, tenant: str, is_card_action: bool
    ) -> None:
        service = self.service_factory(organisation)
        conversation = _TeamsConversation(self, turn, organisation, tenant)
        context = HandlerContext(
            reply=conversation.reply, notify=conversation.notify, service=service, logger=logger,
            post_to_ward=conversation.post_to_ward, show_form=conversation.show_form,
            publish_home=conversation.reply,
        )
        # NOTE: the handler runs inside the Bot Framework's HTTP request, so a long fan-out of
        # notifications delays the acknowledgement. A request that times out may be redelivered,
        # and record_event skips the redelivery, so nothing runs twice, but Teams may show an error.
        try:
            await dispatch(event, context)
        except SendError:
            # The router already tried to apologise, which failed the same way; the send was logged.
            logger.warning("Failed to reply to Teams activity %s from user %s.", event.event_id, event.user)

        # The replies have already arrived as messages, so the pressed card only shows that it was done.
        # Repeating a reply on the card would show it twice.
        confirmation = render_card(Reply(DONE))
        activity = turn.activity
        if is_card_action:
            await _answer_invoke(turn, invoke_response(card=confirmation))
        elif activity.value is not None and activity.reply_to_id:
            await conversation.replace_card(activity.reply_to_id, confirmation)

    async def _organisation_of(self, tenant: str) -> str | None:
        """Return the organisation a tenant serves, linking a new tenant to TEAMS_ORGANISATION.

        With MicrosoftAppTenantId set, only that tenant is linked; any other unlinked tenant gets None.
        """
        async with self.database.session() as session:
            found = await repository.organisation_of_workspace(session, TEAMS, tenant)
        if found is not None:
            return found
        if self.settings.tenant_id and tenant != self.settings.tenant_id:
            logger.warning("Ignored an activity from Teams tenant %s, which is not linked to an organisation.", tenant)
            return None

        organisation = self.settings.organisation
        try:
            async with self.database.session() as session:
                await repository.ensure_organisation(session, organisation)
                await repository.link_workspace(session, organisation, TEAMS, tenant)
                await session.commit()
        except IntegrityError:
            # Another request linked it at the same moment, and its link is kept.
            async with self.database.session() as session:
                return await repository.organisation_of_workspace(session, TEAMS, tenant)
        return organisation

    async def _reject_tenant(self, turn: TurnContext, is_card_action: bool) -> None:
        if is_card_action:
            await _answer_invoke(turn, invoke_error(403, TENANT_NOT_SET_UP))
        elif turn.activity.type == ActivityTypes.message:
            try:
                await self._send_cards(turn, reply_activities(Reply(TENANT_NOT_SET_UP)), NO_TENANT, "reply")
            except SendError:
                logger.info("Could not tell a user of an unlinked tenant that it is not set up; the send was logged.")

    async def _remember_conversation(self, activity: Activity, organisation: str, tenant: str) -> None:
        """Store this conversation's reference: the sender's personal chat, or the channel or group chat."""
        try:
            reference = conversation_reference_of(activity)
        except ValueError:
            logger.warning(
                "Stored no reference for Teams activity %s: it has no conversation id or valid serviceUrl.", activity.id
            )
            return
        conversation = reference["conversation"]
        if conversation.get("conversationType") in (None, PERSONAL):
            key = repository.user_reference_key(activity.from_property.id)
        else:
            conversation["id"] = _channel_id(conversation["id"])
            key = repository.channel_reference_key(conversation["id"])
        async with self.database.session() as session:
            await repository.save_reference(session, organisation, TEAMS, tenant, key, reference)
            await session.commit()

    async def _first_delivery(self, activity_id: str) -> bool:
        async with self.database.session() as session:
            first = await repository.record_event(session, TEAMS, activity_id)
            await session.commit()
        return first

    async def _person_of(
        self, turn: TurnContext, organisation: str, tenant: str, user_id: str, aad_object_id: str | None,
        *, personal: bool = False,
    ) -> str | None:
        """Return the roster person of a Teams user, linking them on first contact from the member roster.

        An unlinked user is matched by Entra object id (a person whose roster id it is) or by e-mail
        (their Teams e-mail or user principal name against a person's e-mail, ignoring case). An
        activity in their `personal` chat shows they can be reached there again, so a user marked
        unreachable is marked reachable.
        """
        async with self.database.session() as session:
            person = await repository.person_for_user(session, organisation, TEAMS, tenant, user_id)
            if person is not None and personal:
                linked = await repository.identity_of_person(session, organisation, TEAMS, tenant, person)
                if linked is not None and not linked.reachable and linked.user_id == user_id:
                    await repository.link_identity(session, organisation, TEAMS, tenant, user_id, person)
                    await session.commit()
                    logger.info("Teams user %s in tenant %s is reachable again.", user_id, tenant)
        if person is not None:
            return person

        emails: list[str] = []
        try:
            member = await TeamsInfo.get_member(turn, user_id)
        except (ClientException, TypeError, ValueError) as error:
            logger.info("Could not read Teams member %s from the roster: %s.", user_id, type(error).__name__)
        else:
            aad_object_id = member.aad_object_id or aad_object_id
            emails = [address for address in (member.email, member.user_principal_name) if address]

        async with self.database.session() as session:
            person = await _person_matching(session, organisation, aad_object_id, emails)
            if person is None:
                return None
            await repository.link_identity(
                session, organisation, TEAMS, tenant, user_id, person, email=emails[0] if emails else None
            )
            await session.commit()
        logger.info("Linked Teams user %s in tenant %s to person %s.", user_id, tenant, person)
        return person

    async def _link_added_members(self, turn: TurnContext, organisation: str, tenant: str) -> None:
        for user_id, aad_object_id in members_added(turn.activity):
            if user_id != turn.activity.from_property.id:
                await self._person_of(turn, organisation, tenant, user_id, aad_object_id)

    async def _send_cards(self, turn: TurnContext, activities: list[Activity], tenant: str, description: str) -> None:
        conversation = turn.activity.conversation.id
        for activity in activities:
            await self.sender.send(
                partial(turn.send_activity, activity), tenant=tenant, conversation=conversation, description=description
            )


TEAMS_BOT = web.AppKey("teams_bot", TeamsBot)


class _TeamsConversation:
    """The HandlerContext capabilities for one turn: replies in this conversation, proactive sends elsewhere."""

    def __init__(self, bot: TeamsBot, turn: TurnContext, organisation: str, tenant: str) -> None:
        self.bot = bot
        self.turn = turn
        self.organisation = organisation
        self.tenant = tenant
        self.replies: list[Reply] = []

    async def reply(self, reply: Reply) -> None:
        self.replies.append(reply)
        await self.bot._send_cards(self.turn, reply_activities(reply), self.tenant, "reply")

    async def show_form(self, form: Form) -> None:
        await self.bot._send_cards(self.turn, [_card_activity(render_form(form), form.title)], self.tenant, "form")

    async def notify(self, person: str, reply: Reply) -> bool:
        return await self.bot.messenger.notify(self.organisation, self.tenant, person, reply)

    async def post_to_ward(self, ward_key: str, reply: Reply) -> Delivery:
        return await self.bot.messenger.post_to_ward(self.organisation, ward_key, reply)

    async def replace_card(self, activity_id: str, card: dict[str, Any]) -> None:
        """Replace a submitted card with `card`; a failure is only logged, because the reply was already sent."""
        updated = _card_activity(card, DONE)
        updated.id = activity_id
        try:
            await self.bot.sender.send(
                partial(self.turn.update_activity, updated), tenant=self.tenant,
                conversation=self.turn.activity.conversation.id, description="card update",
            )
        except SendError:
            logger.info("Left card %s as it was, because Teams did not accept the update.", activity_id)


def reply_activities(reply: Reply) -> list[Activity]:
    """Render a reply as message activities with a card each; a reply too large for cards becomes a notice."""
    try:
        cards = render_cards(reply)
    except ValueError as error:
        logger.warning("A reply did not fit in Teams cards: %s", error)
        cards = [render_card(Reply(reply.text, sections=(Section(TOO_LONG),)))]
    return [_card_activity(card, reply.text) for card in cards]


def _card_activity(card: dict[str, Any], summary: str) -> Activity:
    activity = message_activity(card)
    # Teams shows the summary in notifications and chat lists, where a card has no text of its own.
    activity.summary = _EMPHASIS.sub(r"\1", summary)
    return activity


class _InvokeBody(Model):
    """An adaptiveCard/action response body whose value may be a card or a text.

    CloudAdapter serialises the body with msrest, which needs a Model. botbuilder-schema 4.17's
    AdaptiveCardInvokeResponse types its value as an object map, so it cannot carry the text of a
    message response.
    """

    _attribute_map = {
        "status_code": {"key": "statusCode", "type": "int"},
        "type": {"key": "type", "type": "str"},
        "value": {"key": "value", "type": "object"},
    }

    def __init__(self, *, status_code: int, type: str, value: object, **kwargs: Any) -> None:  # noqa: A002
        super().__init__(**kwargs)
        self.status_code = status_code
        self.type = type
        self.value = value


async def _answer_invoke(turn: TurnContext, body: dict[str, Any]) -> None:
    model = _InvokeBody(status_code=int(body["statusCode"]), type=body["type"], value=body["value"])
    response = InvokeResponse(status=int(body["statusCode"]), body=model)
    await turn.send_activity(Activity(type=ActivityTypes.invoke_response, value=response))


def _complete_event(event: Event, activity: Activity, tenant: str) -> Event:
    """Add what translation leaves to the wiring: the tenant, other people mentioned, and whether it is 1:1."""
    direct = event.conversation is None or _conversation_type(activity) in (None, PERSONAL)
    conversation = event.conversation if direct or event.conversation is None else _channel_id(event.conversation)
    return dataclasses.replace(
        event, workspace=tenant, direct=direct, conversation=conversation, mentions=_mentioned_users(activity)
    )


def _conversation_type(activity: Activity) -> str | None:
    return activity.conversation.conversation_type if activity.conversation is not None else None


def _channel_id(conversation_id: str) -> str:
    """Return a channel conversation id without the thread's `;messageid=` suffix."""
    return _MESSAGE_ID_SUFFIX.sub("", conversation_id)


def _mentioned_users(activity: Activity) -> tuple[str, ...]:
    """Return the ids of the users a message mentions, in order, leaving out the bot."""
    bot_id = activity.recipient.id if activity.recipient is not None else None
    found: list[str] = []
    for entity in activity.entities or []:
        data = _wire_dict(entity)
        if str(data.get("type", "")).casefold() != "mention":
            continue
        mentioned = data.get("mentioned")
        user_id = mentioned.get("id") if isinstance(mentioned, Mapping) else None
        if isinstance(user_id, str) and user_id and user_id != bot_id and user_id not in found:
            found.append(user_id)
    return tuple(found)


def _wire_dict(value: object) -> dict[str, Any]:
    if isinstance(value, Model):
        return {**(value.additional_properties or {}), **value.serialize(keep_readonly=True)}
    return dict(value) if isinstance(value, Mapping) else {}


async def _person_matching(
    session: AsyncSession, organisation: str, aad_object_id: str | None, emails: list[str]
) -> str | None:
    """Return the key of the person whose roster id is the Entra object id, or of the one whose e-mail matches."""
    if aad_object_id:
        person = await repository.find_person(session, organisation, aad_object_id)
        if person is not None:
            return person.key
    for address in emails:
        person = await repository.find_person_by_email(session, organisation, address)
        if person is not None:
            return person.key
    return None
