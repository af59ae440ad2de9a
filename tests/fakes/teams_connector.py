"""A fake Bot Framework connector (the Teams service URL) on 127.0.0.1, for tests.

It implements the few REST operations clipbot uses: send to a conversation, reply to an activity,
update or delete an activity and read one conversation member. Every request is recorded in
`requests`, in order. `fail` makes the fake respond to the next requests to a conversation with an
error status, optionally with a Retry-After header. Members come from `add_member`; an unknown
member gets 404.

It also stands in for the OneDrive upload session that a file consent's `uploadInfo` points to:
`upload_info` gives an uploadInfo whose uploadUrl is on this server, every PUT to it is recorded in
`uploads`, and `fail_uploads` makes the next ones fail.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
FILE_CONSENT_CONTENT_TYPE = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO_CONTENT_TYPE = "application/vnd.microsoft.teams.card.file.info"


@dataclass(frozen=True, slots=True)
class ConnectorRequest:
    """One request the bot made: `kind` is "send", "reply", "update", "delete" or "member"."""

    kind: str
    conversation_id: str
    activity_id: str | None
    body: dict[str, Any]
    status: int
    # The id the fake gave the activity it accepted, which a later reply, update or delete can name.
    answered_id: str | None = None

    @property
    def cards(self) -> list[dict[str, Any]]:
        attachments = self.body.get("attachments") or []
        return [item["content"] for item in attachments if item.get("contentType") == CARD_CONTENT_TYPE]

    def attachments(self, content_type: str) -> list[dict[str, Any]]:
        """Return the request's attachments of one content type, such as FILE_CONSENT_CONTENT_TYPE."""
        return [item for item in self.body.get("attachments") or [] if item.get("contentType") == content_type]

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


@dataclass(frozen=True, slots=True)
class UploadRequest:
    """One PUT to the fake upload endpoint: the file name in its path, its query, headers and body."""

    name: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass(slots=True)
class _Failure:
    """A failure to respond with; None in its place lets a request through."""

    status: int
    retry_after: str | None


@dataclass
class FakeConnector:
    """Start with `async with FakeConnector() as connector:`; `service_url` is then its base URL."""

    requests: list[ConnectorRequest] = field(default_factory=list)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    service_url: str = ""
    base_url: str = ""
    uploads: list[UploadRequest] = field(default_factory=list)
    _upload_failures: deque[int] = field(default_factory=deque)
    _failures: dict[str, deque[_Failure | None]] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _file_numbers: itertools.count = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    async def __aenter__(self) -> FakeConnector:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        # Teams service URLs end with a slash, and the connector client adds one more before "v3".
        self.service_url = f"{self.base_url}/teams/"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def add_member(self, user_id: str, *, name: str, email: str | None = None, aad_object_id: str | None = None) -> None:
        member = {"id": user_id, "name": name, "aadObjectId": aad_object_id, "email": email, "userPrincipalName": email}
        self.members[user_id] = {key: value for key, value in member.items() if value is not None}

    def fail(
        self, conversation_id: str, status: int, *, retry_after: str | None = None, times: int = 1, after: int = 0
    ) -> None:
        """Respond to `times` sends, replies, updates or deletes in the conversation with `status`, after letting `after` through."""
        queue = self._failures.setdefault(conversation_id, deque())
        queue.extend(None for _ in range(after))
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

    def deletes(self) -> list[ConnectorRequest]:
        return [request for request in self.requests if request.kind == "delete" and request.status < 300]

    def upload_info(self, name: str = "protected-time.ics") -> dict[str, str]:
        """Return an uploadInfo as Teams sends it after Allow, with a new upload URL on this server each time.

        The URL's query contains a random `tempauth` token, so that tests can check it stays out of logs.
        """
        number = next(self._file_numbers)
        return {
            "name": name,
            "uploadUrl": f"{self.base_url}/upload/{name}?tempauth={secrets.token_urlsafe(16)}",
            "contentUrl": f"{self.base_url}/files/{name}",
            "uniqueId": f"1150D938-8870-4044-9F2C-{number:012d}",
            "fileType": name.rsplit(".", 1)[-1],
        }

    def fail_uploads(self, status: int, *, times: int = 1) -> None:
        """Respond to the next `times` uploads with `status`."""
        self._upload_failures.extend(status for _ in range(times))

    def uploaded(self) -> list[UploadRequest]:
        return [upload for upload in self.uploads if upload.status < 300]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        # The raw path keeps %2F inside ids apart from the path's own slashes.
        segments = [unquote(part) for part in request.rel_url.raw_path.split("/") if part]
        if request.method == "PUT" and len(segments) == 2 and segments[0] == "upload":
            return await self._upload(segments[1], request)
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
        if request.method == "DELETE" and len(rest) == 2 and rest[0] == "activities":
            return self._record("delete", conversation_id, rest[1], body)
        return web.json_response({"error": {"code": "BadSyntax", "message": request.path}}, status=400)

    async def _upload(self, name: str, request: web.Request) -> web.Response:
        """Record an upload and respond 201 with the file's name and size, or with the next queued failure."""
        body = await request.read()
        headers = {key: value for key, value in request.headers.items() if key.lower() != "host"}
        status = self._upload_failures.popleft() if self._upload_failures else 201
        self.uploads.append(UploadRequest(name, request.rel_url.query_string, headers, body, status))
        if status >= 300:
            return web.json_response({"error": {"code": "Failed", "message": f"HTTP {status} from the fake"}}, status=status)
        return web.json_response({"name": name, "size": len(body)}, status=201)

    def _member(self, conversation_id: str, user_id: str) -> web.Response:
        member = self.members.get(user_id)
        status = 200 if member is not None else 404
        self.requests.append(ConnectorRequest("member", conversation_id, None, {"user": user_id}, status))
        if member is None:
            return web.json_response({"error": {"code": "MemberNotFoundInConversation", "message": user_id}}, status=404)
        return web.json_response(member)

    def _record(self, kind: str, conversation_id: str, activity_id: str | None, body: dict[str, Any]) -> web.Response:
        queue = self._failures.get(conversation_id)
        failure = queue.popleft() if queue else None
        if failure is not None:
            self.requests.append(ConnectorRequest(kind, conversation_id, activity_id, body, failure.status))
            headers = {"Retry-After": failure.retry_after} if failure.retry_after is not None else None
            error = {"error": {"code": "Failed", "message": f"HTTP {failure.status} from the fake connector"}}
            return web.json_response(error, status=failure.status, headers=headers)
        answered_id = activity_id if kind in ("update", "delete") else f"1:fake{next(self._ids)}"
        self.requests.append(ConnectorRequest(kind, conversation_id, activity_id, body, 200, answered_id))
        return web.json_response({"id": answered_id})
