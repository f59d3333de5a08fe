"""A PlugAI runner on another machine (``plugai runner``) as a backend of this gateway.

A runner speaks PlugAI's own OpenAI-compatible API, so this adapter is the OpenAI adapter
plus what a runner's model cards say: each model's capabilities, and the local models'
parameters (``top_k``, ``min_p``, ``keep_alive``…) instead of OpenAI's. Its models show up
here as ``<provider>/local/<name>``; requests and streams are relayed as they come.
"""

from __future__ import annotations

from pydantic import BaseModel

from plugai.core.credentials import Credentials
from plugai.core.errors import ConfigError
from plugai.core.models import Capabilities, ModelCard
from plugai.local.options import LocalChatOptions, LocalCompletionOptions, LocalEmbeddingOptions
from plugai.providers.base import Operation
from plugai.providers.openai import OpenAIProvider, Preset
from plugai.settings import ProviderSettings

_OPTIONS: dict[str, type[BaseModel]] = {
    "chat": LocalChatOptions,
    "completions": LocalCompletionOptions,
    "embeddings": LocalEmbeddingOptions,
}
_TEXT = Capabilities(
    chat=True, completions=True, embeddings=True, json_schema=True, json_object=True
)


class RunnerProvider(OpenAIProvider):
    adapter = "runner"
    aliases = ()

    def __init__(self, config: ProviderSettings) -> None:
        if not config.base_url:
            raise ConfigError(
                f"providers: {config.name}: base_url is required for a runner "
                "(e.g. http://gpu-box:8081/v1)"
            )
        super().__init__(config)
        self.preset = Preset(None)  # base_url is the runner's /v1; its API key is required
        self._capabilities: dict[str, Capabilities] = {}

    def capabilities(self, model: str) -> Capabilities:
        return self._capabilities.get(model, _TEXT)

    def options(self, model: str, operation: Operation = "chat") -> type[BaseModel]:
        if operation not in _OPTIONS:
            return super().options(model, operation)
        return _OPTIONS[operation]

    async def list_models(self, creds: Credentials) -> list[ModelCard]:
        data = await self.http.json("GET", "/models", headers=self._headers(creds))
        for item in (data or {}).get("data") or []:
            caps = item.get("capabilities") if isinstance(item, dict) else None
            if isinstance(caps, dict) and isinstance(item.get("id"), str):
                known = set(Capabilities.__dataclass_fields__)
                flags = {k: bool(v) for k, v in caps.items() if k in known}
                self._capabilities[item["id"]] = Capabilities(**flags)
        return await super().list_models(creds)
