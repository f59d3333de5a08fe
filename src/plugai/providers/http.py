"""Shared HTTP plumbing for adapters: one aiohttp connection pool per provider instance,
SSE / NDJSON readers, and the status → error-tree mapping every adapter reuses.

aiohttp rather than httpx: on the gateway's hot path its client costs several times less
CPU per request (bench/http_clients.py measures both).
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import aiohttp
import orjson

from plugai.core.errors import (
    InvalidRequest,
    ModelNotFound,
    PayloadTooLarge,
    PlugAIError,
    ProviderError,
    UpstreamAuthError,
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from plugai.observability.tracing import outgoing_headers

if TYPE_CHECKING:
    from plugai.core.chat import ChatRequest
    from plugai.core.completions import CompletionRequest
    from plugai.core.credentials import Credentials

MessageOf = Callable[[Any], str | None]


@runtime_checkable
class RawStreams(Protocol):
    """An adapter whose upstream streams chunks in the canonical (OpenAI) shape already:
    the gateway relays their raw JSON, one list per network read, without decoding."""

    def relay_chat(
        self, request: ChatRequest, creds: Credentials
    ) -> AsyncIterator[list[bytes]]: ...

    def relay_complete(
        self, request: CompletionRequest, creds: Credentials
    ) -> AsyncIterator[list[bytes]]: ...


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 10.0
    read: float = 300.0  # between bytes: first token and stream idle
    total: float = 600.0


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after-ms")
    if value:
        try:
            return float(value) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def upstream_error(
    provider: str, status: int, body: bytes, headers: Mapping[str, str], message_of: MessageOf
) -> PlugAIError:
    """Map one upstream HTTP error to the most specific PlugAI error."""
    try:
        parsed: Any = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        parsed = None
    detail = (
        (message_of(parsed) if parsed is not None else None)
        or body[:300].decode("utf-8", "replace").strip()
        or f"HTTP {status}"
    )
    text = f"{provider}: {detail}"
    if status in (401, 403):
        return UpstreamAuthError(f"{provider} rejected the credentials: {detail}")
    if status == 404:
        return ModelNotFound(text)
    if status == 413:
        return PayloadTooLarge(text)
    if status == 429:
        return UpstreamRateLimited(text, retry_after=parse_retry_after(headers))
    if status in (408, 504):
        return UpstreamTimeout(text)
    if 400 <= status < 500:
        return InvalidRequest(text, code="upstream_invalid_request")
    unavailable = UpstreamUnavailable(text)
    unavailable.retry_after = parse_retry_after(headers)
    return unavailable


class HttpUpstream:
    """One provider instance's connection pool and error mapping."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        timeouts: Timeouts,
        max_connections: int,
        headers: Mapping[str, str] | None = None,
        message_of: MessageOf,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.timeouts = timeouts
        self.max_connections = max_connections
        self.headers = dict(headers or {})
        self.message_of = message_of
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.max_connections, ttl_dns_cache=300, keepalive_timeout=60
                ),
                timeout=aiohttp.ClientTimeout(
                    total=self.timeouts.total,
                    sock_connect=self.timeouts.connect,
                    sock_read=self.timeouts.read,
                ),
                json_serialize=lambda o: orjson.dumps(o).decode(),
                auto_decompress=True,
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _map_transport(self, exc: BaseException) -> ProviderError:
        if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
            return UpstreamTimeout(f"{self.provider}: no answer in time")
        if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
            return UpstreamProtocolError(f"{self.provider}: the connection broke: {exc}")
        return UpstreamUnavailable(f"{self.provider}: cannot connect: {exc}")

    @asynccontextmanager
    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Open a request; non-2xx answers raise the mapped error before the body is used."""
        url = path if path.startswith("http") else self.base_url + path
        body = orjson.dumps(json) if json is not None else data
        all_headers = {**self.headers, **outgoing_headers(), **(headers or {})}
        if json is not None:
            all_headers["Content-Type"] = "application/json"
        try:
            async with self.session().request(
                method, url, data=body, headers=all_headers, params=params
            ) as resp:
                if resp.status >= 400:
                    raw = await resp.read()
                    raise upstream_error(
                        self.provider, resp.status, raw, resp.headers, self.message_of
                    )
                yield resp
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise self._map_transport(exc) from exc

    async def json(self, method: str, path: str, **kw: Any) -> Any:
        async with self.request(method, path, **kw) as resp:
            raw = await resp.read()
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise UpstreamProtocolError(f"{self.provider}: answered with invalid JSON") from exc


async def sse_events(resp: aiohttp.ClientResponse) -> AsyncIterator[tuple[str | None, bytes]]:
    """Server-sent events as (event name, data) pairs; data lines of one event joined.

    Reads whatever bytes have arrived (``iter_any``) and splits lines in C: a line-by-line
    ``readline`` costs several microseconds per line, on every streamed token.
    """
    event: str | None = None
    data: list[bytes] = []
    pending = b""
    async for block in resp.content.iter_any():
        *lines, pending = (pending + block).split(b"\n")
        for raw in lines:
            line = raw[:-1] if raw[-1:] == b"\r" else raw
            if not line:
                if data:
                    yield event, b"\n".join(data)
                event, data = None, []
            elif line.startswith(b"data:"):
                data.append(line[6:] if line[5:6] == b" " else line[5:])
            elif line.startswith(b"event:"):
                event = line[6:].strip().decode()
            # comments (":") and other fields are ignored, as the SSE spec says
    line = pending.rstrip(b"\r")
    if line.startswith(b"data:"):
        data.append(line[6:] if line[5:6] == b" " else line[5:])
    if data:
        yield event, b"\n".join(data)


async def sse_data(resp: aiohttp.ClientResponse) -> AsyncIterator[list[bytes]]:
    """The data of each server-sent event, one list per block read from the network:
    what has arrived goes on together and nothing waits for more. Event names are
    dropped (the OpenAI stream has none).

    Events are cut at blank lines with one C-level split per block; only an event that is
    not a single ``data: …`` line (comments, several lines, other fields) is split into
    lines in Python.
    """
    pending = b""
    async for block in resp.content.iter_any():
        buf = pending + block if pending else block
        if b"\r" in buf:  # CRLF or CR line ends; a CR at the end may be half of a CRLF
            held = b"\r" if buf[-1:] == b"\r" else b""
            buf = buf[: len(buf) - len(held)].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            buf += held
        *events, pending = buf.split(b"\n\n")
        batch = []
        for event in events:
            simple = event[:6] == b"data: " and b"\n" not in event
            data = event[6:] if simple else _data_of(event)
            if data:
                batch.append(data)
        if batch:
            yield batch
    if data := _data_of(pending.rstrip(b"\r\n")):
        yield [data]


def _data_of(event: bytes) -> bytes:
    lines = event.split(b"\n")
    return b"\n".join(
        line[6:] if line[5:6] == b" " else line[5:] for line in lines if line[:5] == b"data:"
    )


async def ndjson_lines(resp: aiohttp.ClientResponse) -> AsyncIterator[Any]:
    """One JSON value per line (Ollama's streams), read block-wise like ``sse_events``."""
    pending = b""
    async for block in resp.content.iter_any():
        *lines, pending = (pending + block).split(b"\n")
        for raw in lines:
            if line := raw.strip():
                yield _json_line(line)
    if line := pending.strip():
        yield _json_line(line)


def _json_line(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise UpstreamProtocolError("upstream sent a line that is not JSON") from exc
