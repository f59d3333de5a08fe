"""Embeddings (``POST /v1/embeddings``); base64 answers arrive decoded to floats."""

from __future__ import annotations

from typing import Literal

from plugai_client.types._base import Model


class Embedding(Model):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float]


class EmbeddingUsage(Model):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(Model):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage

    @property
    def vectors(self) -> list[list[float]]:
        return [item.embedding for item in sorted(self.data, key=lambda d: d.index)]
