"""Errors mapped to one exception class per envelope type (with status, type, code, param
and request id), errors inside streams, retries with backoff and ``Retry-After``,
connection errors and timeouts."""

from __future__ import annotations

import time

import pytest
from plugai_client import (
    APIConnectionError,
    APITimeoutError,
    AsyncPlugAI,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PlugAI,
    PlugAIError,
    RateLimitError,
    UpstreamError,
)

from tests.clients.conftest import CHAT, Gateway
from tests.clients.scripted import Answer, scripted_server
from tests.fakes.base import Error, Reply
from tests.server import free_port

OK_MODELS = {"object": "list", "data": []}


def test_status_errors_carry_the_envelope(client: PlugAI, gateway: Gateway) -> None:
    with pytest.raises(BadRequestError) as bad:
        client.chat.create(model=CHAT, messages="hi", temperature="hot")
    assert bad.value.status == 400
    assert bad.value.type == "invalid_request_error"
    assert bad.value.param == "temperature"
    assert bad.value.code
    assert bad.value.request_id
    assert "temperature" in str(bad.value)

    with pytest.raises(NotFoundError) as missing:
        client.models.get("nowhere/nothing")
    assert missing.value.status == 404 and missing.value.type == "not_found_error"

    with gateway.client("sk-plugai-wrong-key") as wrong, pytest.raises(AuthenticationError) as a:
        wrong.models.list()
    assert a.value.status == 401 and a.value.code == "invalid_api_key"
    assert isinstance(a.value, PlugAIError)


def test_upstream_errors_and_rate_limits(gateway: Gateway) -> None:
    fake = gateway.fake
    with gateway.client(max_retries=0) as client:
        fake.enqueue(Error(500))
        with pytest.raises(UpstreamError) as upstream:
            client.chat.create(model=CHAT, messages="hi")
        assert upstream.value.status == 503 and upstream.value.type == "upstream_error"
        fake.enqueue(Error(401))  # the operator's upstream key is refused
        with pytest.raises(UpstreamError) as refused:
            client.chat.create(model=CHAT, messages="hi")
        assert refused.value.status == 502 and refused.value.code == "upstream_auth_error"

        fake.enqueue(Error(429, retry_after=1))
        with pytest.raises(RateLimitError) as limited:
            client.chat.create(model=CHAT, messages="hi")
        assert limited.value.status == 429
        assert limited.value.retry_after == 1.0

    with gateway.client(max_retries=2) as client:  # the server's Retry-After is honoured
        fake.enqueue(Error(429, retry_after=1), Reply(text="finally"))
        started = time.monotonic()
        answer = client.chat.create(model=CHAT, messages="hi")
        assert answer.text == "finally"
        assert time.monotonic() - started >= 0.9
        fake.enqueue(Error(503), Reply(text="after backoff"))
        assert client.chat.create(model=CHAT, messages="hi").text == "after backoff"
        assert len(fake.requests) == 7


def test_error_inside_a_stream(client: PlugAI, gateway: Gateway) -> None:
    gateway.fake.enqueue(Reply(text="a b c", error_after=1, error=Error(500)))
    stream = client.chat.create(model=CHAT, messages="hi", stream=True)
    received = [next(stream).text]
    with pytest.raises(PlugAIError) as err:
        list(stream)
    assert received  # the first chunk arrived before the error
    assert err.value.status is None
    assert err.value.type is not None
    assert err.value.request_id == stream.request_id


async def test_errors_async(gateway: Gateway) -> None:
    async with gateway.aclient(max_retries=0) as client:
        with pytest.raises(NotFoundError):
            await client.sessions.get("no-such-session")
        gateway.fake.enqueue(Error(429, retry_after=1))
        with pytest.raises(RateLimitError):
            await client.chat.create(model=CHAT, messages="hi")
        gateway.fake.enqueue(Error(500))
        with pytest.raises(UpstreamError):
            await client.chat.create(model=CHAT, messages="hi", stream=True)
    async with gateway.aclient(max_retries=1) as client:
        gateway.fake.enqueue(Error(429, retry_after=1), Reply(text="ok"))
        stream = await client.chat.create(model=CHAT, messages="hi", stream=True)
        assert await stream.text() == "ok"


def test_retries_503_then_200_with_retry_after() -> None:
    busy = Answer(
        503, {"error": {"message": "busy", "type": "upstream_error"}}, {"Retry-After": "0.3"}
    )
    with scripted_server(busy, busy, Answer(200, OK_MODELS)) as server:
        with PlugAI(server.url, "k", max_retries=2) as client:
            assert client.models.list() == []
        assert len(server.times) == 3
        gaps = [b - a for a, b in zip(server.times, server.times[1:], strict=False)]
        assert all(gap >= 0.28 for gap in gaps)
        assert server.paths == ["/v1/models"] * 3

    with scripted_server(busy) as server, PlugAI(server.url, "k", max_retries=1) as client:
        with pytest.raises(UpstreamError) as err:
            client.models.list()
        assert err.value.status == 503 and err.value.message == "busy"
        assert len(server.times) == 2

    crash = Answer(500, {"error": {"message": "bug", "type": "server_error"}})
    with scripted_server(crash) as server, PlugAI(server.url, "k") as client:
        with pytest.raises(InternalServerError):
            client.models.list()
        assert len(server.times) == 1  # 500 is not retried


async def test_retries_async_and_http_date() -> None:
    busy = Answer(502, "bad gateway", {"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"})
    with scripted_server(busy, Answer(200, OK_MODELS)) as server:
        async with AsyncPlugAI(server.url, "k", max_retries=1) as client:
            assert await client.models.list() == []
        assert len(server.times) == 2


def test_connection_errors_and_timeouts() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with PlugAI(dead, "k", max_retries=1) as client:
        started = time.monotonic()
        with pytest.raises(APIConnectionError) as err:
            client.me()
        assert err.value.status is None
        assert time.monotonic() - started >= 0.3  # one backoff between the two tries
    with (
        scripted_server(Answer(200, OK_MODELS, delay=1.0)) as server,
        PlugAI(server.url, "k", timeout=0.2, max_retries=0) as client,
        pytest.raises(APITimeoutError),
    ):
        client.models.list()


async def test_connection_errors_async() -> None:
    async with AsyncPlugAI(f"http://127.0.0.1:{free_port()}", "k", max_retries=0) as client:
        with pytest.raises(APIConnectionError):
            await client.models.list()
