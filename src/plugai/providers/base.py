"""The one interface every provider adapter implements.

An adapter is constructed from its ``ProviderSettings`` (one instance per configured
provider), declares what its models can do and which parameters they accept (a pydantic
``Options`` model: its JSON Schema is the model card's ``parameters``), and speaks only core
types. Credentials arrive as an argument, never from global state.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import AsyncIterator
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ValidationError

from plugai.core.chat import ChatChunk, ChatCompletion, ChatRequest, collect
from plugai.core.completions import CompletionRequest, TextCompletion
from plugai.core.credentials import Credentials
from plugai.core.embeddings import EmbeddingRequest, EmbeddingResult
from plugai.core.errors import CapabilityNotSupported, InvalidRequest, UnsupportedParameter
from plugai.core.images import ImageRequest, ImageResult
from plugai.core.meshes import MeshRequest, MeshResult
from plugai.core.models import Capabilities, ModelCard
from plugai.core.parameters import parameter_schema
from plugai.settings import ProviderSettings, Settings

Operation = Literal["chat", "completions", "embeddings", "images", "3d"]


class Provider(ABC):
    """Base class: every operation is "not supported" until an adapter overrides it."""

    adapter: ClassVar[str]  # the registry name, e.g. "openai"
    aliases: ClassVar[tuple[str, ...]] = ()  # presets served by the same adapter
    default_base_url: ClassVar[str | None] = None
    requires_key: ClassVar[bool] = True

    def __init__(self, config: ProviderSettings) -> None:
        self.config = config
        self.name = config.name

    @classmethod
    def build(cls, config: ProviderSettings, settings: Settings | None = None) -> Provider:
        """Construct from the config; adapters needing more of the settings override this."""
        return cls(config)

    # --- what the models can do -------------------------------------------------------
    def capabilities(self, model: str) -> Capabilities:
        return Capabilities()

    def options(self, model: str, operation: Operation = "chat") -> type[BaseModel]:
        """The parameters ``model`` accepts for ``operation`` (an ``extra="forbid"`` model)."""
        raise CapabilityNotSupported(f"{self.name} does not offer {operation}.", param="model")

    def primary_operation(self, model: str) -> Operation:
        caps = self.capabilities(model)
        if caps.embeddings and not caps.chat:
            return "embeddings"
        if caps.images and not caps.chat:
            return "images"
        if caps.meshes and not caps.chat:
            return "3d"
        return "chat"

    def card(self, model: str) -> ModelCard:
        return ModelCard(
            id=f"{self.name}/{model}",
            provider=self.name,
            upstream_id=model,
            capabilities=self.capabilities(model),
            parameters=parameter_schema(self.options(model, self.primary_operation(model))),
            owned_by=self.name,
        )

    def validate_params(
        self, model: str, params: dict[str, Any], *, operation: Operation, drop_unknown: bool
    ) -> dict[str, Any]:
        """Check ``params`` against the model's options: unknown ones are a 400 naming the
        parameter (or dropped when configured so), values outside bounds a 400 as well."""
        options = self.options(model, operation)
        fields = options.model_fields
        unknown = [k for k in params if k not in fields]
        if unknown:
            if not (drop_unknown or self.config.drop_unsupported_params):
                raise UnsupportedParameter(
                    f"Unsupported parameter: '{unknown[0]}' is not supported by "
                    f"{self.name}/{model}.",
                    param=unknown[0],
                )
            params = {k: v for k, v in params.items() if k in fields}
        try:
            options.model_validate(params)
        except ValidationError as exc:
            err = exc.errors()[0]
            name = ".".join(str(p) for p in err["loc"]) or None
            raise InvalidRequest(
                f"Invalid value for '{name}': {err['msg']} (for {self.name}/{model}).", param=name
            ) from exc
        return params

    # --- operations ---------------------------------------------------------------------
    async def chat(self, request: ChatRequest, creds: Credentials) -> ChatCompletion:
        return await collect(self.stream_chat(request, creds))

    def stream_chat(self, request: ChatRequest, creds: Credentials) -> AsyncIterator[ChatChunk]:
        raise CapabilityNotSupported(f"{self.name} does not offer chat completions.", param="model")

    async def complete(self, request: CompletionRequest, creds: Credentials) -> TextCompletion:
        raise CapabilityNotSupported(f"{self.name} does not offer text completions.", param="model")

    def stream_complete(
        self, request: CompletionRequest, creds: Credentials
    ) -> AsyncIterator[TextCompletion]:
        raise CapabilityNotSupported(f"{self.name} does not offer text completions.", param="model")

    async def embed(self, request: EmbeddingRequest, creds: Credentials) -> EmbeddingResult:
        raise CapabilityNotSupported(f"{self.name} does not offer embeddings.", param="model")

    async def generate_images(self, request: ImageRequest, creds: Credentials) -> ImageResult:
        raise CapabilityNotSupported(f"{self.name} does not generate images.", param="model")

    async def generate_3d(self, request: MeshRequest, creds: Credentials) -> MeshResult:
        raise CapabilityNotSupported(f"{self.name} does not generate 3D models.", param="model")

    async def list_models(self, creds: Credentials) -> list[ModelCard]:
        """The models the upstream reports (empty when it cannot say)."""
        return []

    async def aclose(self) -> None:  # noqa: B027 - most adapters hold nothing to release
        """Release connection pools."""
