"""The stream readers over real sockets: events split across writes, CRLF, multi-line data,
comments and a missing final blank line."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from plugai.core.errors import UpstreamProtocolError
from plugai.providers.http import ndjson_lines, sse_data, sse_events


@asynccontextmanager
async def serving(pieces: list[bytes]) -> AsyncIterator[str]:
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        for piece in pieces:
            await resp.write(piece)
            await asyncio.sleep(0.01)  # separate TCP writes
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()


async def read(pieces: list[bytes], reader: Any) -> list[Any]:
    async with serving(pieces) as url, aiohttp.ClientSession() as s, s.get(url) as resp:
        return [item async for item in reader(resp)]


async def test_sse_events_survive_odd_fragments() -> None:
    pieces = [
        b'data: {"a"',
        b":1}\n",
        b"\n: a comment\nevent: pi",
        b"ng\ndata: x\r\n\r\n",
        b"data: line one\ndata: line two\n\n",
        b"data: [DONE]",
    ]
    events = await read(pieces, sse_events)
    assert events == [
        (None, b'{"a":1}'),
        ("ping", b"x"),
        (None, b"line one\nline two"),
        (None, b"[DONE]"),
    ]


async def test_sse_data_survives_odd_fragments() -> None:
    pieces = [
        b'data: {"a"',
        b":1}\r",  # a CR at the end of one write, its LF at the start of the next
        b"\n\r\n: a comment\nevent: pi",
        b"ng\ndata: x\r\n\r\n",
        b"data: line one\ndata:line two\n\n\n",
        b"data:\n\nretry: 5\n\n",  # no data: nothing to pass on
        b"data: [DONE]",
    ]
    batches = await read(pieces, sse_data)
    assert [data for batch in batches for data in batch] == [
        b'{"a":1}',
        b"x",
        b"line one\nline two",
        b"[DONE]",
    ]
    assert all(batches)


async def test_sse_data_passes_on_what_arrived_together_at_once() -> None:
    events = b"".join(b'data: {"n":%d}\n\n' % i for i in range(3))
    batches = await read([events, b"data: [DONE]\n\n"], sse_data)
    assert batches == [[b'{"n":0}', b'{"n":1}', b'{"n":2}'], [b"[DONE]"]]


async def test_ndjson_lines_survive_odd_fragments() -> None:
    pieces = [b'{"n": 1}\n{"n"', b": 2}\r\n\n", b'{"n": 3}']
    assert await read(pieces, ndjson_lines) == [{"n": 1}, {"n": 2}, {"n": 3}]
    with pytest.raises(UpstreamProtocolError):
        await read([b"{not json}\n"], ndjson_lines)
