"""One pure-ASGI middleware for what every request needs, in a single pass:

request id, body size limit, API-key authentication of ``/v1`` (before any body is
read or parsed), the Prometheus HTTP metrics and one structured log line.

One exemption from the API key: ``GET``/``HEAD /v1/artifacts/{id}`` carrying a
``signature`` query parameter (a signed download link, for ``<img src>`` and plain
downloads); that route checks the signature itself and answers 403 when it is bad.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plugai.core.errors import AuthenticationFailed, PayloadTooLarge, PlugAIError
from plugai.observability import tracing
from plugai.observability.metrics import Metrics
from plugai.security.users import UserDirectory

log = structlog.get_logger("plugai.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_ARTIFACT_FILE = re.compile(r"^/v1/artifacts/art_[A-Za-z0-9]+$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _token(scope: Scope) -> str | None:
    auth = _header(scope, b"authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return _header(scope, b"x-api-key")  # what Anthropic clients send


def _signed_artifact_download(scope: Scope) -> bool:
    """A signed link to one artifact's file: the route verifies it instead of a key."""
    if scope["method"] not in ("GET", "HEAD") or not _ARTIFACT_FILE.match(scope["path"]):
        return False
    query = scope.get("query_string", b"").decode("latin-1")
    return "signature" in parse_qs(query)


async def _send_error(send: Send, exc: PlugAIError, request_id: str) -> None:
    body = json.dumps(
        {"error": {"message": exc.message, "type": exc.type, "param": exc.param, "code": exc.code}}
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    if exc.status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="plugai"'))
    headers += [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    def __init__(
        self, app: ASGIApp, *, metrics: Metrics, max_body_size: int, protected_prefix: str = "/v1"
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_size = max_body_size
        self.protected_prefix = protected_prefix

    def _needs_auth(self, path: str) -> bool:
        p = self.protected_prefix
        return path == p or path.startswith(p + "/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming_id = _header(scope, b"x-request-id")
        request_id = (
            incoming_id if incoming_id and _REQUEST_ID.match(incoming_id) else uuid.uuid4().hex
        )
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        trace = tracing.from_header(_header(scope, b"traceparent"))
        token = tracing.CURRENT.set(trace)
        status = 500
        response_started = False
        body_too_large = False
        received = 0
        limit = self.max_body_size
        id_header = (b"x-request-id", request_id.encode())

        async def limited_receive() -> Message:
            nonlocal received, body_too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    body_too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal status, response_started
            if body_too_large:
                return
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", []), id_header]
            await send(message)

        self.metrics.http_in_flight.inc()
        try:
            early: PlugAIError | None = None
            length = _header(scope, b"content-length")
            if length is not None and length.isdigit() and int(length) > limit:
                early = PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes.")
            elif (
                self._needs_auth(scope["path"])
                and scope["method"] != "OPTIONS"
                and not _signed_artifact_download(scope)
            ):
                early = await self._authenticate(scope, state)
            if early is not None:
                status = early.status
                await _send_error(send, early, request_id)
                return
            await self.app(scope, limited_receive, tracking_send)
            if body_too_large and not response_started:
                status = 413
                too_large = PayloadTooLarge(
                    f"Request body is larger than the limit of {limit} bytes."
                )
                await _send_error(send, too_large, request_id)
        finally:
            tracing.CURRENT.reset(token)
            elapsed = time.perf_counter() - started
            self.metrics.http_in_flight.dec()
            route_obj = scope.get("route")
            route = getattr(route_obj, "path", None) or (
                scope["path"] if scope["path"] in _QUIET_PATHS else "unmatched"
            )
            self.metrics.http_requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.http_duration.labels(scope["method"], route).observe(elapsed)
            emit = log.debug if scope["path"] in _QUIET_PATHS else log.info
            emit(
                "request",
                request_id=request_id,
                trace_id=trace.trace_id,
                user_id=state.get("user_id"),
                method=scope["method"],
                route=route,
                status=status,
                latency_ms=round(elapsed * 1000, 2),
                **state.get("log", {}),
            )

    async def _authenticate(self, scope: Scope, state: dict[str, Any]) -> PlugAIError | None:
        token = _token(scope)
        if not token:
            return AuthenticationFailed(
                "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'.",
                code="missing_api_key",
            )
        users: UserDirectory = scope["app"].state.users
        try:
            principal = await users.authenticate(token)
        except PlugAIError as exc:
            return exc
        state["principal"] = principal
        state["user_id"] = principal.user_id
        return None
