"""The model registry API: list, pin, delete, scan, and download jobs with progress (SSE).

Any authenticated user may see what is installed; changes and downloads need an admin.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import StreamingResponse

from plugai.api.deps import AdminUser, CurrentUser
from plugai.api.sse import sse_response
from plugai.catalog.downloader import TERMINAL, Live, files_of
from plugai.catalog.registry import DOWNLOADING, FAILED
from plugai.catalog.service import RegistryService
from plugai.db.tables import DownloadJob, RegistryModel
from plugai.protocol.registry import (
    DeleteResult,
    DownloadFilePublic,
    DownloadJobList,
    DownloadJobPublic,
    DownloadRequest,
    ModelPatch,
    RegistryModelList,
    RegistryModelPublic,
    ScanResultPublic,
)

router = APIRouter(prefix="/v1/registry", tags=["model registry"])
EVENT_INTERVAL = 0.5


async def _service(request: Request) -> RegistryService:
    service: RegistryService = request.app.state.registry
    return service


Registry = Annotated[RegistryService, Depends(_service)]


def model_public(
    row: RegistryModel, job: DownloadJob | None = None, live: Live | None = None
) -> RegistryModelPublic:
    """A registry row; one in ``downloading`` or ``failed`` shows its job (``job``)."""
    download = None
    total_size = row.total_size
    if job is not None and row.state in (DOWNLOADING, FAILED) and job.name == row.id:
        download = job_public(job, live)
        if row.state == DOWNLOADING:
            total_size = job.bytes_total or sum(f.get("size") or 0 for f in row.files)
    return RegistryModelPublic(
        id=row.id,
        model=f"local/{row.id}",
        display_name=row.display_name,
        modality=row.modality,
        format=row.format,
        source=row.source,
        files=row.files,
        total_size=total_size,
        state=row.state,
        pinned=row.pinned,
        discovered=row.discovered,
        path=row.path,
        metadata=row.meta,
        error=row.error,
        last_used_at=row.last_used_at,
        created_at=row.created_at,
        download=download,
    )


def job_public(job: DownloadJob, live: Live | None = None) -> DownloadJobPublic:
    done = live.done if live is not None and job.state == "running" else job.bytes_done
    rate = live.rate if live is not None and job.state == "running" else None
    files = live.files if live is not None and job.state == "running" else files_of(job.files)
    eta = None
    if rate and job.bytes_total:
        eta = max(0.0, (job.bytes_total - done) / rate)
    return DownloadJobPublic(
        id=job.id,
        source=job.source,
        revision=job.revision,
        files=job.patterns,
        name=job.name,
        state=job.state,
        bytes_done=done,
        bytes_total=job.bytes_total,
        rate=rate,
        eta_seconds=eta,
        attempts=job.attempts,
        error=job.error,
        model=job.model_id,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        file_progress=[
            DownloadFilePublic(path=f.path, size=f.size, bytes_done=f.done, state=f.state)
            for f in files
        ],
    )


@router.get("/models", summary="Local models in the registry")
async def list_models(_user: CurrentUser, registry: Registry) -> RegistryModelList:
    """Ready, missing, and the models of downloads: ``downloading`` (with progress) and
    ``failed`` (with the error)."""
    rows = await registry.registry.all()
    jobs = await registry.downloads.latest(_in_download(rows))
    live = registry.downloads.live
    return RegistryModelList(
        data=[model_public(r, jobs.get(r.id), _live_of(live, jobs.get(r.id))) for r in rows]
    )


def _in_download(rows: list[RegistryModel]) -> list[str]:
    """Ids of the rows that show their download job."""
    return [r.id for r in rows if r.state in (DOWNLOADING, FAILED)]


def _live_of(live: dict[str, Live], job: DownloadJob | None) -> Live | None:
    return live.get(job.id) if job is not None else None


@router.get("/models/{model_id:path}", summary="One registry model")
async def get_model(model_id: str, _user: CurrentUser, registry: Registry) -> RegistryModelPublic:
    row = await registry.registry.get(model_id.removeprefix("local/"))
    jobs = await registry.downloads.latest(_in_download([row]))
    job = jobs.get(row.id)
    return model_public(row, job, _live_of(registry.downloads.live, job))


@router.patch("/models/{model_id:path}", summary="Pin or unpin a model")
async def patch_model(
    model_id: str, body: ModelPatch, _admin: AdminUser, registry: Registry
) -> RegistryModelPublic:
    row = await registry.registry.set_pinned(model_id.removeprefix("local/"), body.pinned)
    jobs = await registry.downloads.latest(_in_download([row]))
    return model_public(row, jobs.get(row.id))


@router.delete(
    "/models/{model_id:path}",
    summary="Delete (downloaded), unregister (discovered), or cancel the download (downloading)",
)
async def delete_model(model_id: str, _admin: AdminUser, registry: Registry) -> DeleteResult:
    model_id = model_id.removeprefix("local/")
    files_deleted = await registry.delete(model_id)
    return DeleteResult(id=model_id, files_deleted=files_deleted)


@router.post("/scan", summary="Find models in the model folders and the HF cache")
async def scan(_admin: AdminUser, registry: Registry) -> ScanResultPublic:
    result = await registry.scan()
    return ScanResultPublic(added=result.added, updated=result.updated, missing=result.missing)


@router.post("/downloads", status_code=202, summary="Download a model (hf://org/repo or a URL)")
async def create_download(
    body: DownloadRequest, admin: AdminUser, registry: Registry
) -> DownloadJobPublic:
    job = await registry.downloads.submit(
        body.source.strip(),
        sha256=body.sha256.lower() if body.sha256 else None,
        patterns=body.files,
        revision=body.revision,
        name=body.name,
        user_id=admin.user_id,
    )
    return job_public(job)


@router.get("/downloads", summary="Download jobs, newest first")
async def list_downloads(_admin: AdminUser, registry: Registry) -> DownloadJobList:
    runner = registry.downloads
    return DownloadJobList(data=[job_public(j, runner.live.get(j.id)) for j in await runner.all()])


@router.get("/downloads/{job_id}", summary="One download job's progress")
async def get_download(job_id: str, _admin: AdminUser, registry: Registry) -> DownloadJobPublic:
    job = await registry.downloads.get(job_id)
    return job_public(job, registry.downloads.live.get(job_id))


async def _events(registry: RegistryService, job_id: str) -> AsyncIterator[dict[str, Any]]:
    last: dict[str, Any] | None = None
    while True:
        job = await registry.downloads.get(job_id)
        event = job_public(job, registry.downloads.live.get(job_id)).model_dump(mode="json")
        if event != last:
            yield event
            last = event
        if job.state in TERMINAL:
            return
        await asyncio.sleep(EVENT_INTERVAL)


@router.get("/downloads/{job_id}/events", summary="Progress as server-sent events")
async def download_events(job_id: str, _admin: AdminUser, registry: Registry) -> StreamingResponse:
    await registry.downloads.get(job_id)  # 404 before the stream starts
    return await sse_response(_events(registry, job_id))


@router.delete("/downloads/{job_id}", summary="Cancel a download")
async def cancel_download(job_id: str, _admin: AdminUser, registry: Registry) -> DownloadJobPublic:
    return job_public(await registry.downloads.cancel(job_id))
