"""The retention sweep: expired artifacts (files too), old finished jobs and abandoned
staging folders go; pinned artifacts, active jobs and fresh staging folders stay."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from datetime import timedelta
from pathlib import Path

from plugai.artifacts.store import ArtifactStore
from plugai.db.database import Database
from plugai.db.tables import JobRow
from plugai.jobs.store import JobStore
from plugai.settings import StorageSettings
from plugai.storage.retention import STAGING_MAX_AGE, RetentionSweep
from tests.artifacts.conftest import Clock, clock, db, users

__all__ = ["clock", "db", "users"]  # fixtures used below


async def test_sweep_deletes_what_is_due(
    db: Database, tmp_path: Path, clock: Clock, users: tuple[str, str]
) -> None:
    ann, _ = users
    settings = StorageSettings(artifact_ttl=60, min_free_disk=0)
    store = ArtifactStore(db, tmp_path / "art", settings, secrets.token_bytes(32), clock)
    due = await store.save_bytes(ann, b"old", kind="image", mime="image/png")
    kept = await store.save_bytes(ann, b"pinned", kind="image", mime="image/png")
    await store.set_pinned(ann, kept.id, True)
    abandoned, fresh = store.staging_dir(), store.staging_dir()
    (abandoned / "half.png").write_bytes(b"x")
    long_ago = time.time() - STAGING_MAX_AGE - 60
    os.utime(abandoned, (long_ago, long_ago))
    jobs = JobStore(db)
    now = clock()
    for job_id, status, ended in (
        ("job_old", "succeeded", now - timedelta(days=8)),
        ("job_recent", "failed", now - timedelta(days=1)),
        ("job_active", "running", None),
    ):
        await jobs.insert(
            JobRow(
                id=job_id,
                user_id=ann,
                kind="images",
                model="m",
                request={},
                status=status,
                owner="o",
                heartbeat_at=now,
                created_at=now - timedelta(days=9),
                finished_at=ended,
            )
        )
    clock.advance(61)
    sweep = RetentionSweep(store, jobs, job_retention=7 * 86400, interval=3600)
    await sweep.run_once()  # what the lifespan's task does at start-up and every hour
    assert not (store.root / due.path).exists() and (store.root / kept.path).exists()
    assert await store.used_bytes() == len(b"pinned")
    assert not abandoned.exists() and fresh.exists()
    assert await jobs.find("job_old") is None
    assert await jobs.find("job_recent") is not None and await jobs.find("job_active") is not None


async def test_the_sweep_runs_in_the_background_until_stopped(
    db: Database, tmp_path: Path, clock: Clock
) -> None:
    store = ArtifactStore(db, tmp_path, StorageSettings(), secrets.token_bytes(32), clock)
    rounds = 0
    sweep = RetentionSweep(store, JobStore(db), job_retention=60, interval=0.01)

    async def counted() -> None:
        nonlocal rounds
        rounds += 1

    sweep.run_once = counted  # type: ignore[method-assign]
    sweep.start()
    for _ in range(100):
        if rounds >= 3:
            break
        await asyncio.sleep(0.01)
    await sweep.stop()
    assert rounds >= 3
