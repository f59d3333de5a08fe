"""Canonical image-generation types (shared by providers and local engines)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# step i of n (1-based, over the whole request); called as a generation advances
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class InputImage:
    """An image a request starts from (image-to-image, image-to-3D), already fetched."""

    data: bytes
    mime: str


@dataclass(slots=True)
class ImageRequest:
    model: str
    prompt: str
    n: int = 1
    params: dict[str, Any] = field(default_factory=dict)  # size, quality, style, seed, …
    image: InputImage | None = None  # image-to-image
    # Local engines write their files here (a staging folder of the artifact store).
    output_dir: Path | None = None
    progress: Progress | None = None


@dataclass(slots=True)
class GeneratedImage:
    """The bytes (``b64_json``), a file a local engine wrote (``path``), or a URL the
    upstream serves."""

    b64_json: str | None = None
    url: str | None = None
    revised_prompt: str | None = None
    path: Path | None = None
    mime: str = "image/png"
    meta: dict[str, Any] = field(default_factory=dict)  # width, height, seed


@dataclass(slots=True)
class ImageResult:
    images: list[GeneratedImage]
    created: int = 0
