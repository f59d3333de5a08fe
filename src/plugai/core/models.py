"""Model cards: what a model is, what it can do and which parameters it accepts."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Modality(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    EMBEDDING = "embedding"
    MESH = "3d"


@dataclass(frozen=True, slots=True)
class Capabilities:
    chat: bool = True
    completions: bool = False
    stream: bool = True
    tools: bool = False
    vision: bool = False
    json_schema: bool = False
    json_object: bool = False
    logprobs: bool = False
    embeddings: bool = False
    images: bool = False
    meshes: bool = False  # 3D generation (text or image → mesh)

    def as_dict(self) -> dict[str, bool]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(slots=True)
class ModelCard:
    id: str  # what clients send: "provider/model" or an alias
    provider: str  # provider instance name from the config
    upstream_id: str  # the name the provider knows it by
    capabilities: Capabilities
    input_modalities: list[Modality] = field(default_factory=lambda: [Modality.TEXT])
    output_modalities: list[Modality] = field(default_factory=lambda: [Modality.TEXT])
    context_length: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)  # JSON Schema
    owned_by: str = ""
    created: int = 0
    aliases: list[str] = field(default_factory=list)
    source: str = "provider"  # "config" | "provider" | "local"
