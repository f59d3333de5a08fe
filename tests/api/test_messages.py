"""/v1/messages (Anthropic's format) in front of any chat model, with the official
``anthropic`` client; and Anthropic models behind /v1/chat/completions with the official
``openai`` client. Upstreams are fake servers over real HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import openai
import pytest

from plugai.api.app import create_app
from plugai.settings import Settings
from tests.conftest import ADMIN_KEY
from tests.fakes.anthropic_fake import FakeAnthropic
from tests.fakes.base import Error, Reply, ToolCall, Usage
from tests.fakes.openai_fake import FakeOpenAI

GPT = "openai/gpt-4o-mini"
CLAUDE = "anthropic/claude-sonnet-4-5-20250929"
USER: list[Any] = [{"role": "user", "content": "hello there"}]
WEATHER_TOOL: Any = {
    "name": "get_weather",
    "description": "Weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


@dataclass
class Clients:
    anthropic: anthropic.AsyncAnthropic
    openai: openai.AsyncOpenAI
    http: httpx.AsyncClient


@pytest.fixture
def fake_oa() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def fake_ant() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
def start(
    make_settings: Callable[..., Settings], fake_oa: FakeOpenAI, fake_ant: FakeAnthropic
) -> Callable[..., Any]:
    """``async with start() as c:`` PlugAI with both fakes configured, and three clients."""

    @asynccontextmanager
    async def run(**overrides: Any) -> AsyncIterator[Clients]:
        overrides.setdefault("routing", {"retries": 0})
        settings = make_settings(
            providers=[
                {"name": "openai", "type": "openai", "base_url": fake_oa.url, "api_key": "sk-oa"},
                {
                    "name": "anthropic",
                    "type": "anthropic",
                    "base_url": fake_ant.url,
                    "api_key": "sk-ant-test",
                },
            ],
            **overrides,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                yield Clients(
                    anthropic.AsyncAnthropic(
                        api_key=ADMIN_KEY, base_url="http://t", http_client=http, max_retries=0
                    ),
                    openai.AsyncOpenAI(
                        api_key=ADMIN_KEY, base_url="http://t/v1", http_client=http, max_retries=0
                    ),
                    http,
                )

    return run


def sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of an SSE body."""
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


async def drain(stream: AsyncIterator[Any], into: list[Any]) -> None:
    async for item in stream:
        into.append(item)


# --- /v1/messages in front of an OpenAI model -------------------------------------------------
async def test_messages_with_an_openai_model(
    start: Callable[..., Any], fake_oa: FakeOpenAI
) -> None:
    async with start() as c:
        msg = await c.anthropic.messages.create(
            model=GPT,
            max_tokens=100,
            system="Be brief.",
            messages=USER,
            temperature=0.5,
            top_p=0.9,
            stop_sequences=["zzz"],
            metadata={"user_id": "u-1"},
        )
    assert msg.type == "message" and msg.role == "assistant" and msg.id.startswith("msg_")
    assert [b.type for b in msg.content] == ["text"]
    assert msg.content[0].text == "echo: hello there"  # type: ignore[union-attr]
    assert msg.stop_reason == "end_turn"
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (4, 3)
    body = fake_oa.last_request.body
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello there"},
    ]
    assert {k: body[k] for k in ("max_tokens", "temperature", "top_p", "stop", "user")} == {
        "max_tokens": 100,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop": ["zzz"],
        "user": "u-1",
    }


async def test_messages_stream_with_an_openai_model(
    start: Callable[..., Any], fake_oa: FakeOpenAI
) -> None:
    fake_oa.enqueue(Reply(chunks=["Hel", "lo", "!"], usage=Usage(5, 3)))
    async with start() as c:
        async with c.anthropic.messages.stream(model=GPT, max_tokens=50, messages=USER) as stream:
            texts = [t async for t in stream.text_stream]
            final = await stream.get_final_message()
        raw = await c.http.post(
            "/v1/messages",
            json={"model": GPT, "max_tokens": 50, "messages": USER, "stream": True},
            headers={"x-api-key": ADMIN_KEY},
        )
    assert texts == ["Hel", "lo", "!"]
    assert final.content[0].text == "Hello!"  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (5, 3)
    assert raw.headers["content-type"].startswith("text/event-stream")
    names = [name for name, _ in sse(raw.text)]
    assert names[:2] == ["message_start", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert all(data["type"] == name for name, data in sse(raw.text))


async def test_tools_both_ways_with_an_openai_model(
    start: Callable[..., Any], fake_oa: FakeOpenAI
) -> None:
    call = ToolCall("get_weather", {"city": "Paris"}, id="call_1")
    fake_oa.enqueue(Reply(text="", tool_calls=[call]), Reply(text="", tool_calls=[call]))
    async with start() as c:
        msg = await c.anthropic.messages.create(
            model=GPT,
            max_tokens=100,
            messages=USER,
            tools=[WEATHER_TOOL],
            tool_choice={"type": "any", "disable_parallel_tool_use": True},
        )
        async with c.anthropic.messages.stream(
            model=GPT, max_tokens=100, messages=USER, tools=[WEATHER_TOOL]
        ) as stream:
            streamed = await stream.get_final_message()
        followup = [
            *USER,
            {"role": "assistant", "content": [b.model_dump() for b in msg.content]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"},
                    {"type": "text", "text": "and tomorrow?"},
                ],
            },
        ]
        await c.anthropic.messages.create(
            model=GPT, max_tokens=100, messages=followup, tools=[WEATHER_TOOL]
        )
    for message in (msg, streamed):
        assert message.stop_reason == "tool_use"
        [block] = message.content
        assert block.type == "tool_use"
        assert (block.id, block.name, block.input) == ("call_1", "get_weather", {"city": "Paris"})
    first = fake_oa.requests[-3].body
    assert first["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": WEATHER_TOOL["input_schema"],
                "description": "Weather in a city",
            },
        }
    ]
    assert first["tool_choice"] == "required" and first["parallel_tool_calls"] is False
    sent = fake_oa.last_request.body["messages"]
    assert sent[1]["role"] == "assistant" and sent[1]["content"] is None
    assert sent[1]["tool_calls"][0]["id"] == "call_1"
    assert json.loads(sent[1]["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}
    assert sent[2:] == [
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "user", "content": "and tomorrow?"},
    ]


async def test_thinking_blocks_are_dropped_on_the_way_in(
    start: Callable[..., Any], fake_oa: FakeOpenAI
) -> None:
    thinking = {"type": "thinking", "thinking": "hmm", "signature": "sig"}
    history: Any = [
        *USER,
        {"role": "assistant", "content": [thinking, {"type": "text", "text": "Hi!"}]},
        {"role": "user", "content": "again"},
    ]
    async with start() as c:
        await c.anthropic.messages.create(model=GPT, max_tokens=10, messages=history)
    assert fake_oa.last_request.body["messages"][1:] == [
        {"role": "assistant", "content": "Hi!"},
        {"role": "user", "content": "again"},
    ]


async def test_images_reach_an_openai_model_as_data_urls(
    start: Callable[..., Any], fake_oa: FakeOpenAI
) -> None:
    image = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
    content = [{"type": "text", "text": "what is it"}, {"type": "image", "source": image}]
    async with start() as c:
        await c.anthropic.messages.create(
            model=GPT, max_tokens=10, messages=[{"role": "user", "content": content}]
        )
    assert fake_oa.last_request.body["messages"][0]["content"] == [
        {"type": "text", "text": "what is it"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]


# --- /v1/messages in front of an Anthropic model ----------------------------------------------
async def test_messages_with_an_anthropic_model(
    start: Callable[..., Any], fake_ant: FakeAnthropic
) -> None:
    fake_ant.enqueue(Reply(text="Bonjour", usage=Usage(9, 1)))
    async with start() as c:
        msg = await c.anthropic.messages.create(
            model=CLAUDE,
            max_tokens=64,
            system=[{"type": "text", "text": "You are French."}],
            messages=USER,
            top_k=5,
        )
    assert msg.content[0].text == "Bonjour"  # type: ignore[union-attr]
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (9, 1)
    body = fake_ant.last_request.body
    assert body["model"] == "claude-sonnet-4-5-20250929"
    assert body["system"] == "You are French."
    assert body["messages"] == [{"role": "user", "content": "hello there"}]
    assert (body["max_tokens"], body["top_k"]) == (64, 5)
    assert fake_ant.last_request.headers["x-api-key"] == "sk-ant-test"  # never the caller's key


async def test_stream_and_tools_with_an_anthropic_model(
    start: Callable[..., Any], fake_ant: FakeAnthropic
) -> None:
    call = ToolCall("get_weather", {"city": "Oslo"}, id="toolu_1")
    fake_ant.enqueue(Reply(chunks=["Bon", "jour"]), Reply(text="Looking.", tool_calls=[call]))
    async with start() as c:
        async with c.anthropic.messages.stream(
            model=CLAUDE, max_tokens=64, messages=USER
        ) as stream:
            texts = [t async for t in stream.text_stream]
        async with c.anthropic.messages.stream(
            model=CLAUDE,
            max_tokens=64,
            messages=USER,
            tools=[WEATHER_TOOL],
            tool_choice={"type": "tool", "name": "get_weather"},
        ) as stream:
            final = await stream.get_final_message()
    assert texts == ["Bon", "jour"]
    assert [b.type for b in final.content] == ["text", "tool_use"]
    assert final.content[1].input == {"city": "Oslo"}  # type: ignore[union-attr]
    assert final.stop_reason == "tool_use"
    body = fake_ant.last_request.body
    assert body["tools"] == [WEATHER_TOOL]
    assert body["tool_choice"] == {"type": "tool", "name": "get_weather"}


# --- Anthropic models behind /v1/chat/completions ---------------------------------------------
async def test_openai_client_with_an_anthropic_model(
    start: Callable[..., Any], fake_ant: FakeAnthropic
) -> None:
    call = ToolCall("get_weather", {"city": "Rome"}, id="toolu_7")
    fake_ant.enqueue(Reply(), Reply(chunks=["a", "b"]), Reply(tool_calls=[call]))
    messages: Any = [{"role": "system", "content": "Be brief."}, *USER]
    async with start() as c:
        r = await c.openai.chat.completions.create(model=CLAUDE, messages=messages)
        stream = await c.openai.chat.completions.create(
            model=CLAUDE, messages=messages, stream=True, stream_options={"include_usage": True}
        )
        chunks = [x async for x in stream]
        tools = await c.openai.chat.completions.create(
            model=CLAUDE,
            messages=messages,
            tools=[
                {
                    "type": "function",
                    "function": {"name": "get_weather", "parameters": WEATHER_TOOL["input_schema"]},
                }
            ],
        )
    assert r.choices[0].message.content == "echo: hello there"
    assert r.choices[0].finish_reason == "stop"
    assert fake_ant.requests[-3].body["system"] == "Be brief."
    assert "".join(x.choices[0].delta.content or "" for x in chunks if x.choices) == "ab"
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    assert tools.choices[0].finish_reason == "tool_calls"
    tool_call = tools.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert json.loads(tool_call.function.arguments) == {"city": "Rome"}  # type: ignore[union-attr]


async def test_openai_only_parameters_are_a_400_for_an_anthropic_model(
    start: Callable[..., Any], fake_ant: FakeAnthropic
) -> None:
    async with start() as c:
        with pytest.raises(openai.BadRequestError) as info:
            await c.openai.chat.completions.create(
                model=CLAUDE, messages=USER, response_format={"type": "json_object"}
            )
        with pytest.raises(openai.BadRequestError) as temp:
            await c.openai.chat.completions.create(model=CLAUDE, messages=USER, temperature=1.5)
    assert info.value.body["param"] == "response_format"  # type: ignore[index]
    assert temp.value.body["param"] == "temperature"  # type: ignore[index]
    assert not [r for r in fake_ant.requests if r.path == "/v1/messages"]


# --- errors in Anthropic's shape --------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": GPT, "messages": USER}, "max_tokens"),
        ({"model": GPT, "max_tokens": 5}, "messages"),
        ({"model": GPT, "max_tokens": 5, "messages": []}, "messages"),
        (
            {"model": GPT, "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]},
            "messages[0].role",
        ),
        ({"model": GPT, "max_tokens": 5, "messages": USER, "temperature": 5}, "temperature"),
        ({"model": GPT, "max_tokens": 0, "messages": USER}, "max_tokens"),
        (
            {"model": GPT, "max_tokens": 5, "messages": USER, "tool_choice": {"type": "tool"}},
            "tool_choice",
        ),
        (
            {
                "model": GPT,
                "max_tokens": 5,
                "messages": [{"role": "user", "content": [{"type": "video"}]}],
            },
            "messages[0].content[0]",
        ),
        ({"model": GPT, "max_tokens": 5, "messages": USER, "top_k": 3}, "top_k"),
        ({"model": GPT, "max_tokens": 5, "messages": USER, "system": 7}, "system"),
        (
            {
                "model": GPT,
                "max_tokens": 5,
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}],
                    }
                ],
            },
            "messages[0].content[0]",
        ),
    ],
)
async def test_bad_input_is_a_400_naming_the_parameter(
    start: Callable[..., Any], body: dict[str, Any], param: str
) -> None:
    async with start() as c:
        r = await c.http.post("/v1/messages", json=body, headers={"x-api-key": ADMIN_KEY})
        with pytest.raises(anthropic.BadRequestError):
            await c.anthropic.post("/v1/messages", body=body, cast_to=httpx.Response)
    assert r.status_code == 400, r.text
    payload = r.json()
    assert payload["type"] == "error"
    assert payload["error"]["type"] == "invalid_request_error"
    assert f"'{param}" in payload["error"]["message"]
    assert str(payload["error"]["param"]).startswith(param)


async def test_upstream_errors_in_anthropic_shape(
    start: Callable[..., Any], fake_ant: FakeAnthropic
) -> None:
    fake_ant.enqueue(Error(429, retry_after=3), Error(529))
    async with start() as c:
        with pytest.raises(anthropic.RateLimitError) as limited:
            await c.anthropic.messages.create(model=CLAUDE, max_tokens=5, messages=USER)
        with pytest.raises(anthropic.InternalServerError) as overloaded:
            await c.anthropic.messages.create(model=CLAUDE, max_tokens=5, messages=USER)
        with pytest.raises(anthropic.NotFoundError) as missing:
            await c.anthropic.messages.create(model="nobody/x", max_tokens=5, messages=USER)
    assert limited.value.response.headers["retry-after"] == "3"
    assert limited.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert overloaded.value.status_code == 503
    assert overloaded.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    assert missing.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]


async def test_error_mid_stream_becomes_an_error_event(
    start: Callable[..., Any], fake_ant: FakeAnthropic
) -> None:
    fake_ant.enqueue(Reply(chunks=["a", "b", "c"], error_after=2))
    async with start() as c:
        stream = await c.anthropic.messages.create(
            model=CLAUDE, max_tokens=5, messages=USER, stream=True
        )
        seen: list[Any] = []
        with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
            await drain(stream, seen)
    assert seen[0].type == "message_start"
    assert [e.delta.text for e in seen if e.type == "content_block_delta"] == ["a", "b"]
    assert "message_stop" not in [e.type for e in seen]


async def test_the_key_may_come_as_x_api_key_or_bearer(start: Callable[..., Any]) -> None:
    body = {"model": GPT, "max_tokens": 5, "messages": USER}
    async with start() as c:
        missing = await c.http.post("/v1/messages", json=body)
        bearer = await c.http.post(
            "/v1/messages", json=body, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        )
    assert missing.status_code == 401
    assert bearer.status_code == 200 and bearer.json()["type"] == "message"
