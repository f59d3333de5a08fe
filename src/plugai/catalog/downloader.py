"""Download jobs: persisted, resumable, run in the background with bounded concurrency.

A job row is the truth; the process running it only adds the live rate. Jobs are claimed
with a conditional update (queued → running), so exactly one process runs each; the runner
holds a lock on the job (``models/.partial/<job>.lock``, an ``flock`` the kernel drops when
the process dies, SIGKILL included) and writes a heartbeat with each file's progress while
it works. A running job whose lock can be taken has lost its runner and goes back to the
queue at once (a restarted process takes back its own jobs as it starts); one without a
lock on this data dir (run from another machine) goes back when its heartbeat is older than
``local.download_stale``. It then resumes from the ``.part`` files on disk.
Files are downloaded into ``models/.partial/<job>/``, verified, and only when all of them
are complete is the folder moved into place and the model registered. From the request on,
the registry lists the model-to-be (state ``downloading``, then ``failed`` or ``ready``);
only a ``ready`` model is ever served or evicted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from plugai.catalog.fetch import Corrupted, FetchError, RemoteFile, fetch, file_size, sha256_of
from plugai.catalog.metadata import (
    diffusers_metadata,
    diffusers_modality,
    gguf_metadata,
    transformers_metadata,
)
from plugai.catalog.metrics import RegistryMetrics
from plugai.catalog.registry import JobGone, ModelRegistry
from plugai.catalog.sources import Plan, hf_plan, http_plan
from plugai.core.errors import Conflict, InvalidRequest, NotFound
from plugai.db.database import Database
from plugai.db.tables import DownloadJob, RegistryModel, utcnow
from plugai.settings import LocalSettings
from plugai.storage.manager import StorageManager, human

if sys.platform != "win32":
    import fcntl

log = structlog.get_logger("plugai.catalog")
QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
ACTIVE = (QUEUED, RUNNING)
TERMINAL = (DONE, FAILED, CANCELLED)
HEARTBEAT = 1.0  # seconds between progress writes
# a file's state in a job: waiting its turn, being fetched, verified and kept, or the cause
# of the job's failure
F_QUEUED, F_DOWNLOADING, F_DONE, F_FAILED = "queued", "downloading", "done", "failed"
TokenLookup = Callable[[str | None], Awaitable[str | None]]


@dataclass(slots=True)
class FileLive:
    """One file of a job: its bytes on disk and its state."""

    path: str
    size: int | None
    done: int = 0
    state: str = F_QUEUED


def files_of(plan: list[dict[str, Any]]) -> list[FileLive]:
    """Each file's progress as the job row last recorded it (files in ``DownloadJob.files``
    carry ``done`` and ``state`` next to what the plan said)."""
    return [
        FileLive(
            str(f["path"]),
            f.get("size"),
            int(f.get("done") or 0),
            str(f.get("state") or F_QUEUED),
        )
        for f in plan
    ]


@dataclass(slots=True)
class Live:
    """In-memory progress of a job this process runs (for rate and ETA), file by file."""

    done: int = 0
    total: int | None = None
    limit: int | None = None  # bytes this job may use, when its size was unknown
    samples: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=20))
    files: list[FileLive] = field(default_factory=list)
    current: FileLive | None = None
    _fresh: bool = False  # the next report is absolute: the bytes already on disk

    @classmethod
    def of(cls, job: DownloadJob) -> Live:
        files = files_of(job.files)
        return cls(done=sum(f.done for f in files), total=job.bytes_total, files=files)

    def begin(self, f: FileLive) -> None:
        """A try at ``f`` starts; ``fetch`` first reports the bytes already on disk."""
        self.current, self._fresh = f, True
        f.state = F_DOWNLOADING

    def add(self, n: int) -> None:
        f = self.current
        if f is not None:
            if self._fresh:  # absolute: count only what changed since the last record
                self._fresh = False
                n -= f.done
            f.done += n
        self.done += n
        self.samples.append((time.monotonic(), self.done))
        if self.limit is not None and self.done > self.limit:
            raise FetchError(
                f"storage full: the source did not announce its size and it outgrew the "
                f"{human(self.limit)} left (storage.limit / min_free_disk); nothing was kept",
                retryable=False,
            )

    @property
    def rate(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0

    def files_json(self, plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The job's ``files`` column: the plan, with each file's bytes done and state."""
        by_path = {f.path: f for f in self.files}
        out = []
        for entry in plan:
            f = by_path.get(str(entry["path"]))
            if f is None:
                out.append(entry)
            else:
                out.append(entry | {"done": f.done, "state": f.state})
        return out


class JobLock:
    """Which process runs a job, seen from its data dir: the runner holds an exclusive
    ``flock`` on ``models/.partial/<job>.lock`` from before it claims the job until the
    job's final state is written. The kernel drops it when the process dies (SIGKILL
    too), so a lock that can be taken proves that no process runs the job any more.
    Without ``flock`` (Windows) only the heartbeat tells."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def supported(self) -> bool:
        return sys.platform != "win32"

    def take(self) -> bool:
        """Hold the lock (False: another process holds it)."""
        if sys.platform == "win32":
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            mine, now = os.fstat(fd), os.stat(self.path)
            held = (mine.st_ino, mine.st_dev) == (now.st_ino, now.st_dev)
        except OSError:  # held elsewhere, or removed by its holder meanwhile
            held = False
        if not held:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self, *, remove: bool = False) -> None:
        if self._fd is None:
            return
        if remove:  # while still held: whoever opens it later makes a new one
            self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None


def backoff(attempt: int) -> float:
    return float(min(30.0, 0.5 * 2 ** max(0, attempt - 1)))


class DownloadRunner:
    def __init__(
        self,
        db: Database,
        registry: ModelRegistry,
        storage: StorageManager,
        settings: LocalSettings,
        token_of: TokenLookup,
        on_ready: Callable[[RegistryModel], None] = lambda _m: None,
        metrics: RegistryMetrics | None = None,
        *,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        self.db = db
        self.heartbeat = heartbeat
        self.stale = settings.download_stale  # no heartbeat this long, and no lock: requeued
        self.metrics = metrics or RegistryMetrics()
        self.registry = registry
        self.storage = storage
        self.settings = settings
        self.token_of = token_of
        self.on_ready = on_ready
        self.models_dir = storage.models_dir
        self.live: dict[str, Live] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._stopping = False

    @property
    def endpoint(self) -> str | None:
        return self.settings.hf_endpoint

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(auto_decompress=False)
        return self._session

    # --- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._dispatch(), name="plugai-downloads")

    async def stop(self) -> None:
        """Stop running jobs (they go back to the queue and resume at the next start)."""
        self._stopping = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    # --- the API --------------------------------------------------------------------------
    async def submit(
        self,
        source: str,
        *,
        sha256: str | None = None,
        patterns: list[str] | None = None,
        revision: str | None = None,
        name: str | None = None,
        user_id: str | None = None,
    ) -> DownloadJob:
        """A queued job for the source (the active one when the same source is asked again)."""
        patterns = patterns or []
        existing = await self._active_for(source, revision, patterns)
        if existing is not None:
            return existing
        plan = await self._plan(source, sha256, patterns, revision, name, user_id)
        model = await self.registry.find(plan.name)
        if model is not None and model.state == "ready":
            raise Conflict(
                f"A model named {plan.name!r} is already registered; delete it first or pass "
                "another 'name'.",
                param="name",
            )
        async with self.storage.lock:
            existing = await self._active_for(source, revision, patterns)
            if existing is not None:
                return existing
            if await self._active_name(plan.name):
                raise Conflict(f"A download of {plan.name!r} is already running.", param="name")
            await self.storage.make_room(plan.total_size)
            job = _new_job(source, revision, patterns, sha256, plan, user_id)
            async with self.db.session() as s, s.begin():
                s.add(job)
                await self.registry.downloading(
                    s, job, fmt=plan.format, modality=plan.modality, dest=self.models_dir / job.name
                )
        log.info("download_queued", job=job.id, source=source, bytes=job.bytes_total)
        self._wake.set()
        return job

    async def get(self, job_id: str) -> DownloadJob:
        async with self.db.session() as s:
            job = await s.get(DownloadJob, job_id)
        if job is None:
            raise NotFound(f"No download job {job_id!r}.", param="id")
        return job

    async def all(self) -> list[DownloadJob]:
        async with self.db.session() as s:
            rows = await s.scalars(select(DownloadJob).order_by(DownloadJob.created_at.desc()))
            return list(rows)

    async def latest(self, names: list[str]) -> dict[str, DownloadJob]:
        """The newest job of each of these model names (what a registry row in
        ``downloading`` or ``failed`` shows)."""
        if not names:
            return {}
        async with self.db.session() as s:
            rows = await s.scalars(
                select(DownloadJob)
                .where(DownloadJob.name.in_(names))
                .order_by(DownloadJob.created_at)
            )
            return {job.name: job for job in rows}

    async def active_of(self, name: str) -> DownloadJob | None:
        async with self.db.session() as s:
            rows = await s.scalars(
                select(DownloadJob)
                .where(DownloadJob.name == name, DownloadJob.state.in_(ACTIVE))
                .order_by(DownloadJob.created_at.desc())
            )
            return rows.first()

    async def cancel(self, job_id: str) -> DownloadJob:
        """Cancel a job: its partial files go, and its model-to-be leaves the registry."""
        job = await self.get(job_id)
        if job.state in TERMINAL:
            return job
        async with self.db.session() as s, s.begin():
            result = await s.execute(
                update(DownloadJob)
                .where(DownloadJob.id == job_id, DownloadJob.state.in_(ACTIVE))
                .values(state=CANCELLED, finished_at=utcnow(), updated_at=utcnow())
            )
            if getattr(result, "rowcount", 0):
                await self.registry.drop_downloading(s, job.name)
        task = self._tasks.get(job_id)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await asyncio.to_thread(shutil.rmtree, self._partial(job_id), True)
        lock = JobLock(self._lock_path(job_id))
        if task is None and lock.take():  # a dead runner's lock; a live one removes its own
            lock.release(remove=True)
        log.info("download_cancelled", job=job_id)
        return await self.get(job_id)

    # --- internals ------------------------------------------------------------------------
    async def _plan(
        self,
        source: str,
        sha256: str | None,
        patterns: list[str],
        revision: str | None,
        name: str | None,
        user_id: str | None,
    ) -> Plan:
        if source.startswith(("http://", "https://")):
            if patterns:
                raise InvalidRequest("'files' applies to hf:// sources only.", param="files")
            return await http_plan(self.session(), source, name, sha256)
        if source.startswith("hf://"):
            repo = source.removeprefix("hf://").strip("/")
            if repo.count("/") != 1:
                raise InvalidRequest("Use hf://org/repo.", param="source")
            token = await self.token_of(user_id)
            return await hf_plan(
                repo,
                revision=revision,
                patterns=patterns,
                name=name,
                endpoint=self.endpoint,
                token=token,
            )
        raise InvalidRequest("The source must be hf://org/repo or an http(s) URL.", param="source")

    async def _active_for(
        self, source: str, revision: str | None, patterns: list[str]
    ) -> DownloadJob | None:
        async with self.db.session() as s:
            rows = await s.scalars(
                select(DownloadJob).where(
                    DownloadJob.source == source, DownloadJob.state.in_(ACTIVE)
                )
            )
            for job in rows:
                if job.revision == revision and sorted(job.patterns) == sorted(patterns):
                    return job
        return None

    async def _active_name(self, name: str) -> bool:
        async with self.db.session() as s:
            found = await s.scalar(
                select(DownloadJob.id).where(
                    DownloadJob.name == name, DownloadJob.state.in_(ACTIVE)
                )
            )
        return found is not None

    def _partial(self, job_id: str) -> Path:
        return self.models_dir / ".partial" / job_id

    def _lock_path(self, job_id: str) -> Path:
        return self.models_dir / ".partial" / f"{job_id}.lock"

    async def _dispatch(self) -> None:
        while True:
            try:
                await self._requeue_stale()
                await self._claim()
            except Exception:  # the loop must outlive a database hiccup
                log.exception("download_dispatch_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.heartbeat)
            self._wake.clear()

    async def _requeue_stale(self) -> None:
        """Running jobs whose runner is gone go back to the queue: at once when the job's
        lock can be taken (its process died: at start-up, this process's own jobs from
        before a restart), else once their heartbeat is older than ``download_stale`` (a
        runner on another machine, whose lock this data dir does not hold)."""
        cutoff = utcnow() - timedelta(seconds=self.stale)
        async with self.db.session() as s:
            rows = await s.scalars(select(DownloadJob).where(DownloadJob.state == RUNNING))
            running = [(j.id, j.updated_at) for j in rows if j.id not in self._tasks]
        for job_id, beat in running:
            lock = JobLock(self._lock_path(job_id))
            if lock.supported and lock.path.exists():
                if not lock.take():
                    continue  # its runner is alive, even if its heartbeat is late
                try:
                    await self._requeue(job_id, "runner_gone")
                finally:
                    lock.release()
            elif beat < cutoff:
                await self._requeue(job_id, "heartbeat_stale", before=cutoff)

    async def _requeue(self, job_id: str, why: str, before: Any = None) -> None:
        where = [DownloadJob.id == job_id, DownloadJob.state == RUNNING]
        if before is not None:  # not if it beat (or was claimed again) meanwhile
            where.append(DownloadJob.updated_at < before)
        async with self.db.session() as s, s.begin():
            result = await s.execute(
                update(DownloadJob).where(*where).values(state=QUEUED, updated_at=utcnow())
            )
        if getattr(result, "rowcount", 0):
            log.info("download_requeued", job=job_id, why=why)

    async def _claim(self) -> None:
        free = self.settings.download_concurrency - len(self._tasks)
        if free <= 0 or self._stopping:
            return
        async with self.db.session() as s:
            ids = list(
                await s.scalars(
                    select(DownloadJob.id)
                    .where(DownloadJob.state == QUEUED)
                    .order_by(DownloadJob.created_at)
                    .limit(free)
                )
            )
        for job_id in ids:
            lock = JobLock(self._lock_path(job_id))
            if not lock.take():  # another process is taking it
                continue
            try:
                async with self.db.session() as s, s.begin():
                    result = await s.execute(
                        update(DownloadJob)
                        .where(DownloadJob.id == job_id, DownloadJob.state == QUEUED)
                        .values(state=RUNNING, started_at=utcnow(), updated_at=utcnow(), error=None)
                    )
            except BaseException:
                lock.release()
                raise
            if getattr(result, "rowcount", 0) != 1:
                lock.release()
                continue
            task = asyncio.create_task(self._run(job_id, lock), name=f"download-{job_id}")
            self._tasks[job_id] = task
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        job_id = task.get_name().removeprefix("download-")
        self._tasks.pop(job_id, None)
        self.live.pop(job_id, None)
        self._wake.set()

    async def _set(self, job_id: str, **values: Any) -> bool:
        """Update a job this process runs; False when it is no longer running (cancelled)."""
        async with self.db.session() as s, s.begin():
            result = await s.execute(
                update(DownloadJob)
                .where(DownloadJob.id == job_id, DownloadJob.state == RUNNING)
                .values(updated_at=utcnow(), **values)
            )
        return bool(getattr(result, "rowcount", 0))

    async def _run(self, job_id: str, lock: JobLock) -> None:
        """Run a claimed job; ``lock`` is released once its final state is written."""
        try:
            job = await self.get(job_id)
        except BaseException:
            lock.release()
            raise
        live = self.live.setdefault(job_id, Live.of(job))
        beat = asyncio.create_task(self._heartbeat(job_id, job.files, live))
        started = time.monotonic()
        state = FAILED
        try:
            await self._download(job, live)
            state = DONE
        except asyncio.CancelledError:
            state = CANCELLED
            if self._stopping:  # shutting down: leave it for the next start
                state = QUEUED
                files = live.files_json(job.files)
                await asyncio.shield(
                    self._set(job_id, state=QUEUED, bytes_done=live.done, files=files)
                )
            else:  # cancelled (perhaps by another process): nothing stays
                await asyncio.shield(self._cancelled(job))
            raise
        except (FetchError, OSError) as exc:
            await self._fail(job, str(exc), live)
        except Exception as exc:
            log.exception("download_crashed", job=job_id)
            await self._fail(job, f"internal error: {exc}", live)
        finally:
            beat.cancel()
            lock.release(remove=True)
            if state != QUEUED:
                self.metrics.downloads.labels(state).inc()
                self.metrics.download_duration.labels(state).observe(time.monotonic() - started)

    async def _cancelled(self, job: DownloadJob) -> None:
        await asyncio.to_thread(shutil.rmtree, self._partial(job.id), True)
        async with self.db.session() as s, s.begin():
            active = await s.scalar(
                select(DownloadJob.id).where(
                    DownloadJob.name == job.name, DownloadJob.state.in_(ACTIVE)
                )
            )
            if active is None:
                await self.registry.drop_downloading(s, job.name)

    async def _heartbeat(self, job_id: str, plan: list[dict[str, Any]], live: Live) -> None:
        """Progress (each file's too) and liveness; stops the download when the job was
        cancelled elsewhere (by another worker's ``DELETE``)."""
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                running = await self._set(job_id, bytes_done=live.done, files=live.files_json(plan))
            except SQLAlchemyError as exc:  # a database hiccup: try again at the next beat
                log.warning("download_heartbeat_failed", job=job_id, error=str(exc))
                continue
            task = self._tasks.get(job_id)
            if not running and task is not None:
                task.cancel()
                return

    async def _fail(self, job: DownloadJob, message: str, live: Live) -> None:
        """Nothing is kept: the partial files go, the job and its model-to-be fail (the file
        that failed says so; no file keeps bytes)."""
        await asyncio.to_thread(shutil.rmtree, self._partial(job.id), True)
        if live.current is not None and live.current.state != F_DONE:
            live.current.state = F_FAILED
        for f in live.files:
            f.done = 0
        now = utcnow()
        async with self.db.session() as s, s.begin():
            result = await s.execute(
                update(DownloadJob)
                .where(DownloadJob.id == job.id, DownloadJob.state == RUNNING)
                .values(
                    state=FAILED,
                    error=message,
                    finished_at=now,
                    updated_at=now,
                    bytes_done=0,
                    files=live.files_json(job.files),
                )
            )
            if getattr(result, "rowcount", 0):
                await self.registry.fail_downloading(s, job.name, message)
        live.done = 0
        log.warning("download_failed", job=job.id, error=message)

    async def _download(self, job: DownloadJob, live: Live) -> None:
        partial = self._partial(job.id)
        headers: dict[str, str] = {}
        if job.source.startswith("hf://"):
            token = await self.token_of(job.user_id)
            if token:
                headers["Authorization"] = f"Bearer {token}"
        remotes = [RemoteFile.from_json(f) for f in job.files]
        if job.bytes_total is None:  # nothing was reserved: stop when the room runs out
            room = await self.storage.room(exclude_job=job.id)
            live.limit = room
        digests: dict[str, str] = {}
        for remote, progress in zip(remotes, live.files, strict=True):
            with_auth = RemoteFile(remote.path, remote.url, remote.size, remote.sha256, headers)
            digests[remote.path] = await self._fetch_with_retries(
                job, with_auth, partial, live, progress
            )
        await self._install(job, remotes, partial, digests, live)

    async def _fetch_with_retries(
        self, job: DownloadJob, remote: RemoteFile, partial: Path, live: Live, progress: FileLive
    ) -> str:
        """The file's sha256 once it is complete and verified in the job's folder.

        Retries count only tries that made no progress, so a slow but moving download is
        never given up, while one stuck at 99% is retried with backoff and then fails.
        """
        part = partial / (remote.path + ".part")
        final = partial / remote.path
        if final.exists():  # verified in an earlier run
            live.begin(progress)
            live.add(final.stat().st_size)
            progress.state = F_DONE
            return await asyncio.to_thread(sha256_of, final)
        attempt = 0
        while True:
            on_disk = file_size(part)
            live.begin(progress)  # fetch reports the bytes already on disk first
            try:
                digest = await fetch(
                    self.session(),
                    remote,
                    part,
                    stall_timeout=self.settings.stall_timeout,
                    on_bytes=live.add,
                    on_received=self.metrics.download_bytes.inc,
                )
                break
            except Corrupted:
                raise
            except FetchError as exc:
                progressed = (file_size(part)) > on_disk
                attempt = 1 if progressed else attempt + 1
                if not exc.retryable or attempt > self.settings.download_retries:
                    raise
                log.info("download_retry", job=job.id, attempt=attempt, error=str(exc))
                await self._set(job.id, attempts=job.attempts + attempt, error=str(exc))
                await asyncio.sleep(backoff(attempt))
        await asyncio.to_thread(part.replace, final)
        progress.state = F_DONE
        return digest

    async def _install(
        self,
        job: DownloadJob,
        remotes: list[RemoteFile],
        partial: Path,
        digests: dict[str, str],
        live: Live,
    ) -> None:
        """Move the verified files into place atomically, then register the model."""
        dest = self.models_dir / job.name
        sizes = {r.path: file_size(partial / r.path) for r in remotes}
        files: list[dict[str, Any]] = [
            {"path": r.path, "size": sizes[r.path], "sha256": digests[r.path]} for r in remotes
        ]

        def move() -> None:
            if dest.exists():
                shutil.rmtree(dest)
            partial.replace(dest)

        await asyncio.to_thread(move)
        path: Path = dest
        source = job.source + (f"@{job.commit}" if job.commit else "")
        try:
            if (dest / "model_index.json").exists():
                meta = diffusers_metadata(dest)
                fmt, modality = "diffusers", diffusers_modality(meta)
            elif (dest / "config.json").exists() and any(dest.glob("*.safetensors")):
                fmt, modality = "safetensors", "text"
                meta = transformers_metadata(dest)
            else:
                fmt, modality = "gguf", "text"
                ggufs = sorted(dest / r.path for r in remotes if r.path.endswith(".gguf"))
                meta = await asyncio.to_thread(gguf_metadata, ggufs)
                path = ggufs[0]
            model = await self.registry.save_downloaded(
                job.name,
                fmt=fmt,
                modality=modality,
                source=source,
                path=path,
                files=files,
                meta=meta,
                job_id=job.id,
                job_files=live.files_json(job.files),
            )
        except JobGone:  # cancelled while the files were moved: keep nothing
            await asyncio.to_thread(shutil.rmtree, dest, True)
            log.info("download_cancelled_late", job=job.id)
            return
        except Exception:  # nothing half-installed stays behind a failed job
            await asyncio.to_thread(shutil.rmtree, dest, True)
            raise
        total = sum(sizes.values())
        log.info("download_done", job=job.id, model=model.id, bytes=total)
        self.on_ready(model)


def _new_job(
    source: str,
    revision: str | None,
    patterns: list[str],
    sha256: str | None,
    plan: Plan,
    user_id: str | None,
) -> DownloadJob:
    now = utcnow()
    return DownloadJob(
        id="dl_" + uuid.uuid4().hex[:24],
        source=source,
        revision=revision,
        commit=plan.revision,
        patterns=patterns,
        sha256=sha256,
        name=plan.name,
        user_id=user_id,
        state=QUEUED,
        files=[f.to_json() for f in plan.files],
        bytes_done=0,
        bytes_total=plan.total_size if all(f.size is not None for f in plan.files) else None,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
