"""Generation jobs (``"async": true`` image and 3D requests): list, read, follow (SSE),
cancel. Each user sees only their own jobs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Query, Request
from starlette.responses import StreamingResponse

from plugai.api.deps import ArtifactsDep, CurrentUser, JobsDep
from plugai.api.routes.artifacts import url_maker
from plugai.api.sse import HEADERS, frame
from plugai.jobs.store import Job
from plugai.protocol.jobs import JobError, JobList, JobOut, JobProgress

router = APIRouter(prefix="/v1/jobs", tags=["generation jobs"])
log = structlog.get_logger("plugai.api")
PING = 15.0  # seconds between keep-alive comments on a quiet event stream
PING_FRAME = b": ping\n\n"
UrlOf = Callable[[str], str]


def _unix(when: datetime | None) -> int | None:
    return int(when.timestamp()) if when is not None else None


def _fresh_urls(value: Any, url_of: UrlOf) -> Any:
    """The result with every artifact's ``url`` signed anew (a stored one may have expired)."""
    if isinstance(value, list):
        return [_fresh_urls(v, url_of) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _fresh_urls(v, url_of) for k, v in value.items()}
    artifact_id, url = out.get("artifact_id"), out.get("url")
    if isinstance(artifact_id, str) and isinstance(url, str) and "/v1/artifacts/" in url:
        out["url"] = url_of(artifact_id)
    return out


def job_out(job: Job, url_of: UrlOf | None = None) -> JobOut:
    """The job object; with ``url_of`` (see ``artifacts.url_maker``) its result's artifact
    URLs are signed afresh."""
    result = job.result
    if result is not None and url_of is not None:
        result = _fresh_urls(result, url_of)
    return JobOut(
        id=job.id,
        kind=job.kind,  # one of KINDS, checked on submit
        model=job.model,
        status=job.status,
        progress=JobProgress(
            step=job.step, steps=job.steps, fraction=job.fraction, eta_seconds=job.eta_seconds
        ),
        result=result,
        error=JobError.model_validate(job.error) if job.error else None,
        created_at=int(job.created_at.timestamp()),
        started_at=_unix(job.started_at),
        finished_at=_unix(job.finished_at),
    )


@router.get("", summary="Your generation jobs, newest first")
async def list_jobs(
    request: Request,
    me: CurrentUser,
    jobs: JobsDep,
    artifacts: ArtifactsDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: Annotated[str | None, Query(max_length=100, description="A `last_id`.")] = None,
) -> JobList:
    found, more = await jobs.page(me.user_id, limit=limit, after=after)
    url_of = url_maker(request, artifacts)
    return JobList(
        data=[job_out(job, url_of) for job in found],
        first_id=found[0].id if found else None,
        last_id=found[-1].id if found else None,
        has_more=more,
    )


@router.get("/{job_id}", summary="One job: status, progress, result or error")
async def get_job(
    job_id: str, request: Request, me: CurrentUser, jobs: JobsDep, artifacts: ArtifactsDep
) -> JobOut:
    return job_out(await jobs.get(me.user_id, job_id), url_maker(request, artifacts))


async def _frames(events: AsyncGenerator[Job, None], url_of: UrlOf) -> AsyncIterator[bytes]:
    """``event: progress`` while it runs, then ``event: succeeded|failed|cancelled``; a
    ``: ping`` comment whenever nothing happened for PING seconds."""
    pending: asyncio.Future[Job] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(events))
            done, _ = await asyncio.wait({pending}, timeout=PING)
            if not done:
                yield PING_FRAME
                continue
            finished, pending = pending, None
            try:
                job = finished.result()
            except StopAsyncIteration:
                return
            name = job.status if job.terminal else "progress"
            yield frame(job_out(job, url_of).model_dump(mode="json"), event=name)
            if job.terminal:
                return
    except Exception:
        log.exception("job_events_failed")
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        with contextlib.suppress(RuntimeError):
            await events.aclose()


@router.get(
    "/{job_id}/events",
    summary="Progress as server-sent events, until the job ends",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def job_events(
    job_id: str, request: Request, me: CurrentUser, jobs: JobsDep, artifacts: ArtifactsDep
) -> StreamingResponse:
    await jobs.get(me.user_id, job_id)  # 404 before the stream starts
    events = jobs.subscribe(me.user_id, job_id)
    return StreamingResponse(
        _frames(events, url_maker(request, artifacts)),
        media_type="text/event-stream",
        headers=HEADERS,
    )


@router.post("/{job_id}/cancel", summary="Cancel a queued or running job")
async def cancel_job(
    job_id: str, request: Request, me: CurrentUser, jobs: JobsDep, artifacts: ArtifactsDep
) -> JobOut:
    return job_out(await jobs.cancel(me.user_id, job_id), url_maker(request, artifacts))
