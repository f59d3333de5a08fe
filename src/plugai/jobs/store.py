"""Generation job rows and the snapshots the API shows.

Every write that moves a job on is conditional on its status (and, for the process running
it, on ``owner``), so a cancel from another worker, the stale-job sweep and the job's own
end cannot overwrite each other: whichever lands first wins and the others change nothing.
Reads for users are scoped to the owner: another user's job does not exist for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, update

from plugai.core.errors import InvalidRequest, NotFound
from plugai.db.database import Database
from plugai.db.tables import JobRow

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
)
ACTIVE = (QUEUED, RUNNING)
TERMINAL = (SUCCEEDED, FAILED, CANCELLED)
KINDS = ("images", "3d")


@dataclass(frozen=True, slots=True)
class Job:
    """One job as a caller sees it: the row, with live progress where this process runs it."""

    id: str
    user_id: str
    kind: str
    model: str
    status: str
    step: int
    steps: int
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    eta_seconds: float | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def fraction(self) -> float | None:
        if self.status == SUCCEEDED:
            return 1.0
        if self.steps <= 0:
            return 0.0 if self.status == QUEUED else None
        return min(1.0, max(0.0, self.step / self.steps))

    @classmethod
    def of(cls, row: JobRow, now: datetime | None = None) -> Job:
        """A snapshot of the row; with ``now``, an ETA from the average rate since start."""
        eta = None
        if now is not None and row.status == RUNNING and row.started_at and row.step > 0:
            elapsed = (now - row.started_at).total_seconds()
            if elapsed > 0 and row.steps > row.step:
                eta = (row.steps - row.step) * elapsed / row.step
        return cls(
            id=row.id,
            user_id=row.user_id,
            kind=row.kind,
            model=row.model,
            status=row.status,
            step=row.step,
            steps=row.steps,
            result=row.result,
            error=row.error,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            eta_seconds=eta,
        )


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, row: JobRow) -> None:
        async with self.db.session() as s, s.begin():
            s.add(row)

    async def get(self, user_id: str, job_id: str) -> JobRow:
        async with self.db.session() as s:
            row = await s.scalar(
                select(JobRow).where(JobRow.id == job_id, JobRow.user_id == user_id)
            )
        if row is None:
            raise NotFound(f"No job {job_id!r}.", param="id")
        return row

    async def page(
        self, user_id: str, *, limit: int, after: str | None
    ) -> tuple[list[JobRow], bool]:
        """The user's jobs, newest first; ``after`` is the last id of the previous page."""
        stmt = select(JobRow).where(JobRow.user_id == user_id)
        async with self.db.session() as s:
            if after is not None:
                anchor = await s.scalar(
                    select(JobRow.created_at).where(JobRow.id == after, JobRow.user_id == user_id)
                )
                if anchor is None:
                    raise InvalidRequest(f"No job {after!r} to list after.", param="after")
                stmt = stmt.where(
                    or_(
                        JobRow.created_at < anchor,
                        and_(JobRow.created_at == anchor, JobRow.id < after),
                    )
                )
            stmt = stmt.order_by(JobRow.created_at.desc(), JobRow.id.desc()).limit(limit + 1)
            rows = list(await s.scalars(stmt))
        return rows[:limit], len(rows) > limit

    async def _update(self, where: Any, **values: Any) -> bool:
        async with self.db.session() as s, s.begin():
            result = await s.execute(update(JobRow).where(*where).values(**values))
        return bool(getattr(result, "rowcount", 0))

    async def start(self, job_id: str, owner: str, now: datetime) -> bool:
        """queued → running, for the process that owns the job."""
        where = (JobRow.id == job_id, JobRow.owner == owner, JobRow.status == QUEUED)
        return await self._update(where, status=RUNNING, started_at=now, heartbeat_at=now)

    async def progress(self, job_id: str, owner: str, step: int, steps: int, now: datetime) -> bool:
        """False when the job is no longer running here (cancelled or failed elsewhere)."""
        where = (JobRow.id == job_id, JobRow.owner == owner, JobRow.status == RUNNING)
        return await self._update(where, step=step, steps=steps, heartbeat_at=now)

    async def finish(
        self,
        job_id: str,
        owner: str,
        status: str,
        now: datetime,
        *,
        step: int,
        steps: int,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> bool:
        where = (JobRow.id == job_id, JobRow.owner == owner, JobRow.status.in_(ACTIVE))
        return await self._update(
            where,
            status=status,
            step=step,
            steps=steps,
            result=result,
            error=error,
            finished_at=now,
            heartbeat_at=now,
        )

    async def cancel(self, job_id: str, now: datetime) -> bool:
        """Any process may cancel an active job; its owner notices and stops the work."""
        where = (JobRow.id == job_id, JobRow.status.in_(ACTIVE))
        return await self._update(where, status=CANCELLED, finished_at=now)

    async def beat(self, job_ids: list[str], owner: str, now: datetime) -> None:
        where = (JobRow.id.in_(job_ids), JobRow.owner == owner, JobRow.status.in_(ACTIVE))
        await self._update(where, heartbeat_at=now)

    async def ended(self, job_ids: list[str]) -> list[str]:
        """Those of ``job_ids`` that are no longer active."""
        async with self.db.session() as s:
            rows = await s.scalars(
                select(JobRow.id).where(JobRow.id.in_(job_ids), JobRow.status.not_in(ACTIVE))
            )
            return list(rows)

    async def find(self, job_id: str) -> JobRow | None:
        async with self.db.session() as s:
            return await s.get(JobRow, job_id)

    async def fail_stale(
        self, cutoff: datetime, keep: list[str], error: dict[str, Any], now: datetime
    ) -> list[tuple[str, str]]:
        """Fail active jobs whose heartbeat is older than ``cutoff`` (their process is gone),
        except ``keep`` (jobs this process runs). Returns (id, kind) of each."""
        where = [JobRow.status.in_(ACTIVE), JobRow.heartbeat_at < cutoff]
        if keep:
            where.append(JobRow.id.not_in(keep))
        async with self.db.session() as s, s.begin():
            result = await s.execute(
                update(JobRow)
                .where(*where)
                .values(status=FAILED, error=error, finished_at=now)
                .returning(JobRow.id, JobRow.kind)
            )
            return [(str(i), str(k)) for i, k in result]

    async def prune(self, before: datetime) -> int:
        """Delete jobs that ended before ``before``."""
        async with self.db.session() as s, s.begin():
            result = await s.execute(
                delete(JobRow).where(JobRow.status.in_(TERMINAL), JobRow.finished_at < before)
            )
        return int(getattr(result, "rowcount", 0) or 0)
