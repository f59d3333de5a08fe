"""The Hugging Face adapter against a fake HF router over real HTTP: OpenAI-compatible chat
relayed through the OpenAI adapter, HF error bodies, model metadata from /v1/models and
embeddings through the hf-inference feature-extraction pipeline."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

from plugai.core.chat import ChatChunk, ChatRequest
from plugai.core.credentials import Credentials
from plugai.core.embeddings import EmbeddingRequest
from plugai.core.errors import (
    InvalidRequest,
    UnsupportedParameter,
    UpstreamAuthError,
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamUnavailable,
)
from plugai.providers.huggingface import ROUTER_URL, HuggingFaceProvider
from plugai.providers.openai import OpenAIProvider
from plugai.providers.registry import default_registry
from plugai.settings import ProviderSettings
from tests.fakes import Error, FakeHuggingFace, Reply, ToolCall, embedding_for
from tests.fakes.huggingface import hf_error_body

CREDS = Credentials(api_key="hf_test")
MODEL = "Qwen/Qwen2.5-7B-Instruct"
EMBEDDER = "BAAI/bge-small-en-v1.5"
HELLO = [{"role": "user", "content": "hello there"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


class FakeRouter(FakeHuggingFace):
    """The HF fake plus hf-inference's feature-extraction route, as documented
    (``router.huggingface.co/hf-inference/models/{model}/pipeline/feature-extraction``,
    body ``{"inputs": …}``, answer: one vector per input), and per-model router metadata
    (``architecture``, ``providers[]``) in /v1/models. Belongs in tests/fakes."""

    metadata: dict[str, dict[str, Any]] = {}

    def oa_model_obj(self, model: str) -> dict[str, Any]:
        return {**super().oa_model_obj(model), **self.metadata.get(model, {})}

    def setup_routes(self, app: web.Application) -> None:
        super().setup_routes(app)
        app.router.add_post(
            "/hf-inference/models/{model:.+}/pipeline/feature-extraction", self.features
        )

    async def features(self, request: web.Request) -> web.StreamResponse:
        rec = await self.record(request)
        denied = await self.oa_check_auth(request)
        if denied is not None:
            return denied
        behaviour = self.next_behaviour(request.path)
        if isinstance(behaviour, Error):
            return await self.send_error(request, behaviour, hf_error_body)
        reply = self.reply_for(behaviour)
        inputs = rec.body["inputs"]
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        vectors = (
            [list(v) for v in reply.embeddings]
            if reply.embeddings is not None
            else [embedding_for(t, self.embedding_dim) for t in texts]
        )
        return await self.send_json(
            request, reply, vectors[0] if isinstance(inputs, str) else vectors
        )


@pytest.fixture
def fake() -> Iterator[FakeRouter]:
    with FakeRouter() as server:
        yield server


@pytest.fixture
async def provider(fake: FakeRouter) -> AsyncIterator[HuggingFaceProvider]:
    adapter = default_registry().build(
        ProviderSettings(name="hf", type="huggingface", base_url=fake.url)
    )
    assert isinstance(adapter, HuggingFaceProvider)
    yield adapter
    await adapter.aclose()


def request(messages: list[dict[str, Any]] | None = None, **params: Any) -> ChatRequest:
    return ChatRequest(MODEL, messages or HELLO, params)


async def stream(provider: HuggingFaceProvider, req: ChatRequest) -> list[ChatChunk]:
    return [c async for c in provider.stream_chat(req, CREDS)]


# --- set-up ---------------------------------------------------------------------------------
async def test_defaults_to_the_router_and_keeps_openai_presets_apart() -> None:
    registry = default_registry()
    adapter = registry.build(ProviderSettings(name="hf", type="huggingface"))
    try:
        assert isinstance(adapter, HuggingFaceProvider)
        assert adapter.http.base_url == ROUTER_URL
        assert adapter.pipeline_url.format(model=EMBEDDER) == (
            "https://router.huggingface.co/hf-inference/models/BAAI/bge-small-en-v1.5"
            "/pipeline/feature-extraction"
        )
    finally:
        await adapter.aclose()
    groq = registry.build(ProviderSettings(name="g", type="groq", api_key="k"))
    assert type(groq) is OpenAIProvider


# --- chat -----------------------------------------------------------------------------------
async def test_chat_is_relayed_in_openai_shape(
    provider: HuggingFaceProvider, fake: FakeRouter
) -> None:
    result = await provider.chat(request(temperature=0.5, max_tokens=20), CREDS)

    assert result["choices"][0]["message"]["content"] == "echo: hello there"
    assert result["usage"] is not None and result["usage"]["total_tokens"] == 5
    sent = fake.last_request
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["Authorization"] == "Bearer hf_test"
    assert sent.body == {"model": MODEL, "messages": HELLO, "temperature": 0.5, "max_tokens": 20}


async def test_stream_asks_for_usage_and_relays_chunks(
    provider: HuggingFaceProvider, fake: FakeRouter
) -> None:
    chunks = await stream(provider, request())

    assert fake.last_request.body["stream_options"] == {"include_usage": True}
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "echo: hello there"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] == 5


async def test_tools_both_ways(provider: HuggingFaceProvider, fake: FakeRouter) -> None:
    fake.enqueue(Reply(text="", tool_calls=[ToolCall("get_weather", {"city": "Paris"})]))
    result = await provider.chat(request(tools=[WEATHER], tool_choice="required"), CREDS)

    assert fake.last_request.body["tools"] == [WEATHER]
    assert fake.last_request.body["tool_choice"] == "required"
    (call,) = result["choices"][0]["message"]["tool_calls"]
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert result["choices"][0]["finish_reason"] == "tool_calls"
    history = [
        *HELLO,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "21 C"},
    ]
    await provider.chat(request(history), CREDS)
    assert fake.last_request.body["messages"] == history


async def test_images_are_relayed(provider: HuggingFaceProvider, fake: FakeRouter) -> None:
    content = [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]
    await provider.chat(
        ChatRequest("Qwen/Qwen2.5-VL-7B-Instruct", [{"role": "user", "content": content}]), CREDS
    )
    assert fake.last_request.body["messages"][0]["content"] == content
    assert provider.capabilities("Qwen/Qwen2.5-VL-7B-Instruct").vision
    assert not provider.capabilities(MODEL).vision


def test_options_leave_out_what_the_router_rejects(provider: HuggingFaceProvider) -> None:
    with pytest.raises(UnsupportedParameter) as info:
        provider.validate_params(
            MODEL, {"logit_bias": {"1": 1}}, operation="chat", drop_unknown=False
        )
    assert info.value.param == "logit_bias"
    assert provider.validate_params(MODEL, {"seed": 1}, operation="chat", drop_unknown=False)


# --- errors ---------------------------------------------------------------------------------
async def test_hf_error_bodies_map_to_the_error_tree(
    provider: HuggingFaceProvider, fake: FakeRouter
) -> None:
    fake.enqueue(
        Error(429, retry_after=4),
        Error(503, "Service Unavailable"),
        Error(400, body={"error": ["Input validation error: `temperature` must be positive"]}),
    )
    with pytest.raises(UpstreamRateLimited) as limited:
        await provider.chat(request(), CREDS)
    assert limited.value.retry_after == 4
    assert limited.value.message == "hf: Rate limit reached. Please retry later."
    with pytest.raises(UpstreamUnavailable):
        await provider.chat(request(), CREDS)
    with pytest.raises(InvalidRequest) as invalid:
        await provider.chat(request(), CREDS)
    assert invalid.value.message == "hf: Input validation error: `temperature` must be positive"


async def test_a_bad_token_is_an_auth_error(provider: HuggingFaceProvider) -> None:
    with pytest.raises(UpstreamAuthError) as info:
        await provider.chat(request(), Credentials(api_key="not-an-hf-token"))
    assert "Invalid credentials" in info.value.message
    with pytest.raises(UpstreamAuthError):
        await provider.chat(request(), Credentials())


async def test_an_error_in_the_stream_raises(
    provider: HuggingFaceProvider, fake: FakeRouter
) -> None:
    fake.enqueue(Reply(error_after=1, error=Error(500, "CUDA out of memory")))
    with pytest.raises(UpstreamUnavailable) as info:
        await stream(provider, request())
    assert "CUDA out of memory" in info.value.message


# --- embeddings and models ------------------------------------------------------------------
async def test_embeddings_use_the_feature_extraction_pipeline(
    provider: HuggingFaceProvider, fake: FakeRouter
) -> None:
    assert provider.capabilities(EMBEDDER).embeddings
    assert provider.validate_params(EMBEDDER, {}, operation="embeddings", drop_unknown=False) == {}
    result = await provider.embed(EmbeddingRequest(EMBEDDER, ["a b", "c"]), CREDS)

    assert result.vectors == [embedding_for("a b"), embedding_for("c")]
    sent = fake.last_request
    assert sent.path == f"/hf-inference/models/{EMBEDDER}/pipeline/feature-extraction"
    assert sent.body == {"inputs": ["a b", "c"]}
    assert sent.headers["Authorization"] == "Bearer hf_test"


async def test_token_level_features_are_mean_pooled(
    provider: HuggingFaceProvider, fake: FakeRouter
) -> None:
    fake.enqueue(Reply(embeddings=[[[1.0, 2.0], [3.0, 4.0]]]), Reply(embeddings=[[1.0]]))  # type: ignore[list-item]
    result = await provider.embed(EmbeddingRequest(EMBEDDER, ["x"]), CREDS)
    assert result.vectors == [[2.0, 3.0]]
    with pytest.raises(UpstreamProtocolError):
        await provider.embed(EmbeddingRequest(EMBEDDER, ["x", "y"]), CREDS)
    with pytest.raises(UnsupportedParameter):
        provider.validate_params(
            EMBEDDER, {"dimensions": 8}, operation="embeddings", drop_unknown=False
        )


async def test_list_models_reads_router_metadata(
    provider: HuggingFaceProvider, fake: FakeRouter
) -> None:
    cards = {c.upstream_id: c for c in await provider.list_models(CREDS)}
    assert set(cards) == set(fake.models)
    card = cards[MODEL]
    assert card.id == f"hf/{MODEL}"
    assert card.owned_by == "Qwen"
    assert card.capabilities.tools

    fake.metadata = {
        "google/gemma-3-27b-it": {
            "architecture": {"input_modalities": ["text", "image"]},
            "providers": [
                {"provider": "a", "context_length": 32768, "supports_tools": False},
                {"provider": "b", "context_length": 131072, "supports_tools": False},
            ],
        }
    }
    fake.models.append("google/gemma-3-27b-it")
    richer = {c.upstream_id: c for c in await provider.list_models(CREDS)}["google/gemma-3-27b-it"]
    assert richer.context_length == 131072
    assert richer.capabilities.vision
    assert not richer.capabilities.tools


# --- through PlugAI with the official client ------------------------------------------------
async def test_end_to_end_with_the_openai_sdk(plugai: Callable[..., Any], fake: FakeRouter) -> None:
    providers = [{"name": "hf", "type": "huggingface", "base_url": fake.url, "api_key": "hf_op"}]
    async with plugai(providers=providers) as h:
        answer = await h.openai.chat.completions.create(model=f"hf/{MODEL}", messages=HELLO)
        events = await h.openai.chat.completions.create(
            model=f"hf/{MODEL}", messages=HELLO, stream=True
        )
        pieces = [e async for e in events]
        vectors = await h.openai.embeddings.create(model=f"hf/{EMBEDDER}", input=["hi"])

    assert answer.choices[0].message.content == "echo: hello there"
    assert "".join(p.choices[0].delta.content or "" for p in pieces if p.choices) == (
        "echo: hello there"
    )
    assert vectors.data[0].embedding == embedding_for("hi")
    assert all(r.headers["Authorization"] == "Bearer hf_op" for r in fake.requests)
