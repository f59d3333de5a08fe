"""``JobRunner``: long generations run in the background of the process that took them.

A job is a row (the truth every worker reads) and, in the process that runs it, an asyncio
task with live progress. At most ``concurrency`` run at once; the rest wait, queued.
Progress reaches in-memory subscribers (SSE) on every step and the row at most twice a
second; a heartbeat every few seconds says the owner is alive. The work is an in-memory
closure, so a job cannot move to another process: when its process dies (no heartbeat for
``STALE`` seconds) any process fails it with a reason, and a job cancelled by another worker
is stopped by its owner at the next heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError

from plugai.core.errors import Conflict, PlugAIError
from plugai.db.database import Database
from plugai.db.tables import JobRow, utcnow
from plugai.jobs.metrics import GenerationMetrics
from plugai.jobs.store import (
    ACTIVE,
    CANCELLED,
    FAILED,
    KINDS,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Job,
    JobStore,
)
from plugai.security.tokens import new_id

log = structlog.get_logger("plugai.jobs")
Clock = Callable[[], datetime]
HEARTBEAT = 2.0  # seconds between liveness writes of the jobs a process runs
STALE = 10.0  # an active job without a heartbeat this long has lost its process
WRITE_INTERVAL = 0.5  # progress reaches the row at most this often
POLL = 1.0  # how often a subscriber to another process's job reads the row
SUBSCRIBER_BACKLOG = 256
STOPPED = "The server stopped while this job ran; submit it again."
SHUT_DOWN = "The job was stopped because the server shut down; submit it again."
CRASHED = "The generation failed with an internal error; see the server log."


def error_object(
    message: str, type_: str = "server_error", code: str | None = None
) -> dict[str, Any]:
    """The OpenAI error object (the envelope's ``error``) a failed job carries."""
    return {"message": message, "type": type_, "param": None, "code": code}


def _error_of(exc: PlugAIError) -> dict[str, Any]:
    return {"message": exc.message, "type": exc.type, "param": exc.param, "code": exc.code}


class _Live:
    """A job this process runs: its latest snapshot, subscribers and recent step rate."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.task: asyncio.Task[None] | None = None
        self.finishing = False
        self.dirty = asyncio.Event()
        self.subscribers: set[asyncio.Queue[Job]] = set()
        self.samples: deque[tuple[float, int]] = deque(maxlen=20)

    def publish(self, job: Job) -> None:
        self.job = job
        for queue in self.subscribers:
            if queue.full():  # a slow reader loses the oldest steps, never the end
                queue.get_nowait()
            queue.put_nowait(job)

    def advance(self, step: int, steps: int) -> None:
        job = self.job
        if job.status != RUNNING or steps <= 0:
            return
        step = max(0, min(step, steps))
        if steps == job.steps and step <= job.step:
            return  # progress only moves forward
        if steps != job.steps:
            self.samples.clear()
        now = time.monotonic()
        self.samples.append((now, step))
        self.publish(replace(job, step=step, steps=steps, eta_seconds=self._eta(step, steps)))
        self.dirty.set()

    def _eta(self, step: int, steps: int) -> float | None:
        if len(self.samples) < 2:
            return None
        (t0, s0), (t1, s1) = self.samples[0], self.samples[-1]
        if t1 <= t0 or s1 <= s0:
            return None
        return (steps - step) * (t1 - t0) / (s1 - s0)


class Progress:
    """What a job's work reports through: ``update(step, steps)`` (or call it), step i of n.
    ``job_id`` names the job (for the artifacts it makes).

    Safe to call from the event loop or from any thread (it hops onto the loop).
    """

    def __init__(self, live: _Live, loop: asyncio.AbstractEventLoop) -> None:
        self._live = live
        self._loop = loop
        self._thread = threading.get_ident()
        self.job_id = live.job.id

    def update(self, step: int, steps: int) -> None:
        if threading.get_ident() == self._thread:
            self._live.advance(step, steps)
        else:
            self._loop.call_soon_threadsafe(self._live.advance, step, steps)

    def __call__(self, step: int, steps: int) -> None:
        self.update(step, steps)


Work = Callable[[Progress], Awaitable[dict[str, Any]]]


class JobRunner:
    def __init__(
        self,
        db: Database,
        metrics: GenerationMetrics,
        concurrency: int = 1,
        clock: Clock = utcnow,
        *,
        owner: str | None = None,
        heartbeat: float = HEARTBEAT,
        stale: float = STALE,
    ) -> None:
        self.store = JobStore(db)
        self.heartbeat = heartbeat
        self.stale = stale
        self.metrics = metrics
        self.clock = clock
        self.owner = owner or f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(4)}"
        self._slots = asyncio.Semaphore(concurrency)
        self._live: dict[str, _Live] = {}
        self._watch_task: asyncio.Task[None] | None = None
        self._closing = False

    # --- life cycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Fail what a previous process left behind, then keep heartbeats and sweeps going."""
        await self.recover()
        self._ensure_watch()

    def _ensure_watch(self) -> None:
        if self._watch_task is None and not self._closing:
            self._watch_task = asyncio.create_task(self._watch(), name="plugai-jobs")

    async def recover(self) -> int:
        """Fail every active job whose process stopped beating (it cannot be resumed: its
        work lived in that process). Returns how many."""
        now = self.clock()
        cutoff = now - timedelta(seconds=self.stale)
        gone = await self.store.fail_stale(cutoff, list(self._live), error_object(STOPPED), now)
        for job_id, kind in gone:
            self.metrics.jobs.labels(kind, FAILED).inc()
            log.warning("job_orphaned", job=job_id)
        return len(gone)

    async def aclose(self) -> None:
        """Stop every job this process runs; each ends failed, saying the server shut down."""
        self._closing = True
        if self._watch_task is not None:
            self._watch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch_task
        tasks = [live.task for live in self._live.values() if live.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- the API --------------------------------------------------------------------------
    async def submit(
        self, user_id: str, kind: str, model: str, request: dict[str, Any], work: Work
    ) -> Job:
        """Queue ``work`` as the user's job; it starts as soon as a slot is free.

        ``work`` receives a :class:`Progress` and returns the job's result (JSON). Raising a
        PlugAIError fails the job with that error; cancellation cancels it.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        now = self.clock()
        row = JobRow(
            id=new_id("job"),
            user_id=user_id,
            kind=kind,
            model=model,
            request=request,
            status=QUEUED,
            step=0,
            steps=0,
            owner=self.owner,
            heartbeat_at=now,
            created_at=now,
        )
        await self.store.insert(row)
        live = _Live(Job.of(row))
        self._live[row.id] = live
        self.metrics.queue_length.inc()
        live.task = asyncio.create_task(self._run(live, work), name=f"job-{row.id}")
        self._ensure_watch()
        log.info("job_queued", job=row.id, kind=kind, model=model)
        return live.job

    def _view(self, row: JobRow, now: datetime) -> Job:
        """The live snapshot while this process runs the job (fresher than the row)."""
        live = self._live.get(row.id)
        if live is not None and row.status in ACTIVE:
            return live.job
        return Job.of(row, now)

    async def get(self, user_id: str, job_id: str) -> Job:
        return self._view(await self.store.get(user_id, job_id), self.clock())

    async def page(
        self, user_id: str, *, limit: int = 20, after: str | None = None
    ) -> tuple[list[Job], bool]:
        """The user's jobs, newest first, and whether there are more."""
        rows, more = await self.store.page(user_id, limit=limit, after=after)
        now = self.clock()
        return [self._view(row, now) for row in rows], more

    async def cancel(self, user_id: str, job_id: str) -> Job:
        row = await self.store.get(user_id, job_id)
        if row.status not in ACTIVE or not await self.store.cancel(job_id, self.clock()):
            row = await self.store.get(user_id, job_id)
            raise Conflict(
                f"Job {job_id!r} has already ended ({row.status}); only queued or running "
                "jobs can be cancelled.",
                param="id",
                code="job_finished",
            )
        self.metrics.jobs.labels(row.kind, CANCELLED).inc()
        log.info("job_cancelled", job=job_id)
        live = self._live.get(job_id)
        if live is not None and live.task is not None:
            live.task.cancel()
            await asyncio.wait({live.task}, timeout=5.0)  # its work cleans up, then it ends
        return await self.get(user_id, job_id)

    async def subscribe(self, user_id: str, job_id: str) -> AsyncGenerator[Job, None]:
        """The job now, then each change, until (and including) its end."""
        live = self._live.get(job_id)
        queue: asyncio.Queue[Job] = asyncio.Queue(SUBSCRIBER_BACKLOG)
        if live is not None:  # listen first: no step is lost during the ownership check
            live.subscribers.add(queue)
            job = live.job
        try:
            row = await self.store.get(user_id, job_id)
            if live is None:
                async for polled in self._poll(user_id, Job.of(row, self.clock())):
                    yield polled
                return
            yield job
            while not job.terminal:
                job = await queue.get()
                yield job
        finally:
            if live is not None:
                live.subscribers.discard(queue)

    async def _poll(self, user_id: str, job: Job) -> AsyncGenerator[Job, None]:
        """Another process runs it: follow its row."""
        yield job
        seen = (job.status, job.step, job.steps)
        while not job.terminal:
            await asyncio.sleep(POLL)
            job = Job.of(await self.store.get(user_id, job.id), self.clock())
            if (job.status, job.step, job.steps) != seen:
                seen = (job.status, job.step, job.steps)
                yield job

    # --- running --------------------------------------------------------------------------
    async def _run(self, live: _Live, work: Work) -> None:
        job_id = live.job.id
        status, result, error = FAILED, None, None
        queued, started = True, None
        try:
            async with self._slots:
                queued = False
                self.metrics.queue_length.dec()
                now = self.clock()
                if not await self.store.start(job_id, self.owner, now):
                    status = CANCELLED  # ended while it waited (the row says how)
                else:
                    started = time.monotonic()
                    live.samples.append((started, 0))
                    live.publish(replace(live.job, status=RUNNING, started_at=now))
                    result = await self._work(live, work)
                    status = SUCCEEDED
        except asyncio.CancelledError:
            status = FAILED if self._closing else CANCELLED
            error = error_object(SHUT_DOWN, code="server_shutdown") if self._closing else None
        except PlugAIError as exc:
            error = _error_of(exc)
            log.warning("job_failed", job=job_id, error=exc.message, code=exc.code)
        except Exception:
            log.exception("job_crashed", job=job_id)
            error = error_object(CRASHED, code="internal_error")
        finally:
            if queued:
                self.metrics.queue_length.dec()
        await asyncio.shield(self._finish(live, status, result, error, started))

    async def _work(self, live: _Live, work: Work) -> dict[str, Any]:
        writer = asyncio.create_task(self._persist(live))
        self.metrics.running.inc()
        try:
            return await work(Progress(live, asyncio.get_running_loop()))
        finally:
            self.metrics.running.dec()
            writer.cancel()

    async def _persist(self, live: _Live) -> None:
        """Progress into the row, at most every WRITE_INTERVAL; stops the work when the row
        says the job was cancelled (or failed) elsewhere."""
        while True:
            await live.dirty.wait()
            live.dirty.clear()
            job = live.job
            try:
                running = await self.store.progress(
                    job.id, self.owner, job.step, job.steps, self.clock()
                )
            except SQLAlchemyError as exc:
                log.warning("job_progress_write_failed", job=job.id, error=str(exc))
                running = True
            if not running and live.task is not None:
                live.task.cancel()
                return
            await asyncio.sleep(WRITE_INTERVAL)

    async def _finish(
        self,
        live: _Live,
        status: str,
        result: dict[str, Any] | None,
        error: dict[str, Any] | None,
        started: float | None,
    ) -> None:
        live.finishing = True
        job = live.job
        step = job.steps if status == SUCCEEDED and job.steps else job.step
        try:
            wrote = await self.store.finish(
                job.id,
                self.owner,
                status,
                self.clock(),
                step=step,
                steps=job.steps,
                result=result if status == SUCCEEDED else None,
                error=error,
            )
            row = await self.store.find(job.id)
        except SQLAlchemyError:
            log.exception("job_finish_write_failed", job=job.id)
            wrote, row = True, None
        final = Job.of(row) if row is not None else replace(job, status=status, error=error)
        if wrote:
            self.metrics.jobs.labels(job.kind, final.status).inc()
        log.info(
            "job_ended",
            job=job.id,
            status=final.status,
            seconds=round(time.monotonic() - started, 3) if started is not None else None,
        )
        live.publish(final)
        self._live.pop(job.id, None)

    async def _watch(self) -> None:
        """Heartbeats for the jobs this process runs, stops those ended elsewhere, and
        fails the jobs of processes that stopped beating."""
        last_sweep = time.monotonic()
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                mine = [job_id for job_id, live in self._live.items() if not live.finishing]
                if mine:
                    await self.store.beat(mine, self.owner, self.clock())
                    for job_id in await self.store.ended(mine):
                        live = self._live.get(job_id)
                        if live is not None and not live.finishing and live.task is not None:
                            live.task.cancel()
                if time.monotonic() - last_sweep >= self.stale / 2:
                    last_sweep = time.monotonic()
                    await self.recover()
            except Exception:  # the loop must outlive a database hiccup
                log.exception("jobs_watch_failed")
