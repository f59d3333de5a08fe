"""The storage manager: quota (``storage.limit``) and free-disk floor for downloaded models.

The quota covers downloaded models and artifacts (generated files) together; artifacts are
never evicted to make room for a model, they expire (``storage.artifact_ttl``) instead.

Space is reserved before a download starts: an active job's announced size counts as
used until it finishes (then its model counts instead), so two downloads at once cannot
both squeeze into the same free space. Reservations are decided under one lock and written
with the job row in the same critical section. Only models PlugAI downloaded count and
may be evicted: never a pinned, loaded or discovered (user-owned) model.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

import structlog
from sqlalchemy import delete, func, select

from plugai.catalog.metrics import RegistryMetrics
from plugai.core.errors import StorageFull
from plugai.db.database import Database
from plugai.db.tables import ArtifactRow, DownloadJob, RegistryModel
from plugai.settings import StorageSettings
from plugai.storage.lock import StorageLock

log = structlog.get_logger("plugai.storage")
ACTIVE_JOBS = ("queued", "running")
EPOCH = datetime.min


def human(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


class ArtifactExpiry(Protocol):
    """What the storage manager needs of the artifact store: expiring what is due."""

    async def expire(
        self, now: datetime | None = None, *, dry_run: bool = False
    ) -> tuple[int, int]: ...


@dataclass(frozen=True, slots=True)
class Usage:
    limit: int | None
    used_models: int
    reserved: int
    used_artifacts: int
    disk_free: int
    disk_total: int
    min_free_disk: int
    evictable: list[str]
    evictable_bytes: int


@dataclass(slots=True)
class Cleanup:
    """What a cleanup removed (or would remove, on a dry run)."""

    evicted: list[str] = field(default_factory=list)
    removed_records: list[str] = field(default_factory=list)
    freed: int = 0
    expired_artifacts: int = 0


class StorageManager:
    def __init__(
        self,
        db: Database,
        settings: StorageSettings,
        models_dir: Path,
        is_loaded: Callable[[str], bool] = lambda _id: False,
        on_removed: Callable[[str], None] = lambda _id: None,
        metrics: RegistryMetrics | None = None,
    ) -> None:
        self.db = db
        self.metrics = metrics or RegistryMetrics()
        self.settings = settings
        self.models_dir = models_dir
        self.is_loaded = is_loaded  # set by whoever owns the loaded models
        self.on_removed = on_removed
        # reservation decisions: one at a time across tasks, processes and (PostgreSQL) hosts
        self.lock = StorageLock(db, models_dir / ".storage.lock")
        self.artifacts: ArtifactExpiry | None = None  # set by whoever builds the artifact store

    def disk(self) -> tuple[int, int]:
        self.models_dir.mkdir(parents=True, exist_ok=True)
        total, _used, free = shutil.disk_usage(self.models_dir)
        return free, total

    async def _downloaded(self) -> list[RegistryModel]:
        async with self.db.session() as s:
            rows = await s.scalars(select(RegistryModel).where(RegistryModel.discovered.is_(False)))
            return list(rows)

    async def _reserved(self, exclude_job: str | None = None) -> int:
        async with self.db.session() as s:
            jobs = await s.scalars(select(DownloadJob).where(DownloadJob.state.in_(ACTIVE_JOBS)))
            return sum((j.bytes_total or 0) for j in jobs if j.id != exclude_job)

    async def _artifact_bytes(self) -> int:
        async with self.db.session() as s:
            total = await s.scalar(select(func.coalesce(func.sum(ArtifactRow.bytes), 0)))
        return int(total or 0)

    def _candidates(self, rows: list[RegistryModel]) -> list[RegistryModel]:
        """Evictable models, least recently used first."""
        idle = [
            r
            for r in rows
            if not r.pinned and not r.discovered and r.state == "ready" and not self.is_loaded(r.id)
        ]
        return sorted(idle, key=lambda r: r.last_used_at or r.created_at or EPOCH)

    async def usage(self) -> Usage:
        rows = await self._downloaded()
        candidates = self._candidates(rows)
        free, total = self.disk()
        used, reserved, artifacts = (
            sum(r.total_size for r in rows if r.state != "missing"),
            await self._reserved(),
            await self._artifact_bytes(),
        )
        self.metrics.storage_used.labels("models").set(used)
        self.metrics.storage_used.labels("reserved").set(reserved)
        self.metrics.storage_used.labels("artifacts").set(artifacts)
        return Usage(
            limit=int(self.settings.limit) if self.settings.limit is not None else None,
            used_models=used,
            reserved=reserved,
            used_artifacts=artifacts,
            disk_free=free,
            disk_total=total,
            min_free_disk=int(self.settings.min_free_disk),
            evictable=[r.id for r in candidates],
            evictable_bytes=sum(r.total_size for r in candidates),
        )

    async def room(self, exclude_job: str | None = None) -> int | None:
        """Bytes a download of unknown size may still take (None: no limit applies)."""
        usage = await self.usage()
        by_disk = usage.disk_free - usage.min_free_disk
        if usage.limit is None:
            return max(0, by_disk)
        reserved = await self._reserved(exclude_job)
        taken = usage.used_models + usage.used_artifacts + reserved
        return max(0, min(by_disk, usage.limit - taken))

    async def make_room(self, need: int, on_disk: int = 0) -> list[str]:
        """Room for ``need`` more bytes (``on_disk`` of them already written), or StorageFull.

        The caller holds ``self.lock`` and records its reservation before releasing it.
        Returns the ids of the models evicted to make room.
        """
        usage = await self.usage()
        short = 0
        if usage.limit is not None:
            short = usage.used_models + usage.used_artifacts + usage.reserved + need - usage.limit
        disk_short = (need - on_disk) + usage.min_free_disk - usage.disk_free
        short = max(short, disk_short)
        if short <= 0:
            return []
        rows = {r.id: r for r in await self._downloaded()}
        plan: list[RegistryModel] = []
        freed = 0
        for model_id in usage.evictable:
            if freed >= short:
                break
            plan.append(rows[model_id])
            freed += rows[model_id].total_size
        if self.settings.eviction == "refuse" or freed < short:
            raise StorageFull(
                f"Not enough storage: {human(need)} needed, {human(short)} more than there is "
                f"room for (limit {human(usage.limit) if usage.limit is not None else 'none'}, "
                f"models {human(usage.used_models)}, artifacts {human(usage.used_artifacts)}, "
                f"reserved {human(usage.reserved)}, "
                f"disk free {human(usage.disk_free)}, floor {human(usage.min_free_disk)}). "
                f"Evicting idle models could free {human(usage.evictable_bytes)}"
                + (" (eviction policy is 'refuse')." if self.settings.eviction == "refuse" else ".")
            )
        for row in plan:
            await self.evict(row)
        return [r.id for r in plan]

    async def evict(self, row: RegistryModel) -> None:
        """Delete a downloaded model's files and its record."""
        assert not row.discovered, "discovered models are never deleted"
        await asyncio.to_thread(self.delete_files, Path(row.path))
        async with self.db.session() as s, s.begin():
            await s.execute(delete(RegistryModel).where(RegistryModel.id == row.id))
        self.on_removed(row.id)
        self.metrics.evictions.inc()
        self.metrics.evicted_bytes.inc(row.total_size)
        log.info("model_evicted", model=row.id, bytes=row.total_size)

    def delete_files(self, path: Path) -> None:
        """Remove a model's folder (or file) — only ever inside PlugAI's models folder."""
        root = self.models_dir.resolve()
        target = path.resolve()
        folder = target if target.is_dir() else target.parent
        if folder == root or root not in folder.parents:
            target.unlink(missing_ok=True)
            return
        shutil.rmtree(folder, ignore_errors=True)

    async def cleanup(self, dry_run: bool) -> Cleanup:
        """Expire due artifacts, drop records of failed/missing downloads and evict idle
        models while over the limit."""
        result = Cleanup()
        async with self.lock:
            if self.artifacts is not None:
                count, freed = await self.artifacts.expire(dry_run=dry_run)
                result.expired_artifacts, result.freed = count, freed
            rows = await self._downloaded()
            for row in rows:
                if row.state in ("failed", "missing"):
                    result.removed_records.append(row.id)
                    if not dry_run:
                        await self.evict(row)
            usage = await self.usage()
            if usage.limit is not None:
                over = usage.used_models + usage.used_artifacts + usage.reserved - usage.limit
                if dry_run:  # what the expiry would have freed
                    over -= result.freed
                by_id = {r.id: r for r in rows}
                for model_id in usage.evictable:
                    if over <= 0 or self.settings.eviction == "refuse":
                        break
                    row = by_id[model_id]
                    result.evicted.append(model_id)
                    result.freed += row.total_size
                    over -= row.total_size
                    if not dry_run:
                        await self.evict(row)
        return result
