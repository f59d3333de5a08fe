"""HTTP plumbing shared by every resource: configuration, one pooled httpx client per
PlugAI instance, retries with exponential backoff (honouring ``Retry-After``), error
mapping, and server-sent events."""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import random
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from plugai_client.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    error_from_body,
    stream_error,
)

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=10.0)
DEFAULT_MAX_RETRIES = 2
RETRY_STATUSES = frozenset({429, 502, 503, 504})
BACKOFF_BASE = 0.5  # seconds; doubled per attempt
BACKOFF_MAX = 8.0
RETRY_AFTER_MAX = 60.0
Query = Mapping[str, str | int | float | None]


@dataclass(frozen=True)
class Config:
    """Resolved client options (arguments > ``PLUGAI_*`` environment > defaults)."""

    base_url: str
    api_key: str | None
    timeout: httpx.Timeout
    max_retries: int
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def resolve(
        cls,
        base_url: str | None,
        api_key: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        headers: Mapping[str, str] | None,
    ) -> Config:
        url = base_url or os.environ.get("PLUGAI_BASE_URL") or DEFAULT_BASE_URL
        url = url.rstrip("/").removesuffix("/v1")  # OpenAI-style base URLs work too
        key = api_key if api_key is not None else os.environ.get("PLUGAI_API_KEY") or None
        if timeout is None:
            timeout = DEFAULT_TIMEOUT
        elif not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(timeout)
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        return cls(url, key, timeout, max_retries, dict(headers or {}))

    def request_headers(self) -> dict[str, str]:
        out = {"Accept": "application/json", "User-Agent": "plugai-client/0.1", **self.headers}
        if self.api_key:
            out["Authorization"] = f"Bearer {self.api_key}"
        return out


def retry_delay(attempt: int, response: httpx.Response | None) -> float:
    """Seconds before retry number ``attempt + 1``: the server's ``Retry-After`` when it
    sends one (seconds or an HTTP date, capped), else exponential backoff with jitter."""
    value = response.headers.get("retry-after") if response is not None else None
    if value:
        try:
            seconds = float(value)
        except ValueError:
            try:
                seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError):
                seconds = -1.0
        if seconds >= 0:
            return min(seconds, RETRY_AFTER_MAX)
    backoff = min(BACKOFF_MAX, BACKOFF_BASE * 2.0**attempt)
    return backoff * (1 - 0.25 * random.random())


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def raise_for(response: httpx.Response) -> None:
    """Raise the mapped :class:`APIStatusError` for a non-2xx response (body already read)."""
    if response.is_success:
        return
    body = _body(response)
    fallback = body[:200] if isinstance(body, str) else ""
    raise error_from_body(response.status_code, body, response.headers, fallback=fallback)


def _connection_error(exc: httpx.TransportError, url: str) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"Request to {url} timed out: {exc!r}")
    return APIConnectionError(f"Cannot reach {url}: {exc}")


def sse_data(lines: Iterator[str]) -> Iterator[str]:
    """The ``data`` of each server-sent event (multi-line data joined with newlines)."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield "\n".join(data)


async def asse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield "\n".join(data)


def decode_event(
    data: str, request_id: str | None, *, errors: bool = True
) -> dict[str, Any] | None:
    """One event's JSON object; ``None`` at ``[DONE]``; an error event raises (unless
    ``errors`` is false: a job's event carries its own ``error`` object)."""
    if data.strip() == "[DONE]":
        return None
    obj = json.loads(data)
    # an error event is {"error": {…}}; other events may carry a null "error" field
    is_error = isinstance(obj, dict) and isinstance(obj.get("error"), dict)
    if errors and is_error and "choices" not in obj:
        raise stream_error(obj, request_id)
    if not isinstance(obj, dict):
        raise APIStatusError(f"Unexpected stream event: {data[:200]}", request_id=request_id)
    return obj


Extra = tuple[Mapping[str, str] | None, bool]  # (extra headers, send the API key)


def build_request(
    http: httpx.Client | httpx.AsyncClient,
    config: Config,
    method: str,
    path: str,
    body: Any,
    params: Query | None,
    extra: Extra,
) -> httpx.Request:
    """``path`` is under the base URL, or an absolute URL (a signed artifact link); the API
    key goes only with ``auth`` and only to the configured server."""
    headers, auth = extra
    query = {k: v for k, v in (params or {}).items() if v is not None}
    absolute = path.startswith(("http://", "https://"))
    url = path if absolute else config.base_url + path
    out = config.request_headers()
    if not auth or (absolute and not same_origin(url, config.base_url)):
        out.pop("Authorization", None)
    out.update(headers or {})
    return http.build_request(
        method, url, json=body, params=query or None, headers=out, timeout=config.timeout
    )


def same_origin(url: str, base_url: str) -> bool:
    a, b = httpx.URL(url), httpx.URL(base_url)
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def past_deadline(deadline: float | None, response: httpx.Response) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise APITimeoutError(
            f"Gave up waiting on {response.url} (timeout reached).",
            request_id=response.headers.get("x-request-id"),
        )


class SyncTransport:
    """Sends requests with one pooled :class:`httpx.Client`, retrying what may succeed later."""

    def __init__(self, config: Config, http_client: httpx.Client | None = None) -> None:
        self.config = config
        self._owned = http_client is None
        self.http = http_client or httpx.Client(timeout=config.timeout)

    def _build(
        self, method: str, path: str, body: Any, params: Query | None, extra: Extra
    ) -> httpx.Request:
        return build_request(self.http, self.config, method, path, body, params, extra)

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Query | None = None,
        stream: bool = False,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> httpx.Response:
        """A successful response (streamed responses still open); errors raise."""
        attempt = 0
        while True:
            request = self._build(method, path, body, params, (headers, auth))
            try:
                response = self.http.send(request, stream=stream)
            except httpx.TransportError as exc:
                if attempt >= self.config.max_retries:
                    raise _connection_error(exc, str(request.url)) from exc
                time.sleep(retry_delay(attempt, None))
                attempt += 1
                continue
            if response.is_success:
                return response
            response.read()
            response.close()
            if response.status_code in RETRY_STATUSES and attempt < self.config.max_retries:
                time.sleep(retry_delay(attempt, response))
                attempt += 1
                continue
            raise_for(response)

    def json(self, method: str, path: str, *, body: Any = None, params: Query | None = None) -> Any:
        return self.send(method, path, body=body, params=params).json()

    def events(
        self,
        path: str,
        body: Any,
        *,
        method: str = "POST",
        errors: bool = True,
        deadline: float | None = None,
    ) -> tuple[httpx.Response, Iterator[dict[str, Any]]]:
        """POST ``body`` (or GET, by ``method``) and iterate the decoded events of the
        server-sent stream; past ``deadline`` (``time.monotonic()``), checked on every line
        received, :class:`APITimeoutError` is raised."""
        response = self.send(method, path, body=body, stream=True)
        request_id = response.headers.get("x-request-id")

        def lines() -> Iterator[str]:
            for line in response.iter_lines():
                past_deadline(deadline, response)
                yield line

        def events() -> Iterator[dict[str, Any]]:
            try:
                for data in sse_data(lines()):
                    event = decode_event(data, request_id, errors=errors)
                    if event is None:
                        return
                    yield event
            except httpx.TransportError as exc:
                raise _connection_error(exc, str(response.url)) from exc
            finally:
                response.close()

        return response, events()

    def close(self) -> None:
        if self._owned:
            self.http.close()


class AsyncTransport:
    """The asyncio twin of :class:`SyncTransport` (one pooled :class:`httpx.AsyncClient`)."""

    def __init__(self, config: Config, http_client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._owned = http_client is None
        self.http = http_client or httpx.AsyncClient(timeout=config.timeout)

    def _build(
        self, method: str, path: str, body: Any, params: Query | None, extra: Extra
    ) -> httpx.Request:
        return build_request(self.http, self.config, method, path, body, params, extra)

    async def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Query | None = None,
        stream: bool = False,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> httpx.Response:
        attempt = 0
        while True:
            request = self._build(method, path, body, params, (headers, auth))
            try:
                response = await self.http.send(request, stream=stream)
            except httpx.TransportError as exc:
                if attempt >= self.config.max_retries:
                    raise _connection_error(exc, str(request.url)) from exc
                await asyncio.sleep(retry_delay(attempt, None))
                attempt += 1
                continue
            if response.is_success:
                return response
            await response.aread()
            await response.aclose()
            if response.status_code in RETRY_STATUSES and attempt < self.config.max_retries:
                await asyncio.sleep(retry_delay(attempt, response))
                attempt += 1
                continue
            raise_for(response)

    async def json(
        self, method: str, path: str, *, body: Any = None, params: Query | None = None
    ) -> Any:
        return (await self.send(method, path, body=body, params=params)).json()

    async def events(
        self,
        path: str,
        body: Any,
        *,
        method: str = "POST",
        errors: bool = True,
        deadline: float | None = None,
    ) -> tuple[httpx.Response, AsyncIterator[dict[str, Any]]]:
        response = await self.send(method, path, body=body, stream=True)
        request_id = response.headers.get("x-request-id")

        async def lines() -> AsyncIterator[str]:
            async for line in response.aiter_lines():
                past_deadline(deadline, response)
                yield line

        async def events() -> AsyncIterator[dict[str, Any]]:
            try:
                async for data in asse_data(lines()):
                    event = decode_event(data, request_id, errors=errors)
                    if event is None:
                        return
                    yield event
            except httpx.TransportError as exc:
                raise _connection_error(exc, str(response.url)) from exc
            finally:
                await response.aclose()

        return response, events()

    async def close(self) -> None:
        if self._owned:
            await self.http.aclose()
