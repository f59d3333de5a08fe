"""The Anthropic adapter against a fake Messages API over real HTTP: request conversion,
answers and streams back to canonical chunks, and the error mapping."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from plugai.core.chat import ChatChunk, ChatRequest, collect
from plugai.core.credentials import Credentials
from plugai.core.errors import (
    CapabilityNotSupported,
    InvalidRequest,
    UnsupportedParameter,
    UpstreamAuthError,
    UpstreamRateLimited,
    UpstreamUnavailable,
)
from plugai.providers.anthropic import AnthropicProvider
from plugai.providers.registry import default_registry
from plugai.settings import ProviderSettings
from tests.fakes.anthropic_fake import FakeAnthropic
from tests.fakes.base import Error, Reply, ToolCall, Usage, tiny_png

MODEL = "claude-sonnet-4-5-20250929"
CREDS = Credentials(api_key="sk-ant-test")
USER = [{"role": "user", "content": "hello there"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
async def provider(fake: FakeAnthropic) -> AsyncIterator[AnthropicProvider]:
    adapter = AnthropicProvider(
        ProviderSettings(name="anthropic", type="anthropic", base_url=fake.url)
    )
    yield adapter
    await adapter.aclose()


def request(messages: list[dict[str, Any]] | None = None, **params: Any) -> ChatRequest:
    return ChatRequest(MODEL, messages or USER, params)


async def chunks_of(provider: AnthropicProvider, req: ChatRequest) -> list[ChatChunk]:
    return [c async for c in provider.stream_chat(req, CREDS)]


async def drain(stream: AsyncIterator[Any], into: list[Any]) -> None:
    async for item in stream:
        into.append(item)


# --- declarations ---------------------------------------------------------------------------
def test_registered_with_its_declarations() -> None:
    config = ProviderSettings(name="claude", type="anthropic", api_key="k")
    adapter = default_registry().build(config)
    assert isinstance(adapter, AnthropicProvider)
    assert adapter.http.base_url == "https://api.anthropic.com"
    caps = adapter.capabilities(MODEL)
    assert (caps.chat, caps.stream, caps.tools, caps.vision) == (True, True, True, True)
    assert not caps.json_schema and not caps.logprobs and not caps.embeddings
    schema = adapter.card(MODEL).parameters["properties"]
    assert schema["temperature"]["maximum"] == 1
    assert "top_k" in schema and "response_format" not in schema
    with pytest.raises(CapabilityNotSupported):
        adapter.options(MODEL, "embeddings")


def test_parameters_outside_anthropic_are_a_400_naming_them() -> None:
    adapter = AnthropicProvider(ProviderSettings(name="anthropic", type="anthropic"))
    for name, value in (("response_format", {"type": "json_object"}), ("logprobs", True)):
        with pytest.raises(UnsupportedParameter) as info:
            adapter.validate_params(MODEL, {name: value}, operation="chat", drop_unknown=False)
        assert info.value.param == name and info.value.status == 400
    with pytest.raises(InvalidRequest) as bad:
        adapter.validate_params(MODEL, {"temperature": 1.5}, operation="chat", drop_unknown=False)
    assert bad.value.param == "temperature"
    with pytest.raises(InvalidRequest):
        adapter.validate_params(MODEL, {"n": 2}, operation="chat", drop_unknown=False)
    kept = adapter.validate_params(
        MODEL, {"top_k": 5, "seed": 1}, operation="chat", drop_unknown=True
    )
    assert kept == {"top_k": 5}


# --- non-streaming --------------------------------------------------------------------------
async def test_chat_sends_headers_defaults_and_converts_back(
    provider: AnthropicProvider, fake: FakeAnthropic
) -> None:
    result = await provider.chat(request(), CREDS)
    sent = fake.last_request
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == "sk-ant-test"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.body == {
        "model": MODEL,
        "messages": [{"role": "user", "content": "hello there"}],
        "max_tokens": 4096,
    }
    assert result["object"] == "chat.completion"
    assert result["id"].startswith("msg_") and result["model"] == MODEL
    choice = result["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "echo: hello there"}
    assert choice["finish_reason"] == "stop"
    assert result["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}


async def test_base_url_with_or_without_v1(fake: FakeAnthropic) -> None:
    config = ProviderSettings(name="anthropic", type="anthropic", base_url=f"{fake.url}/v1/")
    adapter = AnthropicProvider(config)
    try:
        await adapter.chat(request(), CREDS)
    finally:
        await adapter.aclose()
    assert fake.last_request.path == "/v1/messages"


async def test_parameters_are_renamed(provider: AnthropicProvider, fake: FakeAnthropic) -> None:
    await provider.chat(
        request(temperature=0.3, top_p=0.9, top_k=20, stop="END", max_tokens=77, user="u-1"),
        CREDS,
    )
    body = fake.last_request.body
    assert body["max_tokens"] == 77 and body["stop_sequences"] == ["END"]
    assert (body["temperature"], body["top_p"], body["top_k"]) == (0.3, 0.9, 20)
    assert body["metadata"] == {"user_id": "u-1"}
    await provider.chat(request(max_completion_tokens=12, stop=["a", "b"]), CREDS)
    assert fake.last_request.body["max_tokens"] == 12
    assert fake.last_request.body["stop_sequences"] == ["a", "b"]


async def test_system_and_developer_messages_become_the_system_prompt(
    provider: AnthropicProvider, fake: FakeAnthropic
) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "user", "content": [{"type": "text", "text": "again"}]},
    ]
    await provider.chat(request(messages), CREDS)
    body = fake.last_request.body
    assert body["system"] == "Be brief."
    assert body["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": "again"}],
        }
    ]
    two = [
        {"role": "system", "content": "One."},
        {"role": "developer", "content": [{"type": "text", "text": "Two."}]},
        *USER,
    ]
    await provider.chat(request(two), CREDS)
    assert fake.last_request.body["system"] == [
        {"type": "text", "text": "One."},
        {"type": "text", "text": "Two."},
    ]


async def test_images_as_base64_and_url_sources(
    provider: AnthropicProvider, fake: FakeAnthropic
) -> None:
    import base64

    png = base64.b64encode(tiny_png("x")).decode()
    content = [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
    ]
    await provider.chat(request([{"role": "user", "content": content}]), CREDS)
    blocks = fake.last_request.body["messages"][0]["content"]
    assert blocks[1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": png},
    }
    assert blocks[2] == {
        "type": "image",
        "source": {"type": "url", "url": "https://example.com/cat.jpg"},
    }


async def test_bad_content_is_a_400_naming_it(provider: AnthropicProvider) -> None:
    bad_image = [{"type": "image_url", "image_url": {"url": "data:text/plain,hi"}}]
    with pytest.raises(InvalidRequest) as info:
        await provider.chat(request([{"role": "user", "content": bad_image}]), CREDS)
    assert info.value.param == "messages[0].content[0]"
    audio = [{"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]
    with pytest.raises(InvalidRequest) as info:
        await provider.chat(request([{"role": "user", "content": audio}]), CREDS)
    assert info.value.param == "messages[0].content[0].type"
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "[1]"}}
    with pytest.raises(InvalidRequest) as info:
        await provider.chat(
            request([*USER, {"role": "assistant", "content": None, "tool_calls": [call]}]), CREDS
        )
    assert info.value.param == "messages[1].tool_calls[0].function.arguments"


async def test_tool_calls_and_results_go_out_as_blocks(
    provider: AnthropicProvider, fake: FakeAnthropic
) -> None:
    call = {
        "id": "toolu_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    messages = [
        {"role": "user", "content": "weather in Paris and Rome?"},
        {"role": "assistant", "content": "Let me look.", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": [{"type": "text", "text": "rain"}]},
        {"role": "user", "content": "thanks"},
    ]
    await provider.chat(request(messages, tools=[WEATHER], tool_choice="required"), CREDS)
    body = fake.last_request.body
    assert body["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me look."},
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
        ],
    }
    assert body["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "rain"},
            {"type": "text", "text": "thanks"},
        ],
    }
    assert body["tools"] == [
        {
            "name": "get_weather",
            "input_schema": WEATHER["function"]["parameters"],  # type: ignore[index]
            "description": "Weather in a city",
        }
    ]
    assert body["tool_choice"] == {"type": "any"}


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("none", None, {"type": "none"}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            None,
            {"type": "tool", "name": "get_weather"},
        ),
    ],
)
async def test_tool_choice(
    provider: AnthropicProvider,
    fake: FakeAnthropic,
    choice: Any,
    parallel: bool | None,
    expected: dict[str, Any],
) -> None:
    params: dict[str, Any] = {"tools": [WEATHER]}
    if choice is not None:
        params["tool_choice"] = choice
    if parallel is not None:
        params["parallel_tool_calls"] = parallel
    await provider.chat(request(**params), CREDS)
    assert fake.last_request.body["tool_choice"] == expected


async def test_tool_use_answer(provider: AnthropicProvider, fake: FakeAnthropic) -> None:
    fake.enqueue(
        Reply(
            text="Checking.",
            tool_calls=[ToolCall("get_weather", {"city": "Paris"}, id="toolu_9")],
        )
    )
    result = await provider.chat(request(tools=[WEATHER]), CREDS)
    choice = result["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Checking."
    [call] = choice["message"]["tool_calls"]
    assert call["id"] == "toolu_9" and call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}


@pytest.mark.parametrize(
    ("reply", "params", "finish"),
    [
        (Reply(text="one two STOP three"), {"stop": ["STOP"]}, "stop"),
        (Reply(text="one two three four"), {"max_tokens": 2}, "length"),
        (Reply(text="no", finish_reason="refusal"), {}, "content_filter"),
        (Reply(text="hmm", finish_reason="pause_turn"), {}, "stop"),
    ],
)
async def test_finish_reasons(
    provider: AnthropicProvider,
    fake: FakeAnthropic,
    reply: Reply,
    params: dict[str, Any],
    finish: str,
) -> None:
    fake.enqueue(reply)
    result = await provider.chat(request(**params), CREDS)
    assert result["choices"][0]["finish_reason"] == finish
    if "stop" in params:
        assert result["choices"][0]["message"]["content"] == "one two "


# --- streaming ------------------------------------------------------------------------------
async def test_stream_text(provider: AnthropicProvider, fake: FakeAnthropic) -> None:
    fake.enqueue(Reply(chunks=["Hel", "lo", " world"], usage=Usage(7, 3)))
    chunks = await chunks_of(provider, request())
    assert fake.last_request.body["stream"] is True
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    pieces = [c["choices"][0]["delta"].get("content") for c in chunks[1:-2]]
    assert pieces == ["Hel", "lo", " world"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == MODEL for c in chunks)
    assert len({c["id"] for c in chunks}) == 1


async def test_stream_tool_calls(provider: AnthropicProvider, fake: FakeAnthropic) -> None:
    fake.enqueue(
        Reply(
            text="",
            tool_calls=[
                ToolCall("get_weather", {"city": "Paris"}, id="toolu_a"),
                ToolCall("get_time", {}, id="toolu_b"),
            ],
        )
    )
    chunks = await chunks_of(provider, request(tools=[WEATHER]))
    deltas = [d for c in chunks for ch in c["choices"] for d in ch["delta"].get("tool_calls", [])]
    first = deltas[0]
    assert (first["index"], first.get("id"), first["function"]) == (  # type: ignore[typeddict-item]
        0,
        "toolu_a",
        {"name": "get_weather", "arguments": ""},
    )
    assert all("id" not in d for d in deltas[1:] if d["index"] == 0)
    assert len([d for d in deltas if d["index"] == 0]) > 2  # arguments arrive in pieces
    result = await collect(_replay(chunks))
    calls = result["choices"][0]["message"]["tool_calls"]
    assert [c["id"] for c in calls] == ["toolu_a", "toolu_b"]
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Paris"}
    assert json.loads(calls[1]["function"]["arguments"]) == {}
    assert result["choices"][0]["finish_reason"] == "tool_calls"


async def _replay(chunks: list[ChatChunk]) -> AsyncIterator[ChatChunk]:
    for c in chunks:
        yield c


async def test_stream_and_chat_agree(provider: AnthropicProvider, fake: FakeAnthropic) -> None:
    streamed = await collect(provider.stream_chat(request(), CREDS))
    whole = await provider.chat(request(), CREDS)
    assert streamed["choices"] == whole["choices"]
    assert streamed["usage"] == whole["usage"]


async def test_stream_length_finish(provider: AnthropicProvider, fake: FakeAnthropic) -> None:
    fake.enqueue(Reply(text="a b c d e"))
    chunks = await chunks_of(provider, request(max_tokens=2))
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"


# --- errors ---------------------------------------------------------------------------------
async def test_rate_limit_keeps_retry_after(
    provider: AnthropicProvider, fake: FakeAnthropic
) -> None:
    fake.enqueue(Error(429, retry_after=7))
    with pytest.raises(UpstreamRateLimited) as info:
        await provider.chat(request(), CREDS)
    assert info.value.retry_after == 7
    assert "rate limit" in info.value.message


async def test_overloaded_is_unavailable(provider: AnthropicProvider, fake: FakeAnthropic) -> None:
    fake.enqueue(Error(529))
    with pytest.raises(UpstreamUnavailable) as info:
        await provider.chat(request(), CREDS)
    assert "Overloaded" in info.value.message and info.value.retryable


async def test_bad_request_carries_the_upstream_message(
    provider: AnthropicProvider, fake: FakeAnthropic
) -> None:
    fake.enqueue(Error(400, "messages: roles must alternate"))
    with pytest.raises(InvalidRequest) as info:
        await provider.chat(request(), CREDS)
    assert info.value.status == 400
    assert info.value.message == "anthropic: messages: roles must alternate"


async def test_missing_or_rejected_key(provider: AnthropicProvider, fake: FakeAnthropic) -> None:
    with pytest.raises(UpstreamAuthError):
        await provider.chat(request(), Credentials())
    assert not fake.requests
    fake.api_key = "the-right-key"
    with pytest.raises(UpstreamAuthError) as info:
        await provider.chat(request(), CREDS)
    assert "invalid x-api-key" in info.value.message


async def test_stream_error_before_the_first_chunk(
    provider: AnthropicProvider, fake: FakeAnthropic
) -> None:
    fake.enqueue(Error(529))
    with pytest.raises(UpstreamUnavailable):
        await chunks_of(provider, request())


async def test_error_event_mid_stream_raises_the_mapped_error(
    provider: AnthropicProvider, fake: FakeAnthropic
) -> None:
    fake.enqueue(Reply(chunks=["a", "b", "c"], error_after=2))
    got: list[ChatChunk] = []
    with pytest.raises(UpstreamUnavailable) as info:
        await drain(provider.stream_chat(request(), CREDS), got)
    assert "Overloaded" in info.value.message
    assert [c["choices"][0]["delta"].get("content") for c in got[1:]] == ["a", "b"]
    fake.enqueue(Reply(chunks=["a"], error_after=1, error=Error(400, "bad thing")))
    with pytest.raises(InvalidRequest, match="bad thing"):
        await chunks_of(provider, request())


async def test_stream_cut_before_message_stop(
    provider: AnthropicProvider, fake: FakeAnthropic
) -> None:
    from plugai.core.errors import ProviderError

    fake.enqueue(Reply(chunks=["a", "b"], disconnect_after=1))
    with pytest.raises(ProviderError):
        await chunks_of(provider, request())


# --- models ---------------------------------------------------------------------------------
async def test_list_models(provider: AnthropicProvider, fake: FakeAnthropic) -> None:
    cards = await provider.list_models(CREDS)
    assert [c.id for c in cards] == [f"anthropic/{m}" for m in FakeAnthropic.default_models]
    assert cards[0].created > 0 and cards[0].capabilities.vision
    assert [m.value for m in cards[0].input_modalities] == ["text", "image"]
    assert fake.last_request.path == "/v1/models"
    assert fake.last_request.headers["x-api-key"] == "sk-ant-test"
