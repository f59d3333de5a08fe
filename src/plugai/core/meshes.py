"""Canonical 3D-generation types: text or an image in, a mesh file (and a preview) out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from plugai.core.images import InputImage, Progress

MeshFormat = Literal["glb", "obj", "ply"]
MESH_MIME: dict[str, str] = {
    "glb": "model/gltf-binary",
    "obj": "model/obj",
    "ply": "application/ply",
}


@dataclass(slots=True)
class MeshRequest:
    model: str
    prompt: str | None = None
    image: InputImage | None = None
    format: MeshFormat = "glb"
    params: dict[str, Any] = field(default_factory=dict)  # guidance, steps, seed, resolution
    output_dir: Path | None = None  # local engines write here
    progress: Progress | None = None


@dataclass(slots=True)
class GeneratedFile:
    """One output: a file a local engine wrote (``path``) or bytes from a provider."""

    mime: str
    path: Path | None = None
    data: bytes | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class GeneratedMesh:
    mesh: GeneratedFile  # meta: format, vertices, faces
    preview: GeneratedFile | None = None  # a PNG, when the generator renders one


@dataclass(slots=True)
class MeshResult:
    meshes: list[GeneratedMesh]
    created: int = 0
