"""A fast fake OpenAI upstream for the benchmarks: a bare asyncio protocol on uvloop.

    .venv/bin/python bench/fake_upstream.py --port 9000

``POST /v1/chat/completions`` answers a fixed small ``chat.completion``; with
``"stream": true`` it answers, in one write and with no delays, an SSE stream of exactly
``CHUNKS`` ``chat.completion.chunk`` events, one usage chunk and ``data: [DONE]`` (chunked
transfer encoding, one HTTP chunk per event, as real upstreams send them).
``GET /v1/models`` lists ``bench-model``. Every answer is built once at import, so the
server costs a few microseconds per request and is never the bottleneck.
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


def _stream() -> bytes:
    usage = {**_chunk(0), "choices": [], "usage": USAGE}
    events = [b"data: " + orjson.dumps(_chunk(i)) + b"\n\n" for i in range(CHUNKS)]
    events += [b"data: " + orjson.dumps(usage) + b"\n\n", b"data: [DONE]\n\n"]
    body = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
    return head + b"\r\n" + body


COMPLETION = _http("200 OK", "application/json", _completion())
STREAM = _stream()
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
            self.transport.write(answer(request_line, body))
            if b"connection: close" in headers:
                self.transport.close()
                return


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Connection, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    with contextlib.suppress(KeyboardInterrupt):
        try:
            import uvloop
        except ImportError:
            asyncio.run(serve(port))
        else:
            uvloop.run(serve(port))


if __name__ == "__main__":
    main()
