"""Wire models of generation jobs (``/v1/jobs``): an ``"async": true`` image or 3D request
answers 202 with a job; its progress, result or error are read here or streamed (SSE)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobProgress(BaseModel):
    step: int = Field(description="Steps done (over the whole request).")
    steps: int = Field(description="Steps in all; 0 until the generator has said.")
    fraction: float | None = Field(description="0..1; null while unknown.")
    eta_seconds: float | None = Field(description="Estimated seconds left, from the step rate.")


class JobError(BaseModel):
    """The OpenAI error object, as an error envelope would carry it."""

    message: str
    type: str
    param: str | None
    code: str | None


class JobOut(BaseModel):
    id: str
    object: Literal["generation.job"] = "generation.job"
    kind: Literal["images", "3d"]
    model: str
    status: JobStatus
    progress: JobProgress
    result: dict[str, Any] | None = Field(
        description="On success: the body the synchronous endpoint would have answered."
    )
    error: JobError | None = Field(description="On failure: why.")
    created_at: int = Field(description="Unix time.")
    started_at: int | None
    finished_at: int | None


class JobList(BaseModel):
    object: Literal["list"] = "list"
    data: list[JobOut]
    first_id: str | None
    last_id: str | None = Field(description="Pass as `after` for the next page.")
    has_more: bool
