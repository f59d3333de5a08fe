"""The Ollama adapter against a fake Ollama over real HTTP: native /api/chat (NDJSON
streams), options, images, tool calls both ways, error mapping, /api/embed and /api/tags."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from plugai.core.chat import ChatChunk, ChatRequest, collect
from plugai.core.credentials import Credentials
from plugai.core.embeddings import EmbeddingRequest
from plugai.core.errors import (
    InvalidRequest,
    ModelNotFound,
    UnsupportedParameter,
    UpstreamAuthError,
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamUnavailable,
)
from plugai.providers.ollama import OllamaProvider
from plugai.providers.registry import default_registry
from plugai.settings import ProviderSettings
from tests.fakes import Error, FakeOllama, Reply, ToolCall, Usage, embedding_for

NO_KEY = Credentials()
MODEL = "llama3.2"
HELLO = [{"role": "user", "content": "hello there"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    with FakeOllama() as server:
        yield server


@pytest.fixture
async def provider(fake: FakeOllama) -> AsyncIterator[OllamaProvider]:
    adapter = default_registry().build(
        ProviderSettings(name="ollama", type="ollama", base_url=fake.url)
    )
    assert isinstance(adapter, OllamaProvider)
    yield adapter
    await adapter.aclose()


def request(messages: list[dict[str, Any]] | None = None, **params: Any) -> ChatRequest:
    return ChatRequest(MODEL, messages or HELLO, params)


async def stream(provider: OllamaProvider, req: ChatRequest) -> list[ChatChunk]:
    return [c async for c in provider.stream_chat(req, NO_KEY)]


# --- chat -----------------------------------------------------------------------------------
async def test_chat_posts_a_non_streaming_request_and_maps_the_answer(
    provider: OllamaProvider, fake: FakeOllama
) -> None:
    messages = [{"role": "developer", "content": "Be brief."}, *HELLO]
    result = await provider.chat(request(messages), NO_KEY)

    assert result["choices"][0]["message"] == {"role": "assistant", "content": "echo: hello there"}
    assert result["choices"][0]["finish_reason"] == "stop"
    assert result["usage"] == {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}
    sent = fake.last_request
    assert sent.path == "/api/chat"
    assert "Authorization" not in sent.headers
    assert sent.body == {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello there"},
        ],
        "stream": False,
    }


async def test_stream_reads_ndjson_into_chunks(provider: OllamaProvider, fake: FakeOllama) -> None:
    chunks = await stream(provider, request())

    assert fake.last_request.body["stream"] is True
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    texts = [c["choices"][0]["delta"].get("content") for c in chunks[1:4]]
    assert texts == ["echo:", " hello", " there"]
    assert chunks[4]["choices"][0]["finish_reason"] == "stop"
    assert chunks[5]["choices"] == []
    assert chunks[5]["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}
    assert len(chunks) == 6


# --- parameters -----------------------------------------------------------------------------
async def test_sampling_parameters_go_into_options(
    provider: OllamaProvider, fake: FakeOllama
) -> None:
    params = provider.validate_params(
        MODEL,
        {
            "temperature": 0.1,
            "top_p": 0.8,
            "top_k": 20,
            "seed": 42,
            "max_tokens": 64,
            "stop": "\n\n",
            "presence_penalty": 1.0,
            "frequency_penalty": 0.5,
            "num_ctx": 8192,
            "response_format": {"type": "json_object"},
        },
        operation="chat",
        drop_unknown=False,
    )
    await provider.chat(request(**params), NO_KEY)
    body = fake.last_request.body
    assert body["options"] == {
        "temperature": 0.1,
        "top_p": 0.8,
        "top_k": 20,
        "seed": 42,
        "presence_penalty": 1.0,
        "frequency_penalty": 0.5,
        "num_ctx": 8192,
        "num_predict": 64,
        "stop": ["\n\n"],
    }
    assert body["format"] == "json"


async def test_json_schema_becomes_the_format(provider: OllamaProvider, fake: FakeOllama) -> None:
    schema = {"type": "object", "properties": {"age": {"type": "integer"}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "p", "schema": schema}}
    await provider.chat(request(response_format=fmt, max_completion_tokens=9), NO_KEY)
    body = fake.last_request.body
    assert body["format"] == schema
    assert body["options"] == {"num_predict": 9}


def test_options_reject_what_ollama_cannot_do(provider: OllamaProvider) -> None:
    for name, value in (("n", 2), ("logprobs", True), ("logit_bias", {"1": 1})):
        with pytest.raises(UnsupportedParameter) as info:
            provider.validate_params(MODEL, {name: value}, operation="chat", drop_unknown=False)
        assert info.value.param == name
    schema = provider.card(MODEL).parameters["properties"]
    assert {"top_k", "num_ctx"} <= set(schema)


# --- tools ----------------------------------------------------------------------------------
async def test_tools_travel_and_calls_come_back_with_json_arguments(
    provider: OllamaProvider, fake: FakeOllama
) -> None:
    fake.enqueue(Reply(text="", tool_calls=[ToolCall("get_weather", {"city": "Paris"})]))
    result = await provider.chat(request(tools=[WEATHER], tool_choice="auto"), NO_KEY)

    assert fake.last_request.body["tools"] == [WEATHER]
    choice = result["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["id"].startswith("call_")
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}


async def test_streamed_tool_calls_become_deltas(
    provider: OllamaProvider, fake: FakeOllama
) -> None:
    calls = [ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_weather", {"city": "Oslo"})]
    fake.enqueue(Reply(text="", tool_calls=calls))
    chunks = await stream(provider, request(tools=[WEATHER]))

    deltas = [tc for c in chunks for ch in c["choices"] for tc in ch["delta"].get("tool_calls", [])]
    assert [d["index"] for d in deltas] == [0, 1]
    assert [json.loads(d["function"]["arguments"])["city"] for d in deltas] == ["Paris", "Oslo"]
    assert len({d["id"] for d in deltas}) == 2
    finishes = [ch["finish_reason"] for c in chunks for ch in c["choices"] if ch["finish_reason"]]
    assert finishes == ["tool_calls"]


async def test_tool_history_uses_objects_and_tool_names(
    provider: OllamaProvider, fake: FakeOllama
) -> None:
    call = {
        "id": "call_9",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    messages = [
        *HELLO,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_9", "content": "21 C"},
    ]
    await provider.chat(request(messages, tools=[WEATHER]), NO_KEY)
    sent = fake.last_request.body["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
    }
    assert sent[2] == {"role": "tool", "content": "21 C", "tool_name": "get_weather"}


async def test_tool_choice_none_withholds_tools_and_required_is_refused(
    provider: OllamaProvider, fake: FakeOllama
) -> None:
    await provider.chat(request(tools=[WEATHER], tool_choice="none"), NO_KEY)
    assert "tools" not in fake.last_request.body
    with pytest.raises(UnsupportedParameter) as info:
        await provider.chat(request(tools=[WEATHER], tool_choice="required"), NO_KEY)
    assert info.value.param == "tool_choice"


# --- images ---------------------------------------------------------------------------------
async def test_images_travel_as_base64_beside_the_text(
    provider: OllamaProvider, fake: FakeOllama
) -> None:
    content = [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    await provider.chat(ChatRequest("llava", [{"role": "user", "content": content}]), NO_KEY)
    assert fake.last_request.body["messages"] == [
        {"role": "user", "content": "what is this?", "images": ["iVBORw0KGgo="]}
    ]
    assert provider.capabilities("llava:13b").vision
    assert not provider.capabilities(MODEL).vision


async def test_image_links_are_refused_not_fetched(
    provider: OllamaProvider, fake: FakeOllama
) -> None:
    content = [{"type": "image_url", "image_url": {"url": "http://169.254.169.254/x.png"}}]
    with pytest.raises(InvalidRequest) as info:
        await provider.chat(request([{"role": "user", "content": content}]), NO_KEY)
    assert info.value.param == "messages[0].content[0].image_url"
    assert fake.requests == []


# --- finish reasons, usage ------------------------------------------------------------------
async def test_length_and_usage_are_normalised(provider: OllamaProvider, fake: FakeOllama) -> None:
    reply = Reply(text="one two three four", usage=Usage(9, 2))
    fake.enqueue(reply, reply)
    result = await provider.chat(request(max_tokens=2), NO_KEY)
    assert result["choices"][0]["finish_reason"] == "length"
    assert result["usage"] == {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}
    streamed = await collect(provider.stream_chat(request(max_tokens=2), NO_KEY))
    assert streamed["choices"][0]["message"]["content"] == "one two"
    assert streamed["choices"][0]["finish_reason"] == "length"
    assert streamed.get("usage") == result["usage"]


# --- errors ---------------------------------------------------------------------------------
async def test_rate_limit_keeps_retry_after(provider: OllamaProvider, fake: FakeOllama) -> None:
    fake.enqueue(Error(429, "too many requests", retry_after=3))
    with pytest.raises(UpstreamRateLimited) as info:
        await provider.chat(request(), NO_KEY)
    assert info.value.retry_after == 3
    assert info.value.message == "ollama: too many requests"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (Error(500, "llama runner process has terminated"), UpstreamUnavailable),
        (Error(400, "invalid options"), InvalidRequest),
    ],
)
async def test_errors_map_to_the_error_tree(
    provider: OllamaProvider, fake: FakeOllama, error: Error, expected: type[Exception]
) -> None:
    fake.enqueue(error)
    with pytest.raises(expected) as info:
        await provider.chat(request(), NO_KEY)
    assert str(info.value) == f"ollama: {error.message}"


async def test_a_model_not_pulled_is_model_not_found(fake: FakeOllama) -> None:
    fake.strict_models = True
    adapter = OllamaProvider(ProviderSettings(name="o", type="ollama", base_url=fake.url))
    try:
        with pytest.raises(ModelNotFound) as info:
            await adapter.chat(ChatRequest("mistral", HELLO), NO_KEY)
    finally:
        await adapter.aclose()
    assert 'model "mistral" not found' in info.value.message


async def test_an_error_line_in_the_stream_raises(
    provider: OllamaProvider, fake: FakeOllama
) -> None:
    fake.enqueue(Reply(error_after=1), Reply(disconnect_after=1))
    with pytest.raises(UpstreamUnavailable) as info:
        await stream(provider, request())
    assert "an error was encountered while running the model" in info.value.message
    with pytest.raises(UpstreamProtocolError):
        await stream(provider, request())


async def test_a_shared_ollama_gets_the_bearer_token() -> None:
    with FakeOllama(api_key="proxy-secret") as fake:
        adapter = OllamaProvider(ProviderSettings(name="o", type="ollama", base_url=fake.url))
        try:
            await adapter.chat(request(), Credentials(api_key="proxy-secret"))
            assert fake.last_request.headers["Authorization"] == "Bearer proxy-secret"
            with pytest.raises(UpstreamAuthError):
                await adapter.chat(request(), NO_KEY)
        finally:
            await adapter.aclose()


# --- embeddings and models ------------------------------------------------------------------
async def test_embeddings_use_api_embed(provider: OllamaProvider, fake: FakeOllama) -> None:
    params = provider.validate_params(
        "nomic-embed-text", {"dimensions": 4}, operation="embeddings", drop_unknown=False
    )
    result = await provider.embed(
        EmbeddingRequest("nomic-embed-text", ["a b", "c"], params), NO_KEY
    )

    assert result.vectors == [embedding_for("a b", 4), embedding_for("c", 4)]
    assert result.prompt_tokens == 3
    assert fake.last_request.path == "/api/embed"
    assert fake.last_request.body == {
        "model": "nomic-embed-text",
        "input": ["a b", "c"],
        "dimensions": 4,
    }
    with pytest.raises(InvalidRequest):
        await provider.embed(EmbeddingRequest("nomic-embed-text", [[1, 2]]), NO_KEY)


async def test_list_models_reads_tags(provider: OllamaProvider, fake: FakeOllama) -> None:
    cards = {c.upstream_id: c for c in await provider.list_models(NO_KEY)}
    assert set(cards) == {"llama3.2:latest", "qwen2.5:7b", "nomic-embed-text:latest"}
    assert cards["llama3.2:latest"].id == "ollama/llama3.2:latest"
    assert cards["llama3.2:latest"].capabilities.chat
    assert cards["nomic-embed-text:latest"].capabilities.embeddings
    assert not cards["nomic-embed-text:latest"].capabilities.chat
    assert fake.last_request.path == "/api/tags"


# --- through PlugAI with the official client ------------------------------------------------
async def test_end_to_end_with_the_openai_sdk(plugai: Callable[..., Any], fake: FakeOllama) -> None:
    providers = [{"name": "local", "type": "ollama", "base_url": fake.url}]
    async with plugai(providers=providers) as h:
        answer = await h.openai.chat.completions.create(
            model="local/llama3.2", messages=HELLO, max_tokens=10, extra_body={"num_ctx": 4096}
        )
        events = await h.openai.chat.completions.create(
            model="local/llama3.2", messages=HELLO, stream=True
        )
        pieces = [e async for e in events]
        vectors = await h.openai.embeddings.create(model="local/nomic-embed-text", input="hi")

    assert answer.choices[0].message.content == "echo: hello there"
    assert answer.usage is not None and answer.usage.completion_tokens == 3
    chats = [r for r in fake.requests if r.path == "/api/chat"]
    assert chats[0].body["options"] == {"num_predict": 10, "num_ctx": 4096}
    assert "".join(p.choices[0].delta.content or "" for p in pieces if p.choices) == (
        "echo: hello there"
    )
    assert pieces[-1].choices[0].finish_reason == "stop"
    assert vectors.data[0].embedding == embedding_for("hi")
