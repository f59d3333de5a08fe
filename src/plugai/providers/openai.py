"""OpenAI's wire format: OpenAI itself and every OpenAI-compatible service (presets).

Chunks from a compatible upstream already have the canonical shape, so streaming relays
them as they come, without conversion: ``relay_chat`` / ``relay_complete`` hand on the
raw JSON of each event, decoding only what may be an error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from pydantic import BaseModel

from plugai.core.chat import ChatChunk, ChatCompletion, ChatRequest
from plugai.core.completions import CompletionRequest, TextCompletion
from plugai.core.credentials import Credentials
from plugai.core.embeddings import EmbeddingRequest, EmbeddingResult
from plugai.core.errors import (
    ConfigError,
    PlugAIError,
    UpstreamAuthError,
    UpstreamProtocolError,
)
from plugai.core.images import GeneratedImage, ImageRequest, ImageResult
from plugai.core.models import Capabilities, Modality, ModelCard
from plugai.core.parameters import subset
from plugai.providers.base import Operation, Provider
from plugai.providers.http import HttpUpstream, Timeouts, sse_data, sse_events, upstream_error
from plugai.settings import ProviderSettings


@dataclass(frozen=True, slots=True)
class Preset:
    base_url: str | None
    requires_key: bool = True
    without: frozenset[str] = frozenset()  # parameters the service rejects
    renames: Mapping[str, str] = field(default_factory=dict)  # ours → theirs
    stream_usage: bool = True  # accepts stream_options.include_usage
    vision_default: bool = False


DONE = b"[DONE]"
_NO_LOGPROBS = frozenset({"logprobs", "top_logprobs", "logit_bias"})
_OPENAI_ONLY = frozenset({"service_tier", "metadata", "store"})

PRESETS: dict[str, Preset] = {
    "openai": Preset("https://api.openai.com/v1"),
    "groq": Preset("https://api.groq.com/openai/v1", without=_NO_LOGPROBS | _OPENAI_ONLY),
    "together": Preset("https://api.together.xyz/v1", without=_OPENAI_ONLY),
    "mistral": Preset(
        "https://api.mistral.ai/v1",
        without=_NO_LOGPROBS | _OPENAI_ONLY | {"user", "reasoning_effort"},
        renames={"seed": "random_seed"},
    ),
    "deepseek": Preset("https://api.deepseek.com/v1", without=_OPENAI_ONLY | {"seed"}),
    "openrouter": Preset("https://openrouter.ai/api/v1", without=frozenset({"store"})),
    "fireworks": Preset("https://api.fireworks.ai/inference/v1", without=_OPENAI_ONLY),
    "xai": Preset("https://api.x.ai/v1", without=_OPENAI_ONLY),
    "perplexity": Preset(
        "https://api.perplexity.ai",
        without=_NO_LOGPROBS
        | _OPENAI_ONLY
        | {"tools", "tool_choice", "parallel_tool_calls", "n", "seed"},
    ),
    "vllm": Preset(None, requires_key=False, without=_OPENAI_ONLY),
    "llamacpp": Preset(None, requires_key=False, without=_OPENAI_ONLY),
    "lmstudio": Preset("http://127.0.0.1:1234/v1", requires_key=False, without=_OPENAI_ONLY),
    "ollama-openai": Preset(
        "http://127.0.0.1:11434/v1", requires_key=False, without=_NO_LOGPROBS | _OPENAI_ONLY
    ),
}

_VISION_HINTS = (
    "gpt-4o",
    "gpt-4.1",
    "gpt-5",
    "o1",
    "o3",
    "o4",
    "vision",
    "-vl",
    "pixtral",
    "llava",
)


def error_message(body: Any) -> str | None:
    """OpenAI: ``{"error": {"message": …}}``; compatible servers vary a little."""
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err)
        if isinstance(err, str):
            return err
        for key in ("message", "detail"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return None


class OpenAIProvider(Provider):
    adapter = "openai"
    aliases = tuple(name for name in PRESETS if name != "openai")

    def __init__(self, config: ProviderSettings) -> None:
        super().__init__(config)
        self.preset = PRESETS.get(config.type, PRESETS["openai"])
        base_url = config.base_url or self.preset.base_url
        if not base_url:
            raise ConfigError(f"providers: {config.name}: base_url is required for {config.type}")
        self.http = HttpUpstream(
            self.name,
            base_url,
            timeouts=Timeouts(config.connect_timeout, config.read_timeout, config.timeout),
            max_connections=config.max_connections,
            headers=config.headers,
            message_of=error_message,
        )

    # --- declarations -------------------------------------------------------------------
    def capabilities(self, model: str) -> Capabilities:
        name = model.lower()
        if "embed" in name:
            return Capabilities(chat=False, stream=False, embeddings=True)
        if name.startswith(("dall-e", "gpt-image")):
            return Capabilities(chat=False, stream=False, images=True)
        vision = self.preset.vision_default or any(h in name for h in _VISION_HINTS)
        return Capabilities(
            chat=True,
            completions=True,
            tools="tools" not in self.preset.without,
            vision=vision,
            json_schema=True,
            json_object=True,
            logprobs="logprobs" not in self.preset.without,
        )

    def options(self, model: str, operation: Operation = "chat") -> type[BaseModel]:
        return subset(operation, self.preset.without)

    def card(self, model: str) -> ModelCard:
        card = super().card(model)
        caps = card.capabilities
        if caps.vision:
            card.input_modalities = [Modality.TEXT, Modality.IMAGE]
        if caps.embeddings:
            card.output_modalities = [Modality.EMBEDDING]
        if caps.images:
            card.output_modalities = [Modality.IMAGE]
        return card

    # --- plumbing -----------------------------------------------------------------------
    def _headers(self, creds: Credentials) -> dict[str, str]:
        if creds.api_key:
            return {"Authorization": f"Bearer {creds.api_key}"}
        if self.preset.requires_key:
            raise UpstreamAuthError(f"{self.name}: no API key configured for this provider")
        return {}

    def _body(self, model: str, params: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"model": model, **fields}
        renames = self.preset.renames
        for key, value in params.items():
            body[renames.get(key, key)] = value
        return body

    def _check_chunk(self, obj: Any) -> None:
        if not isinstance(obj, dict):
            raise UpstreamProtocolError(f"{self.name}: stream event is not an object")
        if "error" in obj:
            err = upstream_error(
                self.name, int(obj.get("status") or 500), orjson.dumps(obj), {}, error_message
            )
            raise err

    def _check_raw(self, data: bytes) -> None:
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise UpstreamProtocolError(f"{self.name}: stream event is not JSON") from exc
        self._check_chunk(obj)

    async def _relay(
        self, path: str, body: dict[str, Any], creds: Credentials
    ) -> AsyncIterator[list[bytes]]:
        """The events' raw JSON, one list per network read, up to ``[DONE]``. Only an event
        that may be an error (or is no object) is decoded, to raise it. The gateway streams
        through this, not ``stream_chat``: a subclass that changes chunks overrides both."""
        if self.preset.stream_usage:
            body["stream_options"] = {"include_usage": True}
        async with self.http.request("POST", path, json=body, headers=self._headers(creds)) as resp:
            async for batch in sse_data(resp):
                done = DONE in batch
                if done:
                    batch = batch[: batch.index(DONE)]
                for i, data in enumerate(batch):
                    if data[:1] != b"{" or b'"error"' in data:
                        try:
                            self._check_raw(data)
                        except PlugAIError:
                            if i:  # what came before the error goes out first
                                yield batch[:i]
                            raise
                if batch:
                    yield batch
                if done:
                    return

    # --- operations ---------------------------------------------------------------------
    async def chat(self, request: ChatRequest, creds: Credentials) -> ChatCompletion:
        body = self._body(request.model, request.params, messages=request.messages)
        data = await self.http.json(
            "POST", "/chat/completions", json=body, headers=self._headers(creds)
        )
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
            raise UpstreamProtocolError(f"{self.name}: chat answer without choices")
        return cast(ChatCompletion, data)

    async def stream_chat(
        self, request: ChatRequest, creds: Credentials
    ) -> AsyncIterator[ChatChunk]:
        body = self._body(request.model, request.params, messages=request.messages, stream=True)
        if self.preset.stream_usage:
            body["stream_options"] = {"include_usage": True}
        async with self.http.request(
            "POST", "/chat/completions", json=body, headers=self._headers(creds)
        ) as resp:
            async for _event, data in sse_events(resp):
                if data == b"[DONE]":
                    return
                try:
                    obj = orjson.loads(data)
                except orjson.JSONDecodeError as exc:
                    raise UpstreamProtocolError(f"{self.name}: stream event is not JSON") from exc
                self._check_chunk(obj)
                yield cast(ChatChunk, obj)

    def relay_chat(self, request: ChatRequest, creds: Credentials) -> AsyncIterator[list[bytes]]:
        """``stream_chat`` as raw event JSON (see ``_relay``)."""
        body = self._body(request.model, request.params, messages=request.messages, stream=True)
        return self._relay("/chat/completions", body, creds)

    async def complete(self, request: CompletionRequest, creds: Credentials) -> TextCompletion:
        body = self._body(request.model, request.params, prompt=request.prompt)
        data = await self.http.json("POST", "/completions", json=body, headers=self._headers(creds))
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
            raise UpstreamProtocolError(f"{self.name}: completion answer without choices")
        return cast(TextCompletion, data)

    async def stream_complete(
        self, request: CompletionRequest, creds: Credentials
    ) -> AsyncIterator[TextCompletion]:
        body = self._body(request.model, request.params, prompt=request.prompt, stream=True)
        if self.preset.stream_usage:
            body["stream_options"] = {"include_usage": True}
        async with self.http.request(
            "POST", "/completions", json=body, headers=self._headers(creds)
        ) as resp:
            async for _event, data in sse_events(resp):
                if data == b"[DONE]":
                    return
                obj = orjson.loads(data)
                self._check_chunk(obj)
                yield cast(TextCompletion, obj)

    def relay_complete(
        self, request: CompletionRequest, creds: Credentials
    ) -> AsyncIterator[list[bytes]]:
        """``stream_complete`` as raw event JSON (see ``_relay``)."""
        body = self._body(request.model, request.params, prompt=request.prompt, stream=True)
        return self._relay("/completions", body, creds)

    async def embed(self, request: EmbeddingRequest, creds: Credentials) -> EmbeddingResult:
        body = self._body(
            request.model, request.params, input=request.inputs, encoding_format="float"
        )
        data = await self.http.json("POST", "/embeddings", json=body, headers=self._headers(creds))
        try:
            rows = sorted(data["data"], key=lambda d: d.get("index", 0))
            vectors = [list(map(float, row["embedding"])) for row in rows]
        except (KeyError, TypeError, ValueError) as exc:
            raise UpstreamProtocolError(f"{self.name}: malformed embeddings answer") from exc
        tokens = int((data.get("usage") or {}).get("prompt_tokens") or 0)
        return EmbeddingResult(
            vectors=vectors, prompt_tokens=tokens, model=str(data.get("model", ""))
        )

    async def generate_images(self, request: ImageRequest, creds: Credentials) -> ImageResult:
        params = dict(request.params)
        body = self._body(request.model, params, prompt=request.prompt, n=request.n)
        if request.model.startswith("dall-e"):
            body["response_format"] = "b64_json"
        data = await self.http.json(
            "POST", "/images/generations", json=body, headers=self._headers(creds)
        )
        try:
            images = [
                GeneratedImage(
                    b64_json=item.get("b64_json"),
                    url=item.get("url"),
                    revised_prompt=item.get("revised_prompt"),
                )
                for item in data["data"]
            ]
        except (KeyError, TypeError, AttributeError) as exc:
            raise UpstreamProtocolError(f"{self.name}: malformed images answer") from exc
        return ImageResult(images=images, created=int(data.get("created") or 0))

    async def list_models(self, creds: Credentials) -> list[ModelCard]:
        headers = self._headers(creds) if creds.api_key or self.preset.requires_key else {}
        data = await self.http.json("GET", "/models", headers=headers)
        cards = []
        for item in (data or {}).get("data") or []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                card = self.card(item["id"])
                card.created = int(item.get("created") or 0)
                card.owned_by = str(item.get("owned_by") or self.name)
                ctx = item.get("context_length") or item.get("max_model_len")
                card.context_length = int(ctx) if isinstance(ctx, int) else None
                cards.append(card)
        return cards

    async def aclose(self) -> None:
        await self.http.aclose()
