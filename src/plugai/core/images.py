"""Canonical image-generation types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class ImageRequest:
    model: str
    prompt: str
    n: int = 1
    params: dict[str, Any] = field(default_factory=dict)  # size, quality, style, seed, …


@dataclass(slots=True)
class GeneratedImage:
    """Either the bytes (``b64_json``) or a URL the upstream serves."""

    b64_json: str | None = None
    url: str | None = None
    revised_prompt: str | None = None


@dataclass(slots=True)
class ImageResult:
    images: list[GeneratedImage]
    created: int = 0
