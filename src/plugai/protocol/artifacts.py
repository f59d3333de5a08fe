"""Wire models of the artifact API (``/v1/artifacts``): the caller's generated files."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ArtifactKind = Literal["image", "mesh", "preview"]


class ArtifactOut(BaseModel):
    """A generated file. ``url`` is signed: it works without an API key until it expires."""

    id: str
    object: Literal["artifact"] = "artifact"
    kind: ArtifactKind = Field(description="image, mesh, or preview (a mesh's rendering).")
    mime_type: str
    bytes: int
    filename: str
    sha256: str = Field(description="Also the file's ETag.")
    created_at: int = Field(description="Unix time.")
    expires_at: int | None = Field(
        description="Unix time it will be deleted; null when pinned or kept forever."
    )
    pinned: bool
    model: str | None
    job_id: str | None = Field(description="The generation job that made it, if any.")
    width: int | None = Field(None, description="Images: pixels.")
    height: int | None = Field(None, description="Images: pixels.")
    seed: int | None = Field(None, description="The seed used, when known.")
    format: str | None = Field(None, description="Meshes: glb, obj or ply.")
    vertices: int | None = Field(None, description="Meshes: vertex count.")
    faces: int | None = Field(None, description="Meshes: face count.")
    preview_id: str | None = Field(None, description="Meshes: the preview image's artifact id.")
    metadata: dict[str, Any] = Field(description="Everything the generator recorded.")
    url: str = Field(description="Signed download URL.")


class ArtifactList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ArtifactOut]
    first_id: str | None
    last_id: str | None = Field(description="Pass as `after` for the next page.")
    has_more: bool


class ArtifactPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pinned: bool = Field(description="Pinned artifacts never expire.")


class ArtifactDeleted(BaseModel):
    id: str
    object: Literal["artifact.deleted"] = "artifact.deleted"
    deleted: Literal[True] = True
