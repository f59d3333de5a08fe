"""``client.jobs``: generation jobs (``client.images.submit``, ``client.meshes.submit``).

    job = client.meshes.submit(model="local/shap-e", prompt="a red chair")
    for event in client.jobs.events(job.id):  # each a Job: status, progress, result
        print(event.status, event.progress.fraction, event.progress.eta_seconds)
    done = client.jobs.wait(job.id, on_progress=lambda j: print(j.progress.step))
    mesh = done.meshes().data[0]

``wait`` raises :class:`~plugai_client.GenerationError` when the job failed (with the
server's error object) or was cancelled.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from plugai_client.errors import APITimeoutError, GenerationError
from plugai_client.resources._base import AsyncResource, SyncResource, segment
from plugai_client.types.artifacts import Job, JobList

ROOT = "/v1/jobs"
OnProgress = Callable[[Job], object]


def _job(job_id: str) -> str:
    return f"{ROOT}/{segment(job_id)}"


def _outcome(job: Job) -> Job:
    if job.status != "succeeded":
        raise GenerationError(job)
    return job


def _timed_out(job_id: str, timeout: float | None) -> APITimeoutError:
    return APITimeoutError(f"generation job {job_id} still running after {timeout} s")


class Jobs(SyncResource):
    def list(self, *, limit: int = 20, after: str | None = None) -> JobList:
        """Your jobs, newest first; pass ``last_id`` as ``after`` for the next page."""
        return JobList.model_validate(
            self._t.json("GET", ROOT, params={"limit": limit, "after": after})
        )

    def get(self, job_id: str) -> Job:
        """One job now: status, progress, and its result or error once it ended."""
        return Job.model_validate(self._t.json("GET", _job(job_id)))

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job (returns it); one that has already ended raises
        :class:`~plugai_client.ConflictError`."""
        return Job.model_validate(self._t.json("POST", f"{_job(job_id)}/cancel"))

    def events(self, job_id: str, *, timeout: float | None = None) -> Iterator[Job]:
        """The job as it changes (server-sent events), ending with its final state. The
        request is sent now (an unknown id raises :class:`~plugai_client.NotFoundError`
        here); close the iterator to stop early. Past ``timeout`` seconds
        :class:`~plugai_client.APITimeoutError` is raised (checked on each event and on
        the server's keep-alive, every 15 s)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        _, events = self._t.events(
            f"{_job(job_id)}/events", None, method="GET", errors=False, deadline=deadline
        )

        def typed() -> Iterator[Job]:
            try:
                for event in events:
                    yield Job.model_validate(event)
            finally:
                close = getattr(events, "close", None)
                if close is not None:
                    close()

        return typed()

    def wait(
        self,
        job_id: str,
        *,
        on_progress: OnProgress | None = None,
        timeout: float | None = None,
    ) -> Job:
        """Follow the job until it ends, calling ``on_progress`` with each event; returns
        the succeeded job (``job.images()`` / ``job.meshes()`` hold the result). Raises
        :class:`~plugai_client.GenerationError` if it failed or was cancelled, and
        :class:`~plugai_client.APITimeoutError` after ``timeout`` seconds (the job goes on
        running on the server; cancel it with :meth:`cancel`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise _timed_out(job_id, timeout)
            last: Job | None = None
            try:
                for event in self.events(job_id, timeout=left):
                    last = event
                    if on_progress is not None:
                        on_progress(event)
            except APITimeoutError:
                raise _timed_out(job_id, timeout) from None
            if last is None or not last.finished:  # the stream ended early: ask
                last = self.get(job_id)
            if last.finished:
                return _outcome(last)


class AsyncJobs(AsyncResource):
    async def list(self, *, limit: int = 20, after: str | None = None) -> JobList:
        return JobList.model_validate(
            await self._t.json("GET", ROOT, params={"limit": limit, "after": after})
        )

    async def get(self, job_id: str) -> Job:
        return Job.model_validate(await self._t.json("GET", _job(job_id)))

    async def cancel(self, job_id: str) -> Job:
        return Job.model_validate(await self._t.json("POST", f"{_job(job_id)}/cancel"))

    async def events(self, job_id: str) -> AsyncIterator[Job]:
        """``async for event in await client.jobs.events(job_id)``."""
        _, events = await self._t.events(f"{_job(job_id)}/events", None, method="GET", errors=False)

        async def typed() -> AsyncIterator[Job]:
            try:
                async for event in events:
                    yield Job.model_validate(event)
            finally:
                close = getattr(events, "aclose", None)
                if close is not None:
                    await close()

        return typed()

    async def wait(
        self,
        job_id: str,
        *,
        on_progress: OnProgress | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (the twin of Jobs.wait)
    ) -> Job:
        """See :meth:`Jobs.wait`; ``on_progress`` may be a coroutine function."""
        try:
            async with asyncio.timeout(timeout):
                return await self._follow(job_id, on_progress)
        except TimeoutError:
            raise _timed_out(job_id, timeout) from None

    async def _follow(self, job_id: str, on_progress: OnProgress | None) -> Job:
        while True:
            last: Job | None = None
            async for event in await self.events(job_id):
                last = event
                if on_progress is not None:
                    result: Any = on_progress(event)
                    if inspect.isawaitable(result):  # an async callback is awaited
                        await result
            if last is None or not last.finished:  # the stream ended early: ask
                last = await self.get(job_id)
            if last.finished:
                return _outcome(last)
