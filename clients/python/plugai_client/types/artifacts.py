"""Generated files (``/v1/artifacts``) and the generation jobs that make them (``/v1/jobs``)."""

from __future__ import annotations

from typing import Any

from plugai_client.types._base import Model
from plugai_client.types.generation import MeshesResponse
from plugai_client.types.images import ImagesResponse

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


class Artifact(Model):
    """A generated image, mesh or preview; ``url`` downloads it without a key until it expires."""

    id: str
    object: str = "artifact"
    kind: str  # image, mesh or preview
    mime_type: str
    bytes: int
    filename: str
    sha256: str
    created_at: int
    expires_at: int | None  # None: pinned or kept forever
    pinned: bool
    model: str | None
    job_id: str | None
    width: int | None = None
    height: int | None = None
    seed: int | None = None
    format: str | None = None
    vertices: int | None = None
    faces: int | None = None
    preview_id: str | None = None
    metadata: dict[str, Any]
    url: str


class ArtifactList(Model):
    object: str = "list"
    data: list[Artifact]
    first_id: str | None
    last_id: str | None
    has_more: bool


class ArtifactDeleted(Model):
    id: str
    object: str = "artifact.deleted"
    deleted: bool = True


class JobProgress(Model):
    step: int
    steps: int
    fraction: float | None
    eta_seconds: float | None


class JobError(Model):
    message: str
    type: str
    param: str | None
    code: str | None


class Job(Model):
    """An ``"async": true`` generation: queued, running, succeeded, failed or cancelled."""

    id: str
    object: str = "generation.job"
    kind: str  # images or 3d
    model: str
    status: str
    progress: JobProgress
    result: dict[str, Any] | None  # the synchronous endpoint's body, once succeeded
    error: JobError | None
    created_at: int
    started_at: int | None
    finished_at: int | None

    @property
    def finished(self) -> bool:
        """True once it succeeded, failed or was cancelled."""
        return self.status in TERMINAL

    def images(self) -> ImagesResponse:
        """The result of a succeeded ``images`` job, as ``client.images.generate`` returns it."""
        return ImagesResponse.model_validate(self._result("images"))

    def meshes(self) -> MeshesResponse:
        """The result of a succeeded ``3d`` job, as ``client.meshes.generate`` returns it."""
        return MeshesResponse.model_validate(self._result("3d"))

    def _result(self, kind: str) -> dict[str, Any]:
        if self.kind != kind:
            raise ValueError(f"job {self.id} is a {self.kind!r} job, not {kind!r}")
        if self.result is None:
            raise ValueError(f"job {self.id} has no result ({self.status})")
        return self.result


class JobList(Model):
    object: str = "list"
    data: list[Job]
    first_id: str | None
    last_id: str | None
    has_more: bool
