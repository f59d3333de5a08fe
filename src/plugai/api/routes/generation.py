"""Image and 3D generation: ``POST /v1/images/generations`` (OpenAI's shape) and
``POST /v1/3d/generations`` (PlugAI's). Both answer at once, or with ``"async": true``
202 and a job to follow at ``/v1/jobs/{id}``. Outputs are the caller's artifacts."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response

from plugai.api.deps import ArtifactsDep, CallCtx, GenerationDep, JobsDep
from plugai.api.routes.artifacts import url_maker
from plugai.api.routes.jobs import job_out
from plugai.api.routes.openai import json_response
from plugai.artifacts.store import ArtifactStore
from plugai.generation.service import GenerationService
from plugai.jobs.runner import JobRunner
from plugai.protocol.generation import JobAccepted, MeshesResponse, MeshGenerationRequest
from plugai.protocol.openai import ImageGenerationRequest, ImagesResponse
from plugai.routing.gateway import CallContext

router = APIRouter(prefix="/v1", tags=["generation"])
ASYNC_ANSWER: dict[int | str, dict[str, Any]] = {
    202: {"model": JobAccepted, "description": 'With `"async": true`: the job.'}
}


Operation = Literal["images", "3d"]


async def _answer(
    operation: Operation,
    dumped: dict[str, Any],
    is_async: bool,
    request: Request,
    service: GenerationService,
    jobs: JobRunner,
    artifacts: ArtifactStore,
    ctx: CallContext,
) -> Response:
    """Check, then generate now — or queue a job (202) that runs the same call."""
    url_of = url_maker(request, artifacts)
    service.check(operation, dumped)
    run = service.images if operation == "images" else service.meshes
    if is_async:
        job = await jobs.submit(
            ctx.principal.user_id if ctx.principal else "",
            operation,
            dumped["model"],
            dumped,
            lambda progress: run(dumped, ctx, url_of, progress, progress.job_id),
        )
        return json_response(job_out(job, url_of).model_dump(mode="json"), status=202)
    return json_response(await run(dumped, ctx, url_of))


@router.post(
    "/images/generations",
    summary="Generate images from a prompt (or from an image: image-to-image)",
    response_model=None,
    responses={200: {"model": ImagesResponse}, **ASYNC_ANSWER},
)
async def images(
    body: ImageGenerationRequest,
    request: Request,
    service: GenerationDep,
    jobs: JobsDep,
    artifacts: ArtifactsDep,
    ctx: CallCtx,
) -> Response:
    dumped = body.model_dump(by_alias=True, exclude_unset=True)
    dumped.setdefault("response_format", body.response_format)
    return await _answer("images", dumped, body.async_, request, service, jobs, artifacts, ctx)


@router.post(
    "/3d/generations",
    summary="Generate a 3D model (GLB, OBJ or PLY) from a prompt or an image",
    response_model=None,
    responses={200: {"model": MeshesResponse}, **ASYNC_ANSWER},
)
async def meshes(
    body: MeshGenerationRequest,
    request: Request,
    service: GenerationDep,
    jobs: JobsDep,
    artifacts: ArtifactsDep,
    ctx: CallCtx,
) -> Response:
    dumped = body.model_dump(by_alias=True, exclude_unset=True)
    dumped.setdefault("format", body.format)
    return await _answer("3d", dumped, body.async_, request, service, jobs, artifacts, ctx)
