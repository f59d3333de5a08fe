"""Model cards (``GET /v1/models``, ``/v1/models/{id}``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from plugai_client.types._base import Model


class ModelCard(Model):
    """OpenAI's model object plus PlugAI's card: modalities, capabilities, parameters."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    provider: str
    input_modalities: list[str]
    output_modalities: list[str]
    capabilities: dict[str, bool]
    context_length: int | None = None
    aliases: list[str] = Field(default_factory=list)
    parameters: dict[str, Any]


class ModelList(Model):
    object: Literal["list"] = "list"
    data: list[ModelCard]
