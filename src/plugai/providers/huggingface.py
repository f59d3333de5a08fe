"""Hugging Face Inference Providers: the router's OpenAI-compatible chat API
(``router.huggingface.co/v1``), free tier included, with an ``hf_`` token.

Chat, streaming and the model list are OpenAI's wire format, so the OpenAI adapter does
the work; this adds the router's defaults, its error bodies, model metadata from
``/v1/models``, and embeddings through the ``hf-inference`` feature-extraction pipeline
(the router has no ``/v1/embeddings``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import BaseModel

from plugai.core.credentials import Credentials
from plugai.core.embeddings import EmbeddingRequest, EmbeddingResult
from plugai.core.errors import InvalidRequest, UpstreamProtocolError
from plugai.core.models import Capabilities, Modality, ModelCard
from plugai.core.parameters import subset
from plugai.providers.base import Operation
from plugai.providers.openai import OpenAIProvider, Preset
from plugai.providers.openai import error_message as openai_error_message
from plugai.settings import ProviderSettings

ROUTER_URL = "https://router.huggingface.co/v1"
PRESET = Preset(ROUTER_URL, without=frozenset({"logit_bias", "service_tier", "metadata", "store"}))
HuggingFaceEmbeddingOptions = subset("embeddings", frozenset({"dimensions", "user"}))
_EMBEDDING_HINTS = ("embed", "bge-", "/e5-", "gte-", "minilm", "mpnet", "sentence-transformers/")
_VISION_HINTS = ("-vl", "vision", "llava", "gemma-3", "llama-4", "pixtral", "glm-4.5v")


def error_message(body: Any) -> str | None:
    """Hub-style ``{"error": "…"}`` or ``{"error": ["…", …]}`` (validation), or the
    OpenAI envelope some providers behind the router send."""
    if isinstance(body, dict) and isinstance(body.get("error"), list):
        return "; ".join(str(e) for e in body["error"])
    return openai_error_message(body)


def _mean(rows: list[list[float]]) -> list[float]:
    """Mean pooling, for models that answer with one vector per token."""
    return [sum(column) / len(rows) for column in zip(*rows, strict=True)]


class HuggingFaceProvider(OpenAIProvider):
    adapter = "huggingface"
    aliases = ()  # not the OpenAI presets this class inherits from
    default_base_url = ROUTER_URL

    def __init__(self, config: ProviderSettings) -> None:
        super().__init__(
            config if config.base_url else config.model_copy(update={"base_url": ROUTER_URL})
        )
        self.preset = PRESET
        self.http.message_of = error_message
        root = self.http.base_url.removesuffix("/v1")
        self.pipeline_url = f"{root}/hf-inference/models/{{model}}/pipeline/feature-extraction"

    # --- declarations -------------------------------------------------------------------
    def capabilities(self, model: str) -> Capabilities:
        name = model.lower()
        if any(hint in name for hint in _EMBEDDING_HINTS):
            return Capabilities(chat=False, stream=False, embeddings=True)
        vision = any(hint in name for hint in _VISION_HINTS)
        return Capabilities(
            tools=True, vision=vision, json_schema=True, json_object=True, logprobs=True
        )

    def options(self, model: str, operation: Operation = "chat") -> type[BaseModel]:
        if operation == "embeddings":
            return HuggingFaceEmbeddingOptions
        return super().options(model, operation)

    # --- operations ---------------------------------------------------------------------
    async def embed(self, request: EmbeddingRequest, creds: Credentials) -> EmbeddingResult:
        if not all(isinstance(text, str) for text in request.inputs):
            raise InvalidRequest("Hugging Face embeds text, not token ids.", param="input")
        data = await self.http.json(
            "POST",
            self.pipeline_url.format(model=request.model),
            json={"inputs": list(request.inputs)},
            headers=self._headers(creds),
        )
        if not isinstance(data, list) or len(data) != len(request.inputs):
            raise UpstreamProtocolError(f"{self.name}: one vector per input was expected")
        try:
            vectors = [
                _mean(row) if row and isinstance(row[0], list) else list(map(float, row))
                for row in data
            ]
        except (TypeError, ValueError) as exc:
            raise UpstreamProtocolError(
                f"{self.name}: malformed feature-extraction answer"
            ) from exc
        return EmbeddingResult(vectors=vectors, model=request.model)

    async def list_models(self, creds: Credentials) -> list[ModelCard]:
        """The router's list says, per model, what its providers support."""
        data = await self.http.json("GET", "/models", headers=self._headers(creds))
        cards = []
        for item in (data or {}).get("data") or []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                cards.append(self._listed(item))
        return cards

    def _listed(self, item: dict[str, Any]) -> ModelCard:
        card = self.card(item["id"])
        card.created = int(item.get("created") or 0)
        card.owned_by = str(item.get("owned_by") or self.name)
        providers = [p for p in item.get("providers") or [] if isinstance(p, dict)]
        contexts = [
            p["context_length"] for p in providers if isinstance(p.get("context_length"), int)
        ]
        card.context_length = max(contexts) if contexts else None
        caps = card.capabilities
        if "image" in ((item.get("architecture") or {}).get("input_modalities") or []):
            caps = replace(caps, vision=True)
            card.input_modalities = [Modality.TEXT, Modality.IMAGE]
        if any("supports_tools" in p for p in providers):
            caps = replace(caps, tools=any(p.get("supports_tools") for p in providers))
        if any("supports_structured_output" in p for p in providers):
            caps = replace(
                caps, json_schema=any(p.get("supports_structured_output") for p in providers)
            )
        card.capabilities = caps
        return card
