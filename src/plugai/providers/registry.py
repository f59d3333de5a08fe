"""Adapter registry: adapter type name → class. Adding a provider is one module plus
one entry here; nothing else in PlugAI knows provider names."""

from __future__ import annotations

from collections.abc import Iterable

from plugai.core.errors import ConfigError
from plugai.providers.base import Provider
from plugai.settings import ProviderSettings, Settings


class ProviderRegistry:
    def __init__(self, adapters: Iterable[type[Provider]]) -> None:
        self._adapters: dict[str, type[Provider]] = {}
        for adapter in adapters:
            self.register(adapter)

    def register(self, adapter: type[Provider]) -> None:
        for name in (adapter.adapter, *adapter.aliases):
            self._adapters[name] = adapter

    def types(self) -> list[str]:
        return sorted(self._adapters)

    def build(self, config: ProviderSettings, settings: Settings | None = None) -> Provider:
        adapter = self._adapters.get(config.type)
        if adapter is None:
            raise ConfigError(
                f"providers: {config.name}: unknown type {config.type!r} "
                f"(known: {', '.join(self.types())})"
            )
        return adapter.build(config, settings)


def default_registry() -> ProviderRegistry:
    """Every adapter that ships with PlugAI."""
    from plugai.providers.anthropic import AnthropicProvider
    from plugai.providers.gemini import GeminiProvider
    from plugai.providers.huggingface import HuggingFaceProvider
    from plugai.providers.local import LocalProvider
    from plugai.providers.ollama import OllamaProvider
    from plugai.providers.openai import OpenAIProvider
    from plugai.providers.runner import RunnerProvider
    from plugai.providers.stability import StabilityProvider

    return ProviderRegistry(
        [
            AnthropicProvider,
            GeminiProvider,
            HuggingFaceProvider,
            LocalProvider,
            OllamaProvider,
            OpenAIProvider,
            RunnerProvider,
            StabilityProvider,
        ]
    )
