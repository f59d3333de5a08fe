"""A fast fake OpenAI upstream for the benchmarks: a bare asyncio protocol on uvloop.

    .venv/bin/python bench/fake_upstream.py --port 9000

``POST /v1/chat/completions`` answers a fixed small ``chat.completion``; with
``"stream": true`` it answers, in one write and with no delays, an SSE stream of exactly
``CHUNKS`` ``chat.completion.chunk`` events, one usage chunk and ``data: [DONE]`` (chunked
transfer encoding, one HTTP chunk per event, as real upstreams send them).
``GET /v1/models`` lists ``bench-model``. Every answer is built once at import, so the
server costs a few microseconds per request and is never the bottleneck.

``--pace MS`` writes a stream's events one by one, ``MS`` milliseconds apart, as a model
producing tokens does: a reader then gets one event per read instead of the whole stream.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import cast

import orjson

CHUNKS = 20
MODEL = "bench-model"
USAGE = {"prompt_tokens": 12, "completion_tokens": CHUNKS, "total_tokens": 12 + CHUNKS}


def _http(status: str, content_type: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def _completion() -> bytes:
    return orjson.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello from the fake upstream."},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": USAGE,
        }
    )


def _chunk(index: int) -> dict[str, object]:
    delta = {"role": "assistant", "content": ""} if index == 0 else {"content": f"tok{index} "}
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "delta": delta,
                "logprobs": None,
                "finish_reason": "stop" if index == CHUNKS - 1 else None,
            }
        ],
    }


def _stream_pieces() -> list[bytes]:
    """The stream's writes: headers with the first event, each further event, the end."""
    usage = {**_chunk(0), "choices": [], "usage": USAGE}
    events = [b"data: " + orjson.dumps(_chunk(i)) + b"\n\n" for i in range(CHUNKS)]
    events += [b"data: " + orjson.dumps(usage) + b"\n\n", b"data: [DONE]\n\n"]
    pieces = [b"%x\r\n%s\r\n" % (len(e), e) for e in events]
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
    pieces[0] = head + b"\r\n" + pieces[0]
    pieces[-1] += b"0\r\n\r\n"
    return pieces


COMPLETION = _http("200 OK", "application/json", _completion())
STREAM_PIECES = _stream_pieces()
STREAM = b"".join(STREAM_PIECES)
PACE = 0.0  # seconds between a stream's events (--pace)
MODELS = _http(
    "200 OK",
    "application/json",
    orjson.dumps({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "x"}]}),
)
NOT_FOUND = _http("404 Not Found", "application/json", b'{"error":{"message":"not found"}}')
BAD = _http("400 Bad Request", "application/json", b'{"error":{"message":"bad request"}}')


def answer(request_line: bytes, body: bytes) -> bytes:
    if request_line.startswith(b"POST /v1/chat/completions "):
        try:
            stream = orjson.loads(body).get("stream") is True
        except (orjson.JSONDecodeError, AttributeError):
            return BAD
        return STREAM if stream else COMPLETION
    if request_line.startswith(b"GET /v1/models "):
        return MODELS
    return NOT_FOUND


class _Connection(asyncio.Protocol):
    """HTTP/1.1 keep-alive with Content-Length bodies (what every client here sends)."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            request_line, _, headers = bytes(self.buffer[:end]).partition(b"\r\n")
            headers = headers.lower()
            length = 0
            for line in headers.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line[15:])
                elif line.startswith(b"transfer-encoding:"):  # not sent by our clients
                    self.transport.write(BAD)
                    self.transport.close()
                    return
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            reply = answer(request_line, body)
            if reply is STREAM and PACE:
                self._paced(0)
            else:
                self.transport.write(reply)
            if b"connection: close" in headers:
                self.transport.close()
                return

    def _paced(self, i: int) -> None:
        """Write event ``i`` of the stream, then schedule the next (a chain keeps the order,
        which timers due close together do not always do)."""
        assert self.transport is not None
        if self.transport.is_closing():
            return
        self.transport.write(STREAM_PIECES[i])
        if i + 1 < len(STREAM_PIECES):
            asyncio.get_running_loop().call_later(PACE, self._paced, i + 1)


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Connection, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pace", type=float, default=0.0, help="ms between stream events")
    args = parser.parse_args()
    global PACE
    port, PACE = args.port, args.pace / 1000
    with contextlib.suppress(KeyboardInterrupt):
        try:
            import uvloop
        except ImportError:
            asyncio.run(serve(port))
        else:
            uvloop.run(serve(port))


if __name__ == "__main__":
    main()
