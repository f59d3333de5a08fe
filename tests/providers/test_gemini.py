"""The Gemini adapter against a fake Gemini API over real HTTP: request conversion
(roles, system instruction, media, tools, generationConfig), answers and streams back to
canonical chunks, safety blocks, error mapping, embeddings and the model list."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import openai
import pytest

from plugai.core.chat import ChatChunk, ChatRequest, collect
from plugai.core.credentials import Credentials
from plugai.core.embeddings import EmbeddingRequest
from plugai.core.errors import (
    InvalidRequest,
    ModelNotFound,
    UnsupportedParameter,
    UpstreamAuthError,
    UpstreamRateLimited,
    UpstreamUnavailable,
)
from plugai.providers.gemini import SIGNATURE, GeminiProvider, completion_of
from plugai.providers.registry import default_registry
from plugai.settings import ProviderSettings
from tests.fakes import Error, FakeGemini, Reply, ToolCall, Usage, embedding_for

CREDS = Credentials(api_key="gm-key")
MODEL = "gemini-2.0-flash"
HELLO = [{"role": "user", "content": "hello there"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "additionalProperties": False,
        },
    },
}
PNG_URL = "data:image/png;base64,iVBORw0KGgo="
SIGNED = f"call_1{SIGNATURE}c2lnbmF0dXJl"  # a call id carrying Gemini's thoughtSignature


@pytest.fixture
def fake() -> Iterator[FakeGemini]:
    with FakeGemini(api_key="gm-key") as server:
        yield server


@pytest.fixture
async def provider(fake: FakeGemini) -> AsyncIterator[GeminiProvider]:
    adapter = default_registry().build(
        ProviderSettings(name="gemini", type="gemini", base_url=fake.url)
    )
    assert isinstance(adapter, GeminiProvider)
    yield adapter
    await adapter.aclose()


def request(messages: list[dict[str, Any]] | None = None, **params: Any) -> ChatRequest:
    return ChatRequest(MODEL, messages or HELLO, params)


async def stream(provider: GeminiProvider, req: ChatRequest) -> list[ChatChunk]:
    return [c async for c in provider.stream_chat(req, CREDS)]


# --- chat -----------------------------------------------------------------------------------
async def test_chat_converts_roles_and_system_and_maps_the_answer(
    provider: GeminiProvider, fake: FakeGemini
) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": [{"type": "text", "text": "No emojis."}]},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "hello there"},
    ]
    result = await provider.chat(request(messages), CREDS)

    assert result["object"] == "chat.completion"
    assert result["choices"][0]["message"] == {"role": "assistant", "content": "echo: hello there"}
    assert result["choices"][0]["finish_reason"] == "stop"
    assert result["usage"] == {"prompt_tokens": 8, "completion_tokens": 3, "total_tokens": 11}
    sent = fake.last_request
    assert sent.path == f"/v1beta/models/{MODEL}:generateContent"
    assert sent.headers["x-goog-api-key"] == "gm-key"
    assert sent.body["systemInstruction"] == {
        "parts": [{"text": "Be brief."}, {"text": "No emojis."}]
    }
    assert sent.body["contents"] == [
        {"role": "user", "parts": [{"text": "hi"}]},
        {"role": "model", "parts": [{"text": "hello"}]},
        {"role": "user", "parts": [{"text": "hello there"}]},
    ]
    assert "generationConfig" not in sent.body


async def test_stream_yields_role_text_finish_then_usage(
    provider: GeminiProvider, fake: FakeGemini
) -> None:
    chunks = await stream(provider, request())

    assert fake.last_request.path == f"/v1beta/models/{MODEL}:streamGenerateContent"
    assert fake.last_request.query["alt"] == "sse"
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    texts = [c["choices"][0]["delta"].get("content") for c in chunks[1:4]]
    assert texts == ["echo:", " hello", " there"]
    assert chunks[4]["choices"][0]["finish_reason"] == "stop"
    assert chunks[5]["choices"] == []
    assert chunks[5]["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}
    assert len(chunks) == 6
    assert len({c["id"] for c in chunks}) == 1


async def test_multiple_candidates_become_choices(
    provider: GeminiProvider, fake: FakeGemini
) -> None:
    # the fake answers one candidate; n still travels as candidateCount
    await provider.chat(request(n=2), CREDS)
    assert fake.last_request.body["generationConfig"] == {"candidateCount": 2}
    answer = {
        "candidates": [
            {"content": {"parts": [{"text": "a"}]}, "finishReason": "STOP"},
            {"content": {"parts": [{"text": "b"}]}, "finishReason": "MAX_TOKENS", "index": 1},
        ]
    }
    result = completion_of(answer, MODEL, "gemini")
    assert [
        (c["index"], c["message"]["content"], c["finish_reason"]) for c in result["choices"]
    ] == [
        (0, "a", "stop"),
        (1, "b", "length"),
    ]


# --- parameters -----------------------------------------------------------------------------
async def test_parameters_become_generation_config(
    provider: GeminiProvider, fake: FakeGemini
) -> None:
    params = provider.validate_params(
        MODEL,
        {
            "temperature": 0.3,
            "top_p": 0.9,
            "top_k": 40,
            "max_completion_tokens": 50,
            "stop": "END",
            "seed": 7,
            "presence_penalty": 0.5,
            "frequency_penalty": -0.5,
            "response_format": {"type": "json_object"},
        },
        operation="chat",
        drop_unknown=False,
    )
    await provider.chat(request(**params), CREDS)
    assert fake.last_request.body["generationConfig"] == {
        "temperature": 0.3,
        "topP": 0.9,
        "topK": 40,
        "maxOutputTokens": 50,
        "stopSequences": ["END"],
        "seed": 7,
        "presencePenalty": 0.5,
        "frequencyPenalty": -0.5,
        "responseMimeType": "application/json",
    }


async def test_json_schema_goes_as_response_json_schema(
    provider: GeminiProvider, fake: FakeGemini
) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema, "strict": True}}
    await provider.chat(request(response_format=fmt, max_tokens=20, stop=["a", "b"]), CREDS)
    assert fake.last_request.body["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseJsonSchema": schema,
        "maxOutputTokens": 20,
        "stopSequences": ["a", "b"],
    }


def test_options_reject_what_gemini_cannot_do(provider: GeminiProvider) -> None:
    with pytest.raises(UnsupportedParameter) as info:
        provider.validate_params(
            MODEL, {"logit_bias": {"1": 2}}, operation="chat", drop_unknown=False
        )
    assert info.value.param == "logit_bias"
    with pytest.raises(InvalidRequest) as bad:
        provider.validate_params(MODEL, {"top_k": 0}, operation="chat", drop_unknown=False)
    assert bad.value.param == "top_k"
    schema = provider.card(MODEL).parameters["properties"]
    assert "top_k" in schema
    assert "logprobs" not in schema


# --- tools ----------------------------------------------------------------------------------
async def test_tools_and_tool_choice_become_declarations_and_config(
    provider: GeminiProvider, fake: FakeGemini
) -> None:
    choices: list[tuple[Any, dict[str, Any]]] = [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"mode": "ANY", "allowedFunctionNames": ["get_weather"]},
        ),
    ]
    for choice, config in choices:
        await provider.chat(request(tools=[WEATHER], tool_choice=choice), CREDS)
        body = fake.last_request.body
        assert body["tools"] == [
            {
                "functionDeclarations": [
                    {
                        "name": "get_weather",
                        "description": "Weather in a city",
                        "parametersJsonSchema": WEATHER["function"]["parameters"],
                    }
                ]
            }
        ]
        assert body["toolConfig"] == {"functionCallingConfig": config}


async def test_function_calls_come_back_as_tool_calls(
    provider: GeminiProvider, fake: FakeGemini
) -> None:
    fake.enqueue(Reply(text="", tool_calls=[ToolCall("get_weather", {"city": "Paris"})]))
    result = await provider.chat(request(tools=[WEATHER]), CREDS)

    choice = result["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["id"].startswith("call_")
    assert call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}


async def test_streamed_function_calls_become_tool_call_deltas(
    provider: GeminiProvider, fake: FakeGemini
) -> None:
    calls = [ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_weather", {"city": "Oslo"})]
    fake.enqueue(Reply(text="", tool_calls=calls))
    chunks = await stream(provider, request(tools=[WEATHER]))

    deltas = [tc for c in chunks for ch in c["choices"] for tc in ch["delta"].get("tool_calls", [])]
    assert [d["index"] for d in deltas] == [0, 1]
    assert [json.loads(d["function"]["arguments"]) for d in deltas] == [
        {"city": "Paris"},
        {"city": "Oslo"},
    ]
    assert all(d["id"].startswith("call_") and d["type"] == "function" for d in deltas)
    assert [ch["finish_reason"] for c in chunks for ch in c["choices"] if ch["finish_reason"]] == [
        "tool_calls"
    ]


async def test_tool_history_becomes_function_call_and_response_parts(
    provider: GeminiProvider, fake: FakeGemini
) -> None:
    messages = [
        {"role": "user", "content": "weather in Paris and Oslo?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": SIGNED,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": ""},
                },
            ],
        },
        {"role": "tool", "tool_call_id": SIGNED, "content": '{"temp": 21}'},
        {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
    ]
    await provider.chat(request(messages, tools=[WEATHER]), CREDS)

    contents = fake.last_request.body["contents"]
    assert contents[1] == {
        "role": "model",
        "parts": [
            {
                "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                "thoughtSignature": "c2lnbmF0dXJl",
            },
            {"functionCall": {"name": "get_time", "args": {}}},
        ],
    }
    assert contents[2] == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}},
            {"functionResponse": {"name": "get_time", "response": {"result": "noon"}}},
        ],
    }


def test_thought_signatures_ride_in_the_tool_call_id() -> None:
    answer = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "thinking…", "thought": True},
                        {
                            "functionCall": {"name": "f", "args": {"x": 1}},
                            "thoughtSignature": "c2ln",
                        },
                    ],
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 4,
            "candidatesTokenCount": 2,
            "thoughtsTokenCount": 5,
        },
    }
    result = completion_of(answer, MODEL, "gemini")
    message = result["choices"][0]["message"]
    assert message["content"] is None  # thought summaries are not the answer
    (call,) = message["tool_calls"]
    assert call["id"].endswith(f"{SIGNATURE}c2ln")
    assert result["usage"] == {"prompt_tokens": 4, "completion_tokens": 7, "total_tokens": 11}


async def test_bad_tool_arguments_are_a_400_naming_them(provider: GeminiProvider) -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}
    messages = [*HELLO, {"role": "assistant", "content": None, "tool_calls": [call]}]
    with pytest.raises(InvalidRequest) as info:
        await provider.chat(request(messages), CREDS)
    assert info.value.param == "messages[1].tool_calls[0].function.arguments"


# --- media ----------------------------------------------------------------------------------
async def test_images_become_inline_data_or_file_data(
    provider: GeminiProvider, fake: FakeGemini
) -> None:
    content = [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": PNG_URL}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.webp?x=1"}},
    ]
    await provider.chat(request([{"role": "user", "content": content}]), CREDS)
    assert fake.last_request.body["contents"][0]["parts"] == [
        {"text": "what is this?"},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"fileData": {"mimeType": "image/webp", "fileUri": "https://example.com/cat.webp?x=1"}},
    ]


async def test_a_malformed_image_is_a_400_naming_the_part(provider: GeminiProvider) -> None:
    content = [{"type": "image_url", "image_url": {"url": "data:image/png,raw"}}]
    with pytest.raises(InvalidRequest) as info:
        await provider.chat(request([{"role": "user", "content": content}]), CREDS)
    assert info.value.param == "messages[0].content[0]"


# --- finish reasons, safety -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("reply", "params", "finish"),
    [
        (Reply(text="one two three four"), {"max_tokens": 2}, "length"),
        (Reply(finish_reason="SAFETY"), {}, "content_filter"),
        (Reply(finish_reason="RECITATION"), {}, "content_filter"),
        (Reply(finish_reason="OTHER"), {}, "stop"),
    ],
)
async def test_finish_reasons_are_normalised(
    provider: GeminiProvider, fake: FakeGemini, reply: Reply, params: dict[str, Any], finish: str
) -> None:
    fake.enqueue(reply, reply)
    result = await provider.chat(request(**params), CREDS)
    assert result["choices"][0]["finish_reason"] == finish
    streamed = await collect(provider.stream_chat(request(**params), CREDS))
    assert streamed["choices"][0]["finish_reason"] == finish


async def test_usage_comes_from_usage_metadata(provider: GeminiProvider, fake: FakeGemini) -> None:
    fake.enqueue(Reply(usage=Usage(11, 4)), Reply(usage=Usage(11, 4)))
    expected = {"prompt_tokens": 11, "completion_tokens": 4, "total_tokens": 15}
    assert (await provider.chat(request(), CREDS))["usage"] == expected
    assert (await stream(provider, request()))[-1]["usage"] == expected


async def test_a_blocked_prompt_is_a_clear_content_filter_error(
    provider: GeminiProvider, fake: FakeGemini
) -> None:
    fake.enqueue(Reply(block_reason="PROHIBITED_CONTENT"), Reply(block_reason="SAFETY"))
    with pytest.raises(InvalidRequest) as info:
        await provider.chat(request(), CREDS)
    assert info.value.code == "content_filter"
    assert "PROHIBITED_CONTENT" in info.value.message
    with pytest.raises(InvalidRequest) as streamed:
        await stream(provider, request())
    assert streamed.value.code == "content_filter"
    assert "SAFETY" in streamed.value.message


# --- errors ---------------------------------------------------------------------------------
async def test_rate_limit_carries_retry_info_as_retry_after(
    provider: GeminiProvider, fake: FakeGemini
) -> None:
    fake.enqueue(Error(429, retry_after=7), Error(429, retry_after=2.5))
    with pytest.raises(UpstreamRateLimited) as info:
        await provider.chat(request(), CREDS)
    assert info.value.retry_after == 7
    assert info.value.headers["Retry-After"] == "7"
    assert "Resource has been exhausted" in info.value.message
    with pytest.raises(UpstreamRateLimited) as streamed:
        await stream(provider, request())
    assert streamed.value.retry_after == 2.5


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (Error(500), UpstreamUnavailable),
        (Error(503), UpstreamUnavailable),
        (Error(400, "Invalid JSON payload received."), InvalidRequest),
    ],
)
async def test_errors_map_to_the_error_tree(
    provider: GeminiProvider, fake: FakeGemini, error: Error, expected: type[Exception]
) -> None:
    fake.enqueue(error)
    with pytest.raises(expected) as info:
        await provider.chat(request(), CREDS)
    assert isinstance(info.value, expected)
    assert str(info.value).startswith("gemini: ")


async def test_unknown_model_and_missing_key(fake: FakeGemini) -> None:
    fake.strict_models = True
    adapter = GeminiProvider(ProviderSettings(name="g", type="gemini", base_url=fake.url))
    try:
        with pytest.raises(ModelNotFound) as info:
            await adapter.chat(ChatRequest("gemini-0-nope", HELLO), CREDS)
        assert "gemini-0-nope is not found" in info.value.message
        with pytest.raises(UpstreamAuthError):
            await adapter.chat(request(), Credentials())
    finally:
        await adapter.aclose()


async def test_an_error_in_the_stream_raises_after_the_chunks_so_far(
    provider: GeminiProvider, fake: FakeGemini
) -> None:
    fake.enqueue(Reply(error_after=1, error=Error(503)))
    seen: list[ChatChunk] = []

    async def consume() -> None:
        async for item in provider.stream_chat(request(), CREDS):
            seen.append(item)

    with pytest.raises(UpstreamUnavailable):
        await consume()
    assert [c["choices"][0]["delta"] for c in seen] == [
        {"role": "assistant", "content": ""},
        {"content": "echo:"},
    ]


# --- embeddings and models ------------------------------------------------------------------
async def test_embeddings_use_batch_embed_contents(
    provider: GeminiProvider, fake: FakeGemini
) -> None:
    params = provider.validate_params(
        "text-embedding-004", {"dimensions": 4}, operation="embeddings", drop_unknown=False
    )
    result = await provider.embed(
        EmbeddingRequest("text-embedding-004", ["a b", "c"], params), CREDS
    )

    assert result.vectors == [embedding_for("a b", 4), embedding_for("c", 4)]
    sent = fake.last_request
    assert sent.path == "/v1beta/models/text-embedding-004:batchEmbedContents"
    assert sent.body["requests"][0] == {
        "model": "models/text-embedding-004",
        "content": {"parts": [{"text": "a b"}]},
        "outputDimensionality": 4,
    }
    with pytest.raises(InvalidRequest) as info:
        await provider.embed(EmbeddingRequest("text-embedding-004", [[1, 2]]), CREDS)
    assert info.value.param == "input"


async def test_list_models_strips_the_prefix_and_reads_limits() -> None:
    names = [f"gemini-x-{i}" for i in range(1001)] + ["text-embedding-004"]
    with FakeGemini(models=names) as fake:
        adapter = GeminiProvider(ProviderSettings(name="g", type="gemini", base_url=fake.url))
        try:
            cards = {c.upstream_id: c for c in await adapter.list_models(CREDS)}
        finally:
            await adapter.aclose()
    assert len(cards) == 1002  # two pages
    assert cards["gemini-x-0"].id == "g/gemini-x-0"
    assert cards["gemini-x-0"].context_length == 1048576
    assert cards["gemini-x-0"].capabilities.chat
    embedder = cards["text-embedding-004"]
    assert (embedder.capabilities.chat, embedder.capabilities.embeddings) == (False, True)
    assert embedder.context_length == 2048
    assert [r.query.get("pageToken") for r in fake.requests] == [None, "1000"]


# --- through PlugAI with the official client ------------------------------------------------
async def test_end_to_end_with_the_openai_sdk(plugai: Callable[..., Any], fake: FakeGemini) -> None:
    providers = [{"name": "gemini", "type": "gemini", "base_url": fake.url, "api_key": "gm-key"}]
    async with plugai(providers=providers) as h:
        answer = await h.openai.chat.completions.create(
            model="gemini/gemini-2.0-flash",
            messages=HELLO,
            temperature=0.2,
            extra_body={"top_k": 5},
        )
        events = await h.openai.chat.completions.create(
            model="gemini/gemini-2.0-flash",
            messages=HELLO,
            stream=True,
            stream_options={"include_usage": True},
        )
        pieces = [e async for e in events]
        fake.enqueue(Reply(block_reason="SAFETY"))
        with pytest.raises(openai.BadRequestError) as blocked:
            await h.openai.chat.completions.create(model="gemini/gemini-2.0-flash", messages=HELLO)

    assert answer.choices[0].message.content == "echo: hello there"
    assert answer.usage is not None and answer.usage.total_tokens == 5
    generated = [r for r in fake.requests if r.path.endswith(":generateContent")]
    assert generated[0].body["generationConfig"] == {"temperature": 0.2, "topK": 5}
    text = "".join(p.choices[0].delta.content or "" for p in pieces if p.choices)
    assert text == "echo: hello there"
    assert pieces[-1].usage is not None and pieces[-1].usage.completion_tokens == 3
    assert blocked.value.code == "content_filter"
    assert "SAFETY" in blocked.value.message
