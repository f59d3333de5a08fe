"""PlugAI's 3D generation endpoint (``POST /v1/3d/generations``): text or an image in,
meshes out. The shape follows OpenAI's images API: ``created`` and a ``data`` list."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from plugai.protocol.openai import ASYNC_DOC, IMAGE_INPUT_DOC


class MeshGenerationRequest(BaseModel):
    """A model's own parameters (guidance_scale, steps, seed, mesh_resolution, … — see
    ``GET /v1/models/{id}/parameters``) travel alongside these fields."""

    model_config = ConfigDict(
        extra="allow",
        title="MeshGenerationRequest",
        json_schema_extra={
            "examples": [
                {"model": "local/shap-e", "prompt": "a red chair", "format": "glb"},
                {"model": "stability/stable-fast-3d", "image": "art_4f2c…", "async": True},
            ]
        },
    )

    model: str
    prompt: str | None = Field(
        None, min_length=1, max_length=32000, description="What to build (text-to-3D)."
    )
    image: str | None = Field(None, description=f"Build from this image. {IMAGE_INPUT_DOC}")
    format: Literal["glb", "obj", "ply"] = Field("glb", description="Mesh file format.")
    async_: bool = Field(False, alias="async", description=ASYNC_DOC)

    @model_validator(mode="after")
    def _needs_input(self) -> MeshGenerationRequest:
        if self.prompt is None and self.image is None:
            raise ValueError("Give a 'prompt' or an 'image'.")
        return self

    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ArtifactRef(BaseModel):
    artifact_id: str
    url: str = Field(description="Signed: it works without a key until it expires.")
    mime_type: str
    bytes: int


class MeshData(ArtifactRef):
    format: Literal["glb", "obj", "ply"]
    vertices: int | None = Field(None, description="Vertex count, when known.")
    faces: int | None = Field(None, description="Face count, when known.")
    preview: ArtifactRef | None = Field(None, description="A PNG rendering of the mesh.")


class MeshesResponse(BaseModel):
    created: int
    model: str
    data: list[MeshData]


class JobAccepted(BaseModel):
    """The 202 answer of an ``"async": true`` request (the job object)."""

    model_config = ConfigDict(extra="allow")

    id: str
    object: Literal["generation.job"] = "generation.job"
    status: str
