"""The registry table's repository: what PlugAI knows about local models, and their state.

Discovered models are recorded where they are (no copies); a discovered model that is no
longer found is marked ``missing`` rather than dropped, so that a user sees what vanished.
A download's model-to-be is recorded with its job: ``downloading`` (size 0 in the table, so
that the storage manager counts its reservation once, and never a candidate for eviction),
then ``failed`` with the job's error, or ``ready`` when the files are in place. Only
``ready`` models are served.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from plugai.catalog.scanner import Found
from plugai.core.errors import Conflict, NotFound
from plugai.db.database import Database
from plugai.db.tables import DownloadJob, RegistryModel, utcnow

READY, DOWNLOADING, FAILED, MISSING = "ready", "downloading", "failed", "missing"


class JobGone(Exception):
    """The download job is no longer running (cancelled): its model must not appear."""


@dataclass(frozen=True, slots=True)
class ScanResult:
    added: list[str]
    updated: list[str]
    missing: list[str]


class ModelRegistry:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def all(self) -> list[RegistryModel]:
        async with self.db.session() as s:
            return list(await s.scalars(select(RegistryModel).order_by(RegistryModel.id)))

    async def find(self, model_id: str) -> RegistryModel | None:
        async with self.db.session() as s:
            return await s.get(RegistryModel, model_id)

    async def get(self, model_id: str) -> RegistryModel:
        row = await self.find(model_id)
        if row is None:
            raise NotFound(f"The registry has no model {model_id!r}.", param="model")
        return row

    async def sync_discovered(self, found: list[Found]) -> ScanResult:
        """Record what a scan found; discovered models not found again become missing."""
        added: list[str] = []
        updated: list[str] = []
        missing: list[str] = []
        now = utcnow()
        by_id = {f.id: f for f in found}
        async with self.db.session() as s, s.begin():
            rows = {r.id: r for r in await s.scalars(select(RegistryModel))}
            for model in found:
                row = rows.get(model.id)
                if row is not None and not row.discovered:
                    continue  # a downloaded model owns the name
                if row is None:
                    s.add(_row_of(model, now))
                    added.append(model.id)
                elif row.path != str(model.path) or row.state != READY or row.files != model.files:
                    _update(row, model, now)
                    updated.append(model.id)
            for row in rows.values():
                gone = row.discovered and row.id not in by_id
                gone = gone or (not row.discovered and row.state == READY and _vanished(row))
                if gone and row.state != MISSING:
                    row.state, row.updated_at = MISSING, now
                    missing.append(row.id)
        return ScanResult(added, updated, missing)

    async def downloading(
        self, s: AsyncSession, job: DownloadJob, *, fmt: str, modality: str, dest: Path
    ) -> None:
        """Record the model-to-be of a new job, in the job's transaction (``s``): listed as
        ``downloading`` until it is ready or fails. It replaces a failed or missing record
        of the same name, never a ready one."""
        now = utcnow()
        row = await s.get(RegistryModel, job.name)
        if row is not None and row.state == READY:
            raise Conflict(
                f"A model named {job.name!r} is already registered; delete it first or pass "
                "another 'name'.",
                param="name",
            )
        if row is None:
            row = RegistryModel(id=job.name, created_at=now, pinned=False)
            s.add(row)
        row.display_name, row.format, row.modality = job.name, fmt, modality
        row.source = job.source
        row.files = [
            {"path": f["path"], "size": f["size"], "sha256": f["sha256"]} for f in job.files
        ]
        row.total_size = 0  # the job's reservation counts until it is ready
        row.path, row.meta, row.error = str(dest), {}, None
        row.state, row.discovered, row.updated_at = DOWNLOADING, False, now

    async def fail_downloading(self, s: AsyncSession, name: str, error: str) -> None:
        """The job of ``name`` failed (in its transaction): so does its model-to-be."""
        await s.execute(
            update(RegistryModel)
            .where(RegistryModel.id == name, RegistryModel.state == DOWNLOADING)
            .values(state=FAILED, error=error, updated_at=utcnow())
        )

    async def drop_downloading(self, s: AsyncSession, name: str) -> None:
        """The job of ``name`` was cancelled (in its transaction): its model-to-be goes."""
        await s.execute(
            delete(RegistryModel).where(
                RegistryModel.id == name, RegistryModel.state == DOWNLOADING
            )
        )

    async def save_downloaded(
        self,
        model_id: str,
        *,
        fmt: str,
        modality: str,
        source: str,
        path: Path,
        files: list[dict[str, Any]],
        meta: dict[str, Any],
        job_id: str | None = None,
        job_files: list[dict[str, Any]] | None = None,
    ) -> RegistryModel:
        """Register (or replace) a model PlugAI downloaded into its own folder: ``ready``.

        With ``job_id``, the job is marked done in the same transaction: its reservation
        turns into the model's size at once, never counted twice nor not at all
        (``job_files``: the job's files with their final progress).
        """
        now = utcnow()
        async with self.db.session() as s, s.begin():
            if job_id is not None:
                closed = await s.execute(
                    update(DownloadJob)
                    .where(DownloadJob.id == job_id, DownloadJob.state == "running")
                    .values(
                        state="done",
                        model_id=model_id,
                        finished_at=now,
                        updated_at=now,
                        bytes_done=sum(int(f["size"]) for f in files),
                        **({"files": job_files} if job_files is not None else {}),
                    )
                )
                if not getattr(closed, "rowcount", 0):
                    raise JobGone(job_id)
            row = await s.get(RegistryModel, model_id)
            if row is None:
                row = RegistryModel(id=model_id, created_at=now, pinned=False)
                s.add(row)
            row.display_name = model_id
            row.format, row.modality, row.source = fmt, modality, source
            row.path, row.files, row.meta = str(path), files, meta
            row.total_size = sum(int(f["size"]) for f in files)
            row.state, row.discovered, row.error, row.updated_at = READY, False, None, now
        return row

    async def set_pinned(self, model_id: str, pinned: bool) -> RegistryModel:
        async with self.db.session() as s, s.begin():
            row = await s.get(RegistryModel, model_id)
            if row is None:
                raise NotFound(f"The registry has no model {model_id!r}.", param="model")
            row.pinned, row.updated_at = pinned, utcnow()
        return row

    async def touch(self, model_id: str) -> None:
        """Record a use: eviction picks the least recently used model first."""
        async with self.db.session() as s, s.begin():
            await s.execute(
                update(RegistryModel)
                .where(RegistryModel.id == model_id)
                .values(last_used_at=utcnow())
            )

    async def remove(self, model_id: str, *, state: str | None = None) -> None:
        """Drop the record (only while it is in ``state``, when given)."""
        where = [RegistryModel.id == model_id]
        if state is not None:
            where.append(RegistryModel.state == state)
        async with self.db.session() as s, s.begin():
            await s.execute(delete(RegistryModel).where(*where))


def _vanished(row: RegistryModel) -> bool:
    return not Path(row.path).exists()


def _row_of(model: Found, now: Any) -> RegistryModel:
    row = RegistryModel(id=model.id, created_at=now, pinned=False, discovered=True)
    _update(row, model, now)
    return row


def _update(row: RegistryModel, model: Found, now: Any) -> None:
    row.display_name = str(model.meta.get("name") or model.id)
    row.format, row.modality, row.source = model.format, model.modality, f"file://{model.path}"
    row.path, row.files, row.total_size = str(model.path), model.files, model.total_size
    row.meta, row.state, row.error, row.updated_at = model.meta, READY, None, now
