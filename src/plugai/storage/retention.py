"""Retention: a background sweep, at start-up and then periodically, that deletes the
artifacts past ``storage.artifact_ttl`` (unless pinned), the rows of jobs that ended more
than ``jobs.retention`` ago, and staging folders a crashed generation left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import structlog

from plugai.artifacts.store import ArtifactStore
from plugai.jobs.store import JobStore

log = structlog.get_logger("plugai.storage")
INTERVAL = 3600.0
STAGING_MAX_AGE = 86400.0  # no generation writes into its staging folder for a day


class RetentionSweep:
    def __init__(
        self,
        artifacts: ArtifactStore,
        jobs: JobStore,
        *,
        job_retention: float,
        interval: float = INTERVAL,
    ) -> None:
        self.artifacts = artifacts
        self.jobs = jobs
        self.job_retention = job_retention
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="plugai-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run_once(self) -> None:
        now = self.artifacts.clock()
        count, freed = await self.artifacts.expire(now)
        pruned = await self.jobs.prune(now - timedelta(seconds=self.job_retention))
        staged = await asyncio.to_thread(self.artifacts.sweep_staging, STAGING_MAX_AGE)
        if count or pruned or staged:
            log.info("retention_swept", artifacts=count, bytes=freed, jobs=pruned, staging=staged)

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # a database hiccup: try again at the next round
                log.exception("retention_sweep_failed")
            await asyncio.sleep(self.interval)
