"""Streams from an OpenAI-compatible upstream reach the client as the upstream's own bytes:
only ``stream_options.include_usage`` may change a chunk, and only the usage in it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

MSG = [{"role": "user", "content": "hi"}]
# What other servers send: spaces, escapes, a vendor field, key order of their own.
SPACED = (
    b'{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", '
    b'"choices": [{"index": 0, "delta": {"content": "caf\\u00e9"}, "finish_reason": null}], '
    b'"x_vendor": {"k": 1}}'
)
LAST = (
    b'{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":'
    b'[{"index":0,"delta":{"content":"!"},"finish_reason":"stop"}],"usage":null}'
)
USAGE = (
    b'{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],'
    b'"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}}'
)


@asynccontextmanager
async def upstream(events: list[bytes]) -> AsyncIterator[str]:
    """An OpenAI-compatible server that streams ``events`` in one write."""

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b"".join(b"data: " + e + b"\n\n" for e in [*events, b"[DONE]"]))
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        await runner.cleanup()


def config(url: str) -> dict[str, Any]:
    return {"providers": [{"name": "up", "type": "openai", "base_url": url, "api_key": "k"}]}


def data_of(text: bytes) -> list[bytes]:
    return [ln[6:] for ln in text.split(b"\n") if ln.startswith(b"data: ")]


async def test_chunks_go_on_as_the_upstream_sent_them(plugai: Callable[..., Any]) -> None:
    async with upstream([SPACED, LAST, USAGE]) as url, plugai(**config(url)) as h:
        asked = await h.http.post(
            "/v1/chat/completions",
            json={
                "model": "up/m",
                "messages": MSG,
                "stream": True,
                "stream_options": {"include_usage": True},
            },
        )
        plain = await h.http.post(
            "/v1/chat/completions", json={"model": "up/m", "messages": MSG, "stream": True}
        )
        metrics = (await h.http.get("/metrics")).text
    assert data_of(asked.content) == [SPACED, LAST, USAGE, b"[DONE]"]
    # not asked: the usage-only chunk is left out and the null usage cut from the rest
    assert data_of(plain.content) == [SPACED, LAST.replace(b',"usage":null', b""), b"[DONE]"]
    # PlugAI counted the usage both times
    assert 'plugai_tokens_total{direction="completion",model="up/m"} 4.0' in metrics


async def test_usage_in_another_spelling_is_decoded(plugai: Callable[..., Any]) -> None:
    spaced_null = SPACED[:-1] + b', "usage": null}'
    async with upstream([spaced_null, USAGE]) as url, plugai(**config(url)) as h:
        r = await h.http.post(
            "/v1/chat/completions", json={"model": "up/m", "messages": MSG, "stream": True}
        )
    first, done = data_of(r.content)
    assert b"usage" not in first  # decoded, usage dropped, encoded again
    assert b'"x_vendor":{"k":1}' in first
    assert done == b"[DONE]"
