"""The service's door: the API key, body and record limits, content types, and one error shape.

A pure ASGI middleware in front of BentoML's routes. Every 4xx leaves in one documented shape,
`{"error": text, "field": path or null}`, and one log line; the key is compared in constant time
and never logged.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger("serving.requests")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# Always open: a load balancer or Prometheus checks them without a key.
OPEN_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/metrics"})
# The spec and its UI are open too: they say how to call, not what a model knows.
DOC_PATHS = frozenset({"/", "/docs", "/docs.json", "/favicon.ico"})
# Request fields whose length is the number of followers (or leads) in a request.
RECORD_FIELDS = ("followers", "leads", "profiles")
ERROR_STATUSES = ("400", "401", "413", "415")


@dataclass(frozen=True)
class Limits:
    """What one request may carry; from LEADSCORE_* environment variables, with defaults."""

    api_key: str | None = None
    max_records: int = 10_000
    max_events: int = 1_000_000
    max_body_bytes: int = 64 * 1024 * 1024

    @classmethod
    def from_env(cls, env: MutableMapping[str, str] | None = None) -> Limits:
        """LEADSCORE_API_KEY (or LEADSCORE_API_KEY_FILE), LEADSCORE_MAX_FOLLOWERS,
        LEADSCORE_MAX_EVENTS, LEADSCORE_MAX_BODY_MB."""
        env = os.environ if env is None else env
        key = env.get("LEADSCORE_API_KEY") or None
        if key is None and env.get("LEADSCORE_API_KEY_FILE"):
            key = Path(env["LEADSCORE_API_KEY_FILE"]).read_text().strip() or None
        return cls(
            api_key=key,
            max_records=int(env.get("LEADSCORE_MAX_FOLLOWERS", cls.max_records)),
            max_events=int(env.get("LEADSCORE_MAX_EVENTS", cls.max_events)),
            max_body_bytes=int(float(env.get("LEADSCORE_MAX_BODY_MB", 64)) * 1024 * 1024),
        )


class Rejected(Exception):
    """A request turned away before the routes see it."""

    def __init__(self, status: int, error: str, field: str | None = None) -> None:
        super().__init__(error)
        self.status, self.error, self.field = status, error, field


class Guard:
    """ASGI middleware: checks each request, then rewrites 4xx replies into the one shape."""

    def __init__(self, app: App, limits: Limits | None = None) -> None:
        self.app = app
        self.limits = limits or Limits.from_env()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        try:
            self._check_key(scope, path)
            if path in OPEN_PATHS or path in DOC_PATHS or scope["method"] != "POST":
                await self._forward(scope, receive, send, path)
                return
            _check_content_type(scope)
            body = await self._read_body(scope, receive)
            self._check_records(body)
        except Rejected as rejected:
            await _reply(send, rejected.status, rejected.error, rejected.field, scope)
            return
        await self._forward(scope, _replay(body), send, path)

    def _check_key(self, scope: Scope, path: str) -> None:
        key = self.limits.api_key
        if key is None or path in OPEN_PATHS or path in DOC_PATHS:
            return
        given = _header(scope, b"authorization")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), key):
            raise Rejected(401, "missing or wrong API key: send Authorization: Bearer <key>")

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.limits.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            raise Rejected(413, f"body of {int(declared):,} bytes is over the {limit:,}-byte limit")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Rejected(400, "the client went away before the body was read")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise Rejected(413, f"body over the {limit:,}-byte limit")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _check_records(self, body: bytes) -> None:
        limits = self.limits
        if body.count(b",") < min(limits.max_records, limits.max_events):
            # No list in it can be over a limit (n items need n - 1 commas): parsing the whole
            # body here would cost as much as the route's own parsing of it.
            return
        try:
            payload = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError) as error:
            raise Rejected(400, f"the body is not JSON: {error}") from None
        if not isinstance(payload, dict):
            raise Rejected(400, 'the body must be a JSON object, e.g. {"followers": [...]}')
        for field in (*RECORD_FIELDS, "events"):
            records = payload.get(field)
            most = limits.max_events if field == "events" else limits.max_records
            if isinstance(records, list) and len(records) > most:
                raise Rejected(
                    413,
                    f"{len(records):,} {field} in one request; the limit is {most:,} "
                    "(send them in several requests)",
                    field,
                )

    async def _forward(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        """Call the routes; a 4xx reply is rewritten into the one shape, the spec is patched."""
        started: Message = {}
        buffered: list[bytes] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                if 400 <= status < 500 or path == "/docs.json" and status == 200:
                    started.update(message)
                    return
                await send(message)
            elif started:
                buffered.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._finish(send, started, b"".join(buffered), path, scope)
            else:
                await send(message)

        await self.app(scope, receive, watch)

    async def _finish(
        self, send: Send, started: Message, body: bytes, path: str, scope: Scope
    ) -> None:
        status = started["status"]
        if status == 200:  # /docs.json
            await _send_json(send, 200, patch_spec(json.loads(body)))
            return
        error, field = _error_of(body)
        await _reply(send, status, error, field, scope)


def _check_content_type(scope: Scope) -> None:
    kind = _header(scope, b"content-type").split(";")[0].strip().lower()
    if kind != "application/json":
        shown = kind or "none"
        raise Rejected(415, f"Content-Type {shown!r}: send application/json")


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


_NAMED = re.compile(r"([A-Za-z_][\w ]*\[\d+\](?:\.\w+)*): ")


def _error_of(body: bytes) -> tuple[str, str | None]:
    """BentoML's error bodies (text, {"error"}, or pydantic's {"detail": [...]}) as the text
    and the field at fault."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip() or "bad request", None
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        payload = payload[0]  # BentoML 1.4 sends its own 4xx errors as a one-item list
    if not isinstance(payload, dict):
        return str(payload), None
    details = payload.get("detail")
    if isinstance(details, list) and details and isinstance(details[0], dict):
        first = details[0]
        field = _location(first.get("loc", ()))
        more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        if not field:  # the body as a whole: broken JSON, or not an object
            return f"the body: {message}{more}", None
        return f"{field}: {message}{more}", field
    error = str(payload.get("error") or payload.get("detail") or "bad request")
    # Our own checks start their text with the place: "profiles[1]: duplicate follower_id 'a'".
    named = _NAMED.match(error)
    return error, named.group(1) if named else None


def _location(parts: Any) -> str:
    """("leads", 0, "created") as "leads[0].created"."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f"{'.' if text else ''}{part}"
    return text


async def _reply(send: Send, status: int, error: str, field: str | None, scope: Scope) -> None:
    # One line per rejected request: what, where, why; never the key, never a traceback.
    logger.warning("%s %s %s: %s", status, scope.get("method"), scope.get("path"), error)
    headers = [(b"www-authenticate", b"Bearer")] if status == 401 else []
    await _send_json(send, status, {"error": error, "field": field}, headers)


async def _send_json(
    send: Send, status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(payload).encode()
    start = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": start + (headers or [])}
    )
    await send({"type": "http.response.body", "body": body})


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Error",
    "description": "Every 4xx reply: what is wrong, and the field at fault when there is one.",
    "required": ["error", "field"],
    "properties": {
        "error": {"type": "string"},
        "field": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
}
_ERROR_WORDS = {
    "400": "Bad input: the field at fault is named.",
    "401": "Missing or wrong API key (when the service has one).",
    "413": "Too many followers or too large a body.",
    "415": "Content-Type is not application/json.",
}


def patch_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI spec with the one error shape declared for every route's 4xx replies."""
    spec.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, methods in spec.get("paths", {}).items():
        if path in OPEN_PATHS or path in DOC_PATHS:
            continue
        for operation in methods.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status in ERROR_STATUSES:
                responses[status] = {"description": _ERROR_WORDS[status], "content": reference}
    return spec
