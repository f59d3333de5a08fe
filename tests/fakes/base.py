"""Shared machinery of the fake providers: server thread, recording, scripted behaviours.

Every fake is a real aiohttp server on ``127.0.0.1`` running in a daemon thread with its
own event loop, so it works from sync tests, async tests and for a gateway running in
another process.  Provider modules only describe routes and payload shapes; everything
about timing (delays, stalls, disconnects, mid-stream errors) lives here so that all
providers behave the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import socket
import struct
import threading
import time
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Literal, Self

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

__all__ = [
    "Error",
    "FakeServer",
    "Frame",
    "Generation",
    "RecordedRequest",
    "Reply",
    "SentChunk",
    "ToolCall",
    "Usage",
    "count_words",
    "embedding_for",
    "split_chunks",
    "tiny_png",
]

Finish = Literal["stop", "length", "tool_calls", "stop_sequence"]


# ----------------------------------------------------------------------------- behaviours


@dataclass(frozen=True)
class ToolCall:
    """A tool/function call the fake model makes; rendered in each provider's format."""

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    """An object, or a raw string (OpenAI/Anthropic streams send it as-is, e.g. bad JSON)."""
    id: str | None = None
    """Call id; derived deterministically from name/arguments/position when omitted."""

    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), separators=(",", ":"), ensure_ascii=False)

    def arguments_obj(self) -> dict[str, Any]:
        if not isinstance(self.arguments, str):
            return dict(self.arguments)
        try:
            value = json.loads(self.arguments)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Usage:
    """Token usage override (default: whitespace-separated words in / out)."""

    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class Error:
    """Answer the next request with an HTTP error in the provider's own error envelope.

    Also used as the payload of a mid-stream error (``Reply(error_after=k, error=...)``).
    """

    status: int = 500
    message: str | None = None
    """Human text; a provider-typical default per status when omitted."""
    type: str | None = None
    """OpenAI ``error.type`` / Anthropic ``error.type`` / Google ``error.status`` /
    Stability ``name``; derived from ``status`` when omitted."""
    code: str | None = None
    """OpenAI ``error.code``."""
    param: str | None = None
    """OpenAI ``error.param``."""
    retry_after: float | None = None
    """Sent as the ``retry-after`` header (Gemini: a ``RetryInfo`` detail instead)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    """Raw JSON body to send instead of the provider envelope."""
    delay: float = 0.0
    """Seconds to wait before answering."""
    endpoint: str | None = None
    """Only consumed by a request whose path contains this substring."""


@dataclass(frozen=True)
class Reply:
    """Script the next successful answer (and, for streams, its timing and faults).

    A "chunk" is one content event: a text piece or a tool-call piece.  Framing events
    (``message_start``, the role chunk, ``[DONE]``...) are not counted.  The ``*_after=k``
    faults fire once ``k`` chunks have been sent (``k=0``: before the first one;
    ``k=len(chunks)``: after the last chunk, before the closing events).  On a
    non-streaming request, ``stall_after``/``disconnect_after`` (any value) hang or drop
    the connection before the response is sent.
    """

    text: str | None = None
    """Reply text; default ``"echo: <last user text>"``."""
    tool_calls: Sequence[ToolCall] = ()
    finish_reason: str | None = None
    """Provider-native finish/stop reason to report, e.g. ``"content_filter"``,
    ``"refusal"``, ``"SAFETY"``; derived when omitted."""
    chunks: Sequence[str] | None = None
    """Exact streamed text pieces (text defaults to their concatenation)."""
    usage: Usage | None = None
    embeddings: Sequence[Sequence[float]] | None = None
    """Vectors to return from an embeddings endpoint instead of the hash-derived ones."""
    block_reason: str | None = None
    """Gemini: answer with ``promptFeedback.blockReason`` and no candidates."""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds before the response headers are sent."""
    first_token_delay: float = 0.0
    """Seconds between the headers (and opening events) and the first chunk."""
    chunk_delay: float | None = None
    """Seconds between chunks (default: the fake's ``chunk_delay``)."""
    stall_after: int | None = None
    """Stop sending after k chunks, keep the connection open until ``fake.release()``,
    the client goes away, or the fake stops."""
    disconnect_after: int | None = None
    """Abort the TCP connection after k chunks (no terminating chunk/event)."""
    error_after: int | None = None
    """Send the provider's in-stream error event after k chunks, then end the stream."""
    error: Error | None = None
    """Error for ``error_after`` (default: a provider-typical 500/overloaded error)."""
    endpoint: str | None = None
    """Only consumed by a request whose path contains this substring."""


Behaviour = Reply | Error


# ----------------------------------------------------------------------------- records


@dataclass
class RecordedRequest:
    """One request as the fake received it."""

    index: int
    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDictProxy[str]
    body: Any
    """Parsed JSON body (``None`` when empty or not JSON)."""
    raw: bytes
    form: dict[str, str | bytes] | None
    """Multipart / urlencoded form fields (files as bytes)."""
    time: float
    """``time.monotonic()`` when the request arrived."""
    disconnected: bool = False
    """The client went away before the fake finished answering."""


@dataclass(frozen=True)
class SentChunk:
    """One write of a streamed response (``content_index`` is None for framing events)."""

    request_index: int
    seq: int
    content_index: int | None
    time: float
    """``time.monotonic()`` right after the bytes were handed to the socket (on Linux the
    monotonic clock is shared by all processes of the machine)."""
    data: bytes


@dataclass(frozen=True)
class Frame:
    """A piece of a streamed body; ``content`` frames are the countable chunks."""

    data: bytes
    content: bool = False


@dataclass
class Generation:
    """What the fake "model" answers, resolved from a Reply and the request."""

    text: str
    pieces: list[str]
    tool_calls: list[ToolCall]
    finish: Finish
    finish_override: str | None
    stop_sequence: str | None
    input_tokens: int
    output_tokens: int

    def finish_reason(self, mapping: Mapping[str, str]) -> str:
        return self.finish_override or mapping[self.finish]


# ----------------------------------------------------------------------------- helpers


def count_words(text: str) -> int:
    return len(text.split())


def split_chunks(text: str, chunk_size: int | None = None) -> list[str]:
    """One piece per word (leading whitespace kept), or fixed-size character pieces."""
    if not text:
        return []
    if chunk_size:
        return [text[i : i + chunk_size] for i in range(0, len(text), chunk_size)]
    pieces = re.findall(r"\s*\S+", text)
    rest = text[len("".join(pieces)) :]
    if rest:
        if pieces:
            pieces[-1] += rest
        else:
            pieces = [rest]
    return pieces


def embedding_for(text: str, dim: int = 8) -> list[float]:
    """Deterministic unit-ish vector from SHA-256 of the text; every value is exactly
    representable as float32, so float and base64 encodings decode to equal lists."""
    out: list[float] = []
    counter = 0
    while len(out) < dim:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        for (n,) in struct.iter_unpack("<I", digest):
            out.append(n / 0xFFFFFFFF * 2.0 - 1.0)
        counter += 1
    vec = out[:dim]
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [struct.unpack("<f", struct.pack("<f", v / norm))[0] for v in vec]


def tiny_png(seed: str = "", width: int = 4, height: int = 4) -> bytes:
    """A valid RGB PNG of one colour derived from ``seed``."""
    r, g, b = hashlib.sha256(seed.encode()).digest()[:3]
    row = b"\x00" + bytes((r, g, b)) * width
    raw = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def short_id(*parts: object, length: int = 24) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:length]


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


_REC = web.RequestKey("fake_rec", RecordedRequest)
_RESP = web.RequestKey("fake_resp", web.StreamResponse)
_SELF_CLOSED = web.RequestKey("fake_self_closed", bool)


class _Stop(Exception):
    """Raised inside a handler when the response must end right now."""


_STATUS_TEXT = {
    400: "Bad request",
    401: "Unauthorized",
    402: "Payment required",
    403: "Forbidden",
    404: "Not found",
    408: "Request timeout",
    409: "Conflict",
    413: "Request too large",
    422: "Unprocessable entity",
    429: "Rate limit exceeded",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
    529: "Overloaded",
}


def status_text(status: int) -> str:
    return _STATUS_TEXT.get(status, "Error")


# ----------------------------------------------------------------------------- server


class FakeServer:
    """Base class: lifecycle, request recording, behaviour queue and stream engine."""

    default_models: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: Sequence[str] | None = None,
        strict_models: bool = False,
        chunk_size: int | None = None,
        chunk_delay: float = 0.0,
        embedding_dim: int = 8,
    ) -> None:
        self.api_key = api_key
        """Required key; ``None`` accepts any non-empty key."""
        self.models: list[str] = list(models if models is not None else self.default_models)
        self.strict_models = strict_models
        """Reject models not in ``models`` with the provider's not-found error."""
        self.chunk_size = chunk_size
        """``None``: one streamed chunk per word; ``n``: n-character chunks."""
        self.chunk_delay = chunk_delay
        self.embedding_dim = embedding_dim
        self.default_reply: Reply | None = None
        """Used for requests with nothing queued (``None``: plain echo)."""

        self._lock = threading.Lock()
        self._queue: deque[Behaviour] = deque()
        self._requests: list[RecordedRequest] = []
        self._sent: list[SentChunk] = []
        self._disconnects = 0
        self._stalls = 0
        self._permits = 0
        self._closing = False
        self._files: dict[str, tuple[bytes, str]] = {}
        self._port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Start serving on a free loopback port (idempotent)."""
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        self._closing = False
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                loop.run_until_complete(self._serve(sock))
            except BaseException as exc:  # noqa: BLE001 - re-raised by start()
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(
            target=run, name=f"{type(self).__name__}:{self._port}", daemon=True
        )
        self._thread.start()
        if not ready.wait(10) or failure:
            self._thread = None
            raise RuntimeError(f"{type(self).__name__} failed to start") from (
                failure[0] if failure else None
            )
        return self

    def stop(self) -> None:
        """Stop serving; stalled or delayed streams are aborted."""
        thread, loop, runner = self._thread, self._loop, self._runner
        if thread is None or loop is None:
            return
        self._closing = True
        if runner is not None:
            fut = asyncio.run_coroutine_threadsafe(runner.cleanup(), loop)
            fut.result(timeout=15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=15)
        self._thread = self._loop = self._runner = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    async def _serve(self, sock: socket.socket) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=[self._middleware])
        self.setup_routes(app)
        app.router.add_get("/_fake/files/{name}", self._serve_file)
        app.router.add_route("*", "/{tail:.*}", self._unknown_route)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await runner.setup()
        await web.SockSite(runner, sock).start()
        self._runner = runner

    # ------------------------------------------------------------------ subclass hooks

    def setup_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def not_found(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": "not found"}, status=404)

    # ------------------------------------------------------------------ addresses

    @property
    def port(self) -> int:
        return self._port

    @property
    def root(self) -> str:
        """``http://127.0.0.1:PORT`` (no path)."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def url(self) -> str:
        """The base URL a client is configured with."""
        return self.root

    # ------------------------------------------------------------------ scripting

    def enqueue(self, *behaviours: Behaviour) -> None:
        """Queue behaviours, consumed FIFO by the next generation requests."""
        with self._lock:
            self._queue.extend(behaviours)

    def release(self, n: int = 1) -> None:
        """Let ``n`` stalled streams (current or future) continue."""
        with self._lock:
            self._permits += n

    def reset(self) -> None:
        """Forget requests, sent chunks, counters, queued behaviours and default_reply."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            self._sent.clear()
            self._disconnects = self._stalls = self._permits = 0
            self.default_reply = None

    @property
    def pending(self) -> int:
        """Behaviours still queued."""
        with self._lock:
            return len(self._queue)

    # ------------------------------------------------------------------ observation

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            if not self._requests:
                raise LookupError("no request recorded")
            return self._requests[-1]

    @property
    def sent(self) -> list[SentChunk]:
        with self._lock:
            return list(self._sent)

    @property
    def disconnects(self) -> int:
        """Client disconnects noticed while a response was still in progress."""
        with self._lock:
            return self._disconnects

    @property
    def stalls(self) -> int:
        """Streams that reached a ``stall_after`` point."""
        with self._lock:
            return self._stalls

    def chunks_sent(self, request_index: int | None = None) -> int:
        """Content chunks written so far (for one request, or all)."""
        return sum(
            1
            for c in self.sent
            if c.content_index is not None
            and (request_index is None or c.request_index == request_index)
        )

    def chunks_sent_before(self, t: float, request_index: int | None = None) -> int:
        """Content chunks written before monotonic time ``t``."""
        return sum(
            1
            for c in self.sent
            if c.content_index is not None
            and c.time < t
            and (request_index is None or c.request_index == request_index)
        )

    def wait_until(self, cond: Callable[[], bool], timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    async def wait_until_async(self, cond: Callable[[], bool], timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    def wait_for_requests(self, n: int = 1, timeout: float = 5.0) -> bool:
        return self.wait_until(lambda: len(self.requests) >= n, timeout)

    async def wait_for_requests_async(self, n: int = 1, timeout: float = 5.0) -> bool:
        return await self.wait_until_async(lambda: len(self.requests) >= n, timeout)

    def wait_for_disconnect(self, count: int = 1, timeout: float = 5.0) -> bool:
        return self.wait_until(lambda: self.disconnects >= count, timeout)

    async def wait_for_disconnect_async(self, count: int = 1, timeout: float = 5.0) -> bool:
        return await self.wait_until_async(lambda: self.disconnects >= count, timeout)

    def wait_for_stall(self, count: int = 1, timeout: float = 5.0) -> bool:
        return self.wait_until(lambda: self.stalls >= count, timeout)

    async def wait_for_stall_async(self, count: int = 1, timeout: float = 5.0) -> bool:
        return await self.wait_until_async(lambda: self.stalls >= count, timeout)

    # ------------------------------------------------------------------ request plumbing

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except _Stop:
            _abort(request)
            return _current_response(request)
        except ConnectionError:
            self._note_disconnect(request)
            return _current_response(request)
        except asyncio.CancelledError:
            if not self._closing and not request.get(_SELF_CLOSED):
                self._note_disconnect(request)
            raise

    async def _unknown_route(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        return await self.not_found(request)

    async def _serve_file(self, request: web.Request) -> web.StreamResponse:
        item = self._files.get(request.match_info["name"])
        if item is None:
            raise web.HTTPNotFound()
        return web.Response(body=item[0], content_type=item[1])

    def add_file(self, name: str, data: bytes, content_type: str) -> str:
        """Serve ``data`` at ``/_fake/files/<name>`` and return its absolute URL."""
        self._files[name] = (data, content_type)
        return f"{self.root}/_fake/files/{name}"

    async def record(self, request: web.Request) -> RecordedRequest:
        existing = request.get(_REC)
        if isinstance(existing, RecordedRequest):
            return existing
        body: Any = None
        raw = b""
        form: dict[str, str | bytes] | None = None
        if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = {}
            for key, value in (await request.post()).items():
                if isinstance(value, str):
                    form[key] = value
                elif isinstance(value, web.FileField):
                    form[key] = value.file.read()
                else:
                    form[key] = bytes(value)
        else:
            raw = await request.read()
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
        with self._lock:
            rec = RecordedRequest(
                index=len(self._requests),
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=CIMultiDictProxy(CIMultiDict(request.headers)),
                body=body,
                raw=raw,
                form=form,
                time=time.monotonic(),
            )
            self._requests.append(rec)
        request[_REC] = rec
        return rec

    def next_behaviour(self, path: str, *, listing: bool = False) -> Behaviour | None:
        """Pop the first queued behaviour applicable to ``path``.

        Listing endpoints (``listing=True``) only take behaviours with a matching
        ``endpoint``; other endpoints take unrestricted ones too.
        """
        with self._lock:
            for i, item in enumerate(self._queue):
                if (item.endpoint is None and not listing) or (
                    item.endpoint is not None and item.endpoint in path
                ):
                    del self._queue[i]
                    return item
        return None

    def reply_for(self, behaviour: Behaviour | None) -> Reply:
        if isinstance(behaviour, Reply):
            return behaviour
        return self.default_reply or Reply()

    def generate(
        self,
        reply: Reply,
        *,
        prompt: str,
        input_text: str,
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
        tool_id: Callable[[int, ToolCall], str] | None = None,
    ) -> Generation:
        """Resolve what the model says: echo default, stop sequences, max_tokens, usage."""
        text = reply.text
        if text is None:
            text = "".join(reply.chunks) if reply.chunks is not None else f"echo: {prompt}"
        pieces = list(reply.chunks) if reply.chunks is not None else None
        tool_calls = list(reply.tool_calls)
        finish: Finish = "tool_calls" if tool_calls else "stop"
        matched: str | None = None
        cut = min(((text.find(s), s) for s in stop if s and s in text), default=None)
        if cut is not None:
            text, matched = text[: cut[0]], cut[1]
            finish, tool_calls, pieces = "stop_sequence", [], None
        if isinstance(max_tokens, int) and count_words(text) > max_tokens:
            text = "".join(split_chunks(text)[: max(max_tokens, 0)])
            finish, tool_calls, pieces, matched = "length", [], None, None
        if pieces is None:
            pieces = split_chunks(text, self.chunk_size)
        if tool_id is not None:
            tool_calls = [
                tc if tc.id else ToolCall(tc.name, tc.arguments, tool_id(i, tc))
                for i, tc in enumerate(tool_calls)
            ]
        usage = reply.usage or Usage(
            count_words(input_text),
            count_words(text) + sum(count_words(tc.arguments_json()) for tc in tool_calls),
        )
        return Generation(
            text=text,
            pieces=pieces,
            tool_calls=tool_calls,
            finish=finish,
            finish_override=reply.finish_reason,
            stop_sequence=matched,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
        )

    def model_known(self, model: str) -> bool:
        return not self.strict_models or model in self.models

    # ------------------------------------------------------------------ responses

    async def send_error(
        self,
        request: web.Request,
        error: Error,
        render: Callable[[Error], Any],
        headers: Mapping[str, str] | None = None,
    ) -> web.StreamResponse:
        """Answer with ``error`` (body from ``render`` unless ``error.body`` is set)."""
        await self._sleep(error.delay)
        body = error.body if error.body is not None else render(error)
        out: dict[str, str] = dict(headers or {})
        if error.retry_after is not None:
            ra = error.retry_after
            out["retry-after"] = str(int(ra)) if float(ra).is_integer() else str(ra)
        out.update(error.headers)
        return web.json_response(body, status=error.status, headers=out, dumps=dumps)

    async def send_json(
        self,
        request: web.Request,
        reply: Reply,
        body: Any,
        *,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> web.StreamResponse:
        """Non-streaming answer, honouring delays and stall/disconnect faults."""
        await self._sleep(reply.delay + reply.first_token_delay)
        if reply.stall_after is not None:
            await self._stall(request)
        if reply.disconnect_after is not None:
            request[_SELF_CLOSED] = True
            raise _Stop
        out = {"Content-Type": content_type, **(headers or {}), **reply.headers}
        data = body if isinstance(body, bytes) else dumps(body).encode()
        return web.Response(body=data, headers=out)

    async def send_stream(
        self,
        request: web.Request,
        reply: Reply,
        frames: Sequence[Frame],
        *,
        content_type: str,
        error_frame: Callable[[Error], bytes],
        default_error: Error,
        headers: Mapping[str, str] | None = None,
    ) -> web.StreamResponse:
        """Stream ``frames`` applying the reply's delays and faults."""
        rec = await self.record(request)
        await self._sleep(reply.delay)
        resp = web.StreamResponse(
            headers={
                "Content-Type": content_type,
                "Cache-Control": "no-cache",
                **(headers or {}),
                **reply.headers,
            }
        )
        request[_RESP] = resp
        await resp.prepare(request)
        chunk_delay = self.chunk_delay if reply.chunk_delay is None else reply.chunk_delay
        total = sum(1 for f in frames if f.content)
        sent = 0
        tail_checked = False
        seq = 0

        async def checkpoint() -> bool:
            if reply.stall_after == sent:
                await self._stall(request)
            if reply.error_after == sent:
                await self._write(resp, rec, error_frame(reply.error or default_error), seq, None)
                await resp.write_eof()
                return False
            if reply.disconnect_after == sent:
                request[_SELF_CLOSED] = True
                raise _Stop
            return True

        for frame in frames:
            if frame.content or (sent == total and not tail_checked):
                tail_checked = not frame.content
                if not await checkpoint():
                    return resp
                if frame.content:
                    await self._sleep(reply.first_token_delay if sent == 0 else chunk_delay)
            await self._write(resp, rec, frame.data, seq, sent if frame.content else None)
            seq += 1
            if frame.content:
                sent += 1
        if not tail_checked and not await checkpoint():
            return resp
        await resp.write_eof()
        return resp

    async def _write(
        self,
        resp: web.StreamResponse,
        rec: RecordedRequest,
        data: bytes,
        seq: int,
        content_index: int | None,
    ) -> None:
        await resp.write(data)
        chunk = SentChunk(rec.index, seq, content_index, time.monotonic(), data)
        with self._lock:
            self._sent.append(chunk)

    async def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            if self._closing:
                raise _Stop
            left = deadline - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.02))

    async def _stall(self, request: web.Request) -> None:
        with self._lock:
            self._stalls += 1
        while True:
            with self._lock:
                if self._permits > 0:
                    self._permits -= 1
                    return
            if self._closing:
                request[_SELF_CLOSED] = True
                raise _Stop
            transport = request.transport
            if transport is None or transport.is_closing():
                raise ConnectionResetError("client went away during a stall")
            await asyncio.sleep(0.005)

    def _note_disconnect(self, request: web.Request) -> None:
        rec = request.get(_REC)
        with self._lock:
            self._disconnects += 1
            if isinstance(rec, RecordedRequest):
                rec.disconnected = True


def _current_response(request: web.Request) -> web.StreamResponse:
    resp = request.get(_RESP)
    return resp if isinstance(resp, web.StreamResponse) else web.Response(status=499)


def _abort(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + uuid.uuid4().hex[:length]


def now() -> int:
    return int(time.time())
