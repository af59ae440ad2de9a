"""A fake Bot Framework connector (the Teams service URL) on 127.0.0.1, for tests.

It implements the few REST operations clipbot uses: send to a conversation, reply to an activity,
update an activity and read one conversation member. Every request is recorded in `requests`, in
order. `fail` makes the fake respond to the next requests to a conversation with an error status, optionally
with a Retry-After header. Members come from `add_member`; an unknown member gets 404.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


@dataclass(frozen=True, slots=True)
class ConnectorRequest:
    """One request the bot made: `kind` is "send", "reply", "update" or "member"."""

    kind: str
    conversation_id: str
    activity_id: str | None
    body: dict[str, Any]
    status: int

    @property
    def cards(self) -> list[dict[str, Any]]:
        attachments = self.body.get("attachments") or []
        return [item["content"] for item in attachments if item.get("contentType") == CARD_CONTENT_TYPE]

    @property
    def text(self) -> str:
        """All TextBlock and FactSet text of the request's cards, one line each."""
        lines: list[str] = []
        for card in self.cards:
            lines.extend(card_lines(card))
        return "\n".join(lines)


def card_lines(card: dict[str, Any]) -> list[str]:
    """Return the text of a card's TextBlocks and facts ("title: value"), in order."""
    lines: list[str] = []
    for element in card.get("body", []):
        if element.get("type") == "TextBlock":
            lines.append(element["text"])
        elif element.get("type") == "FactSet":
            lines.extend(f"{fact['title']}: {fact['value']}" for fact in element["facts"])
    return lines


@dataclass(slots=True)
class _Failure:
    status: int
    retry_after: str | None


@dataclass
class FakeConnector:
    """Start with `async with FakeConnector() as connector:`; `service_url` is then its base URL."""

    requests: list[ConnectorRequest] = field(default_factory=list)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    service_url: str = ""
    _failures: dict[str, deque[_Failure]] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    async def __aenter__(self) -> FakeConnector:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        # Teams service URLs end with a slash, and the connector client adds one more before "v3".
        self.service_url = f"http://127.0.0.1:{port}/teams/"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def add_member(self, user_id: str, *, name: str, email: str | None = None, aad_object_id: str | None = None) -> None:
        member = {"id": user_id, "name": name, "aadObjectId": aad_object_id, "email": email, "userPrincipalName": email}
        self.members[user_id] = {key: value for key, value in member.items() if value is not None}

    def fail(self, conversation_id: str, status: int, *, retry_after: str | None = None, times: int = 1) -> None:
        """Respond to the next `times` sends, replies or updates in the conversation with `status`."""
        queue = self._failures.setdefault(conversation_id, deque())
        queue.extend(_Failure(status, retry_after) for _ in range(times))

    def sent(self, conversation_id: str | None = None) -> list[ConnectorRequest]:
        """Return the successful sends and replies, to one conversation when it is given."""
        return [
            request for request in self.requests
            if request.kind in ("send", "reply") and request.status < 300
            and (conversation_id is None or request.conversation_id == conversation_id)
        ]

    def updates(self) -> list[ConnectorRequest]:
        return [request for request in self.requests if request.kind == "update" and request.status < 300]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        # The raw path keeps %2F inside ids apart from the path's own slashes.
        segments = [unquote(part) for part in request.rel_url.raw_path.split("/") if part]
        if segments[:3] != ["teams", "v3", "conversations"] or len(segments) < 4:
            return web.json_response({"error": {"code": "NotFound", "message": request.path}}, status=404)
        conversation_id, rest = segments[3], segments[4:]

        if request.method == "GET" and len(rest) == 2 and rest[0] == "members":
            return self._member(conversation_id, rest[1])
        body = json.loads(await request.read() or b"{}")
        if request.method == "POST" and rest == ["activities"]:
            return self._record("send", conversation_id, None, body)
        if request.method == "POST" and len(rest) == 2 and rest[0] == "activities":
            return self._record("reply", conversation_id, rest[1], body)
        if request.method == "PUT" and len(rest) == 2 and rest[0] == "activities":
            return self._record("update", conversation_id, rest[1], body)
        return web.json_response({"error": {"code": "BadSyntax", "message": request.path}}, status=400)

    def _member(self, conversation_id: str, user_id: str) -> web.Response:
        member = self.members.get(user_id)
        status = 200 if member is not None else 404
        self.requests.append(ConnectorRequest("member", conversation_id, None, {"user": user_id}, status))
        if member is None:
            return web.json_response({"error": {"code": "MemberNotFoundInConversation", "message": user_id}}, status=404)
        return web.json_response(member)

    def _record(self, kind: str, conversation_id: str, activity_id: str | None, body: dict[str, Any]) -> web.Response:
        queue = self._failures.get(conversation_id)
        if queue:
            failure = queue.popleft()
            self.requests.append(ConnectorRequest(kind, conversation_id, activity_id, body, failure.status))
            headers = {"Retry-After": failure.retry_after} if failure.retry_after is not None else None
            error = {"error": {"code": "Failed", "message": f"HTTP {failure.status} from the fake connector"}}
            return web.json_response(error, status=failure.status, headers=headers)
        self.requests.append(ConnectorRequest(kind, conversation_id, activity_id, body, 200))
        return web.json_response({"id": activity_id if kind == "update" else f"1:fake{next(self._ids)}"})
