"""``client.registry.downloads`` (admin key): download jobs — start, follow, cancel.

    job = client.registry.downloads.create("hf://org/repo-GGUF", files=["*Q4_K_M.gguf"])
    for event in client.registry.downloads.events(job.id):
        print(event.state, event.bytes_done, event.bytes_total, event.rate, event.eta_seconds)
        for f in event.file_progress:  # the job's files, fetched one after the other
            print(f.path, f.state, f.bytes_done, f.size)

``client.registry.pull(…)`` does both and returns the finished job.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from plugai_client.errors import DownloadError
from plugai_client.resources._base import AsyncResource, SyncResource, segment
from plugai_client.types.registry import DownloadJob, DownloadJobList

ROOT = "/v1/registry/downloads"
OnProgress = Callable[[DownloadJob], object]


def _job(job_id: str) -> str:
    return f"{ROOT}/{segment(job_id)}"


def download_body(
    source: str,
    sha256: str | None,
    files: Sequence[str] | None,
    revision: str | None,
    name: str | None,
) -> dict[str, Any]:
    if isinstance(files, str):  # one pattern given as a string
        files = [files]
    body: dict[str, Any] = {"source": source}
    optional = {
        "sha256": sha256,
        "files": list(files) if files else None,
        "revision": revision,
        "name": name,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def _outcome(last: DownloadJob) -> DownloadJob:
    if last.state != "done":
        raise DownloadError(last)
    return last


class Downloads(SyncResource):
    def create(
        self,
        source: str,
        *,
        sha256: str | None = None,
        files: Sequence[str] | None = None,
        revision: str | None = None,
        name: str | None = None,
    ) -> DownloadJob:
        """Start downloading ``source`` (``hf://org/repo`` or an http(s) URL of a .gguf
        file) and return the queued job without waiting. A source already being
        downloaded returns that job."""
        body = download_body(source, sha256, files, revision, name)
        return DownloadJob.model_validate(self._t.json("POST", ROOT, body=body))

    def list(self) -> list[DownloadJob]:
        """Every download job, newest first."""
        return DownloadJobList.model_validate(self._t.json("GET", ROOT)).data

    def get(self, job_id: str) -> DownloadJob:
        """One job's progress now."""
        return DownloadJob.model_validate(self._t.json("GET", _job(job_id)))

    def cancel(self, job_id: str) -> DownloadJob:
        """Cancel a job (its partial files are removed); returns it, ``cancelled``."""
        return DownloadJob.model_validate(self._t.json("DELETE", _job(job_id)))

    def events(self, job_id: str) -> Iterator[DownloadJob]:
        """The job's progress as it changes (server-sent events), ending with the event of
        its final state. The request is sent now (an unknown id raises
        :class:`~plugai_client.NotFoundError` here); close the iterator to stop early."""
        _, events = self._t.events(f"{_job(job_id)}/events", None, method="GET")

        def typed() -> Iterator[DownloadJob]:
            try:
                for event in events:
                    yield DownloadJob.model_validate(event)
            finally:
                close = getattr(events, "close", None)
                if close is not None:
                    close()

        return typed()

    def wait(self, job_id: str, *, on_progress: OnProgress | None = None) -> DownloadJob:
        """Follow the job until it ends, calling ``on_progress`` with each event; the
        finished job, or :class:`~plugai_client.DownloadError` if it failed or was
        cancelled. Interrupting this leaves the job running on the server."""
        last: DownloadJob | None = None
        for event in self.events(job_id):
            last = event
            if on_progress is not None:
                on_progress(event)
        if last is None or not last.finished:
            last = self.get(job_id)
        return _outcome(last)


class AsyncDownloads(AsyncResource):
    async def create(
        self,
        source: str,
        *,
        sha256: str | None = None,
        files: Sequence[str] | None = None,
        revision: str | None = None,
        name: str | None = None,
    ) -> DownloadJob:
        body = download_body(source, sha256, files, revision, name)
        return DownloadJob.model_validate(await self._t.json("POST", ROOT, body=body))

    async def list(self) -> list[DownloadJob]:
        return DownloadJobList.model_validate(await self._t.json("GET", ROOT)).data

    async def get(self, job_id: str) -> DownloadJob:
        return DownloadJob.model_validate(await self._t.json("GET", _job(job_id)))

    async def cancel(self, job_id: str) -> DownloadJob:
        return DownloadJob.model_validate(await self._t.json("DELETE", _job(job_id)))

    async def events(self, job_id: str) -> AsyncIterator[DownloadJob]:
        """``async for event in await client.registry.downloads.events(job_id)``."""
        _, events = await self._t.events(f"{_job(job_id)}/events", None, method="GET")

        async def typed() -> AsyncIterator[DownloadJob]:
            try:
                async for event in events:
                    yield DownloadJob.model_validate(event)
            finally:
                close = getattr(events, "aclose", None)
                if close is not None:
                    await close()

        return typed()

    async def wait(self, job_id: str, *, on_progress: OnProgress | None = None) -> DownloadJob:
        last: DownloadJob | None = None
        async for event in await self.events(job_id):
            last = event
            if on_progress is not None:
                result = on_progress(event)
                if inspect.isawaitable(result):  # an async callback is awaited
                    await result
        if last is None or not last.finished:
            last = await self.get(job_id)
        return _outcome(last)
