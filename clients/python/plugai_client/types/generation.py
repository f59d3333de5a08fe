"""3D generation (``POST /v1/3d/generations``): meshes out, each one of your artifacts."""

from __future__ import annotations

from plugai_client.types._base import Model


class ArtifactRef(Model):
    """A stored file: ``url`` is signed and works without a key until it expires."""

    artifact_id: str
    url: str
    mime_type: str
    bytes: int


class Mesh(ArtifactRef):
    format: str  # glb, obj or ply
    vertices: int | None = None
    faces: int | None = None
    preview: ArtifactRef | None = None  # a PNG rendering of the mesh


class MeshesResponse(Model):
    created: int
    model: str
    data: list[Mesh]
