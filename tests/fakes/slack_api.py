"""A fake Slack Web API on 127.0.0.1 that records every call, for tests and benchmarks.

It serves the methods clipbot calls (auth.test, chat.postMessage, chat.update, chat.postEphemeral,
conversations.open, views.open, views.publish, users.info, users.lookupByEmail, oauth.v2.access,
files.getUploadURLExternal, files.completeUploadExternal) with responses of Slack's shape, private
file downloads under /files/ and file uploads under /upload/. A test sets up users, files,
failures and rate limits, points SLACK_API_URL at `base_url`, and reads `calls`, `posts` and
`uploads` afterwards.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_TOKEN = "xoxb-test-bot-token"
TEAM_ID = "T0001"
BOT_USER_ID = "UBOT0001"
BOT_ID = "B0001"


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One request to the fake: the Web API method, its arguments and the bearer token sent."""

    method: str
    arguments: Mapping[str, Any]
    token: str | None
    status: int = 200


@dataclass(slots=True)
class FakeUser:
    id: str
    email: str | None = None
    team_id: str = TEAM_ID
    deleted: bool = False


@dataclass(slots=True)
class UploadedFile:
    """A file uploaded through files.getUploadURLExternal; `channel` and `title` are set once it is completed."""

    file_id: str
    filename: str
    length: int
    content: bytes | None = None
    channel: str | None = None
    title: str | None = None
    initial_comment: str | None = None


@dataclass(slots=True)
class FakeSlackApi:
    """The fake API's state. Start it with `start()` and stop it with `stop()`.

    `failures` maps (method, target) to a Slack error code, where the target is the channel of a
    chat method, the user of conversations.open or users.info, or "*" for every call of the method.
    `rate_limits` maps a method to the Retry-After values of its next 429 answers, one per call.
    """

    bot_token: str = BOT_TOKEN
    team_id: str = TEAM_ID
    calls: list[ApiCall] = field(default_factory=list)
    users: dict[str, FakeUser] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    rate_limits: dict[str, deque[int]] = field(default_factory=dict)
    installed_tokens: set[str] = field(default_factory=set)
    uploads: dict[str, UploadedFile] = field(default_factory=dict)
    # The current text of each message posted with chat.postMessage, by (channel, ts); chat.update changes it.
    posts: dict[tuple[str, str], str] = field(default_factory=dict)
    base_url: str = ""
    _runner: web.AppRunner | None = None
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def start(self) -> str:
        """Listen on a free port of 127.0.0.1 and return the Web API base URL, ending with '/'."""
        application = web.Application()
        application.router.add_post("/api/{method}", self._api)
        application.router.add_get("/api/{method}", self._api)
        application.router.add_get("/files/{file_id}/{name}", self._download)
        application.router.add_post("/upload/{file_id}", self._upload)
        self._runner = web.AppRunner(application, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/api/"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def add_user(self, user_id: str, email: str | None = None, *, deleted: bool = False) -> FakeUser:
        user = FakeUser(user_id, email, self.team_id, deleted)
        self.users[user_id] = user
        return user

    def add_file(self, file_id: str, name: str, content: bytes) -> dict[str, Any]:
        """Store a file and return its object as Slack puts it in a file_share message event."""
        self.files[f"{file_id}/{name}"] = content
        origin = self.base_url.removesuffix("api/")
        return {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": "text/csv",
            "filetype": "csv",
            "size": len(content),
            "url_private": f"{origin}files/{file_id}/{name}",
            "url_private_download": f"{origin}files/{file_id}/{name}",
        }

    def fail(self, method: str, target: str, error: str) -> None:
        self.failures[(method, target)] = error

    def rate_limit(self, method: str, *retry_after: int) -> None:
        """Answer the next calls of `method` with 429 and these Retry-After values, then normally."""
        self.rate_limits.setdefault(method, deque()).extend(retry_after)

    def calls_to(self, method: str, *, succeeded: bool = True) -> list[ApiCall]:
        """Return the calls of one method in order; only those answered with 200 unless `succeeded` is False."""
        return [call for call in self.calls if call.method == method and (call.status == 200 or not succeeded)]

    def messages_to(self, channel: str) -> list[ApiCall]:
        return [call for call in self.calls_to("chat.postMessage") if call.arguments.get("channel") == channel]

    def deactivate(self, user_id: str) -> None:
        """Deactivate a user: conversations.open with them then fails with user_disabled, as in Slack."""
        self.users[user_id].deleted = True
        self.fail("conversations.open", user_id, "user_disabled")

    def uploads_to(self, channel: str) -> list[UploadedFile]:
        """Return the completed uploads shared to `channel`, in the order they were started."""
        return [upload for upload in self.uploads.values() if upload.channel == channel]

    async def _arguments(self, request: web.Request) -> dict[str, Any]:
        arguments: dict[str, Any] = dict(request.query)
        if request.method != "POST" or not request.can_read_body:
            return arguments
        if request.content_type == "application/json":
            arguments.update(await request.json())
        else:
            arguments.update(await request.post())
        return arguments

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        arguments = await self._arguments(request)
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else arguments.get("token")

        queued = self.rate_limits.get(method)
        if queued:
            retry_after = queued.popleft()
            self.calls.append(ApiCall(method, arguments, token, 429))
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)}
            )

        self.calls.append(ApiCall(method, arguments, token))
        if method != "oauth.v2.access" and token not in {self.bot_token, *self.installed_tokens}:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        answer = getattr(self, "_" + method.replace(".", "_"), None)
        if answer is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        failure = self._failure(method, arguments)
        if failure is not None:
            return web.json_response({"ok": False, "error": failure})
        try:
            return web.json_response({"ok": True, **answer(arguments)})
        except _SlackError as error:
            return web.json_response({"ok": False, "error": error.error})

    def _failure(self, method: str, arguments: Mapping[str, Any]) -> str | None:
        target = str(arguments.get("channel") or arguments.get("users") or arguments.get("user") or "")
        return self.failures.get((method, target)) or self.failures.get((method, "*"))

    def _next_ts(self) -> str:
        return f"1772442400.{next(self._numbers):06d}"

    def _auth_test(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://st-elsewhere.slack.com/", "team": "St Elsewhere", "user": "clipbot",
            "team_id": self.team_id, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False,
        }

    def _chat_postMessage(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        ts = self._next_ts()
        self.posts[(str(arguments.get("channel")), ts)] = str(arguments.get("text"))
        return {"channel": arguments.get("channel"), "ts": ts, "message": {"text": arguments.get("text"), "ts": ts}}

    def _chat_update(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        key = (str(arguments.get("channel")), str(arguments.get("ts")))
        if key not in self.posts:
            raise _SlackError("message_not_found")
        self.posts[key] = str(arguments.get("text"))
        return {"channel": key[0], "ts": key[1], "text": arguments.get("text")}

    def _chat_postEphemeral(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        return {"message_ts": self._next_ts()}

    def _conversations_open(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        user = str(arguments.get("users", ""))
        return {"channel": {"id": "D" + user.removeprefix("U")}}

    def _views_open(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        view = arguments.get("view")
        view = json.loads(view) if isinstance(view, str) else dict(view or {})
        number = next(self._numbers)
        return {"view": {**view, "id": f"V{number:04d}", "hash": f"1772442400.h{number:04d}"}}

    def _views_publish(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        view = arguments.get("view")
        return {"view": json.loads(view) if isinstance(view, str) else view}

    def _user_object(self, user: FakeUser) -> dict[str, Any]:
        profile = {"email": user.email} if user.email else {}
        return {"id": user.id, "team_id": user.team_id, "deleted": user.deleted, "is_bot": False, "profile": profile}

    def _users_info(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(arguments.get("user", "")))
        if user is None:
            raise _SlackError("user_not_found")
        return {"user": self._user_object(user)}

    def _users_lookupByEmail(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        email = str(arguments.get("email", "")).casefold()
        for user in self.users.values():
            if user.email and user.email.casefold() == email:
                return {"user": self._user_object(user)}
        raise _SlackError("users_not_found")

    def _oauth_v2_access(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        token = f"xoxb-installed-{arguments.get('code', '')}"
        self.installed_tokens.add(token)
        return {
            "app_id": "A0001", "authed_user": {"id": "U0001"}, "scope": "chat:write,commands",
            "token_type": "bot", "access_token": token, "bot_user_id": BOT_USER_ID,
            "team": {"id": self.team_id, "name": "St Elsewhere"}, "enterprise": None, "is_enterprise_install": False,
        }

    def _files_getUploadURLExternal(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._numbers):04d}"
        try:
            length = int(arguments.get("length", ""))
        except ValueError:
            raise _SlackError("invalid_arguments") from None
        self.uploads[file_id] = UploadedFile(file_id, str(arguments.get("filename") or ""), length)
        origin = self.base_url.removesuffix("api/")
        return {"upload_url": f"{origin}upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        """Store the bytes of a file posted to the URL that files.getUploadURLExternal returned, which takes no token."""
        file_id = request.match_info["file_id"]
        content = await request.read()
        upload = self.uploads.get(file_id)
        self.calls.append(ApiCall("upload_url", {"file": file_id, "length": len(content)}, None))
        if upload is None:
            return web.Response(status=404, text="unknown upload URL")
        upload.content = content
        return web.Response(text=f"OK - {len(content)}")

    def _files_completeUploadExternal(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        listed = arguments.get("files")
        listed = json.loads(listed) if isinstance(listed, str) else list(listed or [])
        channel = arguments.get("channel_id") or None
        completed: list[dict[str, Any]] = []
        for item in listed:
            upload = self.uploads.get(str(item.get("id", "")))
            if upload is None or upload.content is None:
                raise _SlackError("file_not_found")
            upload.channel = channel
            upload.title = item.get("title") or upload.filename
            upload.initial_comment = arguments.get("initial_comment") or None
            completed.append({
                "id": upload.file_id, "name": upload.filename, "title": upload.title, "size": upload.length,
                "channels": [channel] if channel else [],
            })
        return {"files": completed}

    async def _download(self, request: web.Request) -> web.StreamResponse:
        key = f"{request.match_info['file_id']}/{request.match_info['name']}"
        header = request.headers.get("Authorization", "")
        self.calls.append(ApiCall("files.download", {"file": key}, header.removeprefix("Bearer ") or None))
        if header.removeprefix("Bearer ") not in {self.bot_token, *self.installed_tokens}:
            return web.Response(status=403)
        if key not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[key], content_type="text/csv")


class _SlackError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error
