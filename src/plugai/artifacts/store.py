"""The artifact store: every generated file is a row (owner, type, size, sha256, expiry)
and a file under ``root/<user_id>/<id>.<ext>``.

Workers write into a staging folder (``root/.staging/<random>``) and the store *adopts*
their files: hashed off the event loop, checked against the storage quota, moved into
place with a rename and registered — or, on any failure, removed with nothing registered.
Every read is scoped to the owner: another user's artifact is indistinguishable from one
that does not exist. An artifact past its ``expires_at`` is gone for readers at once; the
retention sweep deletes its row and file later.
"""

from __future__ import annotations

import asyncio
import errno
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import structlog
from sqlalchemy import and_, delete, func, or_, select, update

from plugai.artifacts import files
from plugai.artifacts.signing import UrlSigner
from plugai.core.errors import InvalidRequest, NotFound, PermissionDenied, StorageFull
from plugai.db.database import Database
from plugai.db.tables import ArtifactRow, utcnow
from plugai.security.tokens import new_id
from plugai.settings import StorageSettings
from plugai.storage.lock import StorageLock
from plugai.storage.manager import StorageManager, human

log = structlog.get_logger("plugai.artifacts")
Clock = Callable[[], datetime]
KINDS = ("image", "mesh", "preview")
STAGING = ".staging"


@dataclass(frozen=True, slots=True)
class ArtifactPage:
    artifacts: list[ArtifactRow]
    has_more: bool


class ArtifactStore:
    def __init__(
        self,
        db: Database,
        root: Path,
        settings: StorageSettings,
        secret: bytes,
        clock: Clock = utcnow,
        *,
        storage: StorageManager | None = None,
    ) -> None:
        """``storage``: the quota covers its models too, and its lock orders the decisions
        (without it only the artifacts count against ``settings.limit``)."""
        self.db = db
        self.root = root
        self.settings = settings
        self.clock = clock
        self.storage = storage
        self.signer = UrlSigner(secret, clock)
        self._lock: StorageLock | asyncio.Lock = (
            storage.lock if storage is not None else asyncio.Lock()
        )
        self._undoing: set[asyncio.Task[None]] = set()

    # --- files in -----------------------------------------------------------------------
    def staging_dir(self) -> Path:
        """A fresh, empty folder on the artifacts' file system for a worker to write into."""
        path = self.root / STAGING / secrets.token_hex(8)
        path.mkdir(parents=True)
        return path

    def discard(self, path: Path) -> None:
        """Remove a staging folder and whatever was not adopted from it."""
        if path.parent != self.root / STAGING or path.name in ("", ".", ".."):
            raise ValueError(f"{path} is not a staging folder of this store")
        files.remove_tree(path)

    async def adopt(
        self,
        user_id: str,
        path: Path,
        *,
        kind: str,
        mime: str,
        meta: dict[str, Any] | None = None,
        model: str | None = None,
        job_id: str | None = None,
    ) -> ArtifactRow:
        """Take ownership of a finished file (moved, not copied) as the user's artifact."""
        try:
            digest, size = await asyncio.to_thread(files.digest, path)
            row = self._new_row(user_id, kind, mime, meta, model, job_id, path.suffix)
            row.sha256, row.bytes = digest, size
            return await self._register(row, path, None)
        finally:
            # adopted (moved away) or refused: never left behind
            await asyncio.to_thread(files.remove, path)

    async def save_bytes(
        self,
        user_id: str,
        data: bytes,
        *,
        kind: str,
        mime: str,
        meta: dict[str, Any] | None = None,
        model: str | None = None,
        job_id: str | None = None,
    ) -> ArtifactRow:
        """Keep bytes a provider returned as the user's artifact."""
        digest, size = await asyncio.to_thread(files.digest_bytes, data)
        row = self._new_row(user_id, kind, mime, meta, model, job_id, "")
        row.sha256, row.bytes = digest, size
        return await self._register(row, None, data)

    def _new_row(
        self,
        user_id: str,
        kind: str,
        mime: str,
        meta: dict[str, Any] | None,
        model: str | None,
        job_id: str | None,
        suffix: str,
    ) -> ArtifactRow:
        if kind not in KINDS:
            raise ValueError(f"unknown artifact kind {kind!r}")
        artifact_id = new_id("art")
        filename = f"{artifact_id}.{files.extension(mime, suffix)}"
        now = self.clock()
        return ArtifactRow(
            id=artifact_id,
            user_id=user_id,
            kind=kind,
            mime=mime,
            path=f"{user_id}/{filename}",
            filename=filename,
            model=model,
            job_id=job_id,
            meta=dict(meta or {}),
            pinned=False,
            created_at=now,
            expires_at=self._expiry(now),
        )

    def _expiry(self, start: datetime) -> datetime | None:
        ttl = self.settings.artifact_ttl
        return start + timedelta(seconds=ttl) if ttl > 0 else None

    async def _register(
        self, row: ArtifactRow, source: Path | None, data: bytes | None
    ) -> ArtifactRow:
        """Install the file and insert the row as one step that a cancelled caller does not
        cut in half; if the caller is gone by the time it completes, it is undone."""
        install = asyncio.ensure_future(self._install(row, source, data))
        try:
            return await asyncio.shield(install)
        except asyncio.CancelledError:
            install.add_done_callback(self._undo_late)
            raise

    def _undo_late(self, install: asyncio.Future[ArtifactRow]) -> None:
        if install.cancelled() or install.exception() is not None:
            return
        task = asyncio.ensure_future(self._remove(install.result()))
        self._undoing.add(task)
        task.add_done_callback(self._undoing.discard)

    async def _install(
        self, row: ArtifactRow, source: Path | None, data: bytes | None
    ) -> ArtifactRow:
        dest = self._inside(row.path)
        async with self._lock:
            await self._make_room(row.bytes, row.kind)
            try:
                if source is not None:
                    await asyncio.to_thread(files.move_into, source, dest)
                else:
                    await asyncio.to_thread(files.write_new, dest, data or b"")
                async with self.db.session() as s, s.begin():
                    s.add(row)
            except BaseException as exc:
                await asyncio.to_thread(files.remove, dest)
                if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                    raise StorageFull("The disk is full: the generated file was not kept.") from exc
                raise
        log.info("artifact_stored", artifact=row.id, kind=row.kind, bytes=row.bytes)
        return row

    async def _make_room(self, size: int, kind: str) -> None:
        """Refuse (507) a file beyond the quota, after deleting what has expired."""
        limit = self.settings.limit
        if limit is None:
            return
        used = await self._used_total()
        if used + size > limit:
            await self.expire(self.clock())
            used = await self._used_total()
        if used + size > limit:
            raise StorageFull(
                f"Not enough storage to keep this {kind} ({human(size)}): the limit is "
                f"{human(limit)} and {human(used)} is in use (models and artifacts). Delete or "
                "unpin artifacts, or remove models, then try again."
            )

    async def _used_total(self) -> int:
        if self.storage is None:
            return await self.used_bytes()
        usage = await self.storage.usage()
        return usage.used_models + usage.reserved + usage.used_artifacts

    # --- reading ------------------------------------------------------------------------
    def _live(self, now: datetime) -> Any:
        return or_(ArtifactRow.expires_at.is_(None), ArtifactRow.expires_at > now)

    async def get(self, user_id: str, artifact_id: str) -> ArtifactRow:
        async with self.db.session() as s:
            row = await s.scalar(
                select(ArtifactRow).where(
                    ArtifactRow.id == artifact_id,
                    ArtifactRow.user_id == user_id,
                    self._live(self.clock()),
                )
            )
        if row is None:
            raise NotFound(f"No artifact {artifact_id!r}.", param="id")
        return row

    async def get_signed(
        self, artifact_id: str, expires: str | None, signature: str | None
    ) -> ArtifactRow:
        """The artifact a signed URL points at (403 when the signature is bad or expired)."""
        if not self.signer.verify(artifact_id, expires, signature):
            raise PermissionDenied(
                "This artifact link is invalid or has expired; ask for a new one.",
                param="signature",
                code="invalid_signature",
            )
        async with self.db.session() as s:
            row = await s.scalar(
                select(ArtifactRow).where(ArtifactRow.id == artifact_id, self._live(self.clock()))
            )
        if row is None:
            raise NotFound(f"No artifact {artifact_id!r}.", param="id")
        return row

    def _inside(self, relative: str) -> Path:
        """``root / relative``, refusing anything that would leave the root."""
        path = PurePosixPath(relative)
        if path.is_absolute() or ".." in path.parts or STAGING in path.parts:
            raise ValueError(f"artifact path {relative!r} leaves the store")
        return self.root / path

    def file_of(self, row: ArtifactRow) -> Path:
        """The artifact's file (never outside the store's root)."""
        try:
            return self._inside(row.path)
        except ValueError:
            raise NotFound(f"No artifact {row.id!r}.", param="id") from None

    async def read_bytes(self, row: ArtifactRow) -> bytes:
        try:
            return await asyncio.to_thread(self.file_of(row).read_bytes)
        except FileNotFoundError:
            log.warning("artifact_file_missing", artifact=row.id)
            raise NotFound(f"No artifact {row.id!r}.", param="id") from None

    async def read(self, user_id: str, artifact_id: str) -> tuple[bytes, str]:
        """The bytes and media type of the user's artifact (input images by id)."""
        row = await self.get(user_id, artifact_id)
        return await self.read_bytes(row), row.mime

    async def page(
        self,
        user_id: str,
        *,
        limit: int = 20,
        after: str | None = None,
        kind: str | None = None,
    ) -> ArtifactPage:
        """The user's artifacts, newest first; ``after`` is the last id of the previous page."""
        now = self.clock()
        stmt = select(ArtifactRow).where(ArtifactRow.user_id == user_id, self._live(now))
        if kind is not None:
            stmt = stmt.where(ArtifactRow.kind == kind)
        async with self.db.session() as s:
            if after is not None:
                anchor = await s.scalar(
                    select(ArtifactRow.created_at).where(
                        ArtifactRow.id == after, ArtifactRow.user_id == user_id
                    )
                )
                if anchor is None:
                    raise InvalidRequest(f"No artifact {after!r} to list after.", param="after")
                stmt = stmt.where(
                    or_(
                        ArtifactRow.created_at < anchor,
                        and_(ArtifactRow.created_at == anchor, ArtifactRow.id < after),
                    )
                )
            stmt = stmt.order_by(ArtifactRow.created_at.desc(), ArtifactRow.id.desc())
            rows = list(await s.scalars(stmt.limit(limit + 1)))
        return ArtifactPage(rows[:limit], len(rows) > limit)

    async def used_bytes(self) -> int:
        async with self.db.session() as s:
            total = await s.scalar(select(func.coalesce(func.sum(ArtifactRow.bytes), 0)))
        return int(total or 0)

    # --- changes ------------------------------------------------------------------------
    async def set_pinned(self, user_id: str, artifact_id: str, pinned: bool) -> ArtifactRow:
        """Pinned artifacts never expire; unpinning starts a full retention period anew."""
        row = await self.get(user_id, artifact_id)
        expires = None if pinned else self._expiry(self.clock())
        async with self.db.session() as s, s.begin():
            await s.execute(
                update(ArtifactRow)
                .where(ArtifactRow.id == row.id, ArtifactRow.user_id == user_id)
                .values(pinned=pinned, expires_at=expires)
            )
        row.pinned, row.expires_at = pinned, expires
        return row

    async def delete(self, user_id: str, artifact_id: str) -> None:
        row = await self.get(user_id, artifact_id)
        await self._remove(row)

    async def _remove(self, row: ArtifactRow) -> None:
        async with self.db.session() as s, s.begin():
            await s.execute(delete(ArtifactRow).where(ArtifactRow.id == row.id))
        await asyncio.to_thread(files.remove, self._inside(row.path))
        log.info("artifact_deleted", artifact=row.id, bytes=row.bytes)

    async def expire(
        self, now: datetime | None = None, *, dry_run: bool = False
    ) -> tuple[int, int]:
        """Delete every unpinned artifact past its expiry (at ``now``, default the store's
        clock): (how many, bytes freed)."""
        now = now if now is not None else self.clock()
        due = and_(
            ArtifactRow.pinned.is_(False),
            ArtifactRow.expires_at.is_not(None),
            ArtifactRow.expires_at <= now,
        )
        async with self.db.session() as s, s.begin():
            if dry_run:
                found = (
                    await s.execute(
                        select(func.count(), func.coalesce(func.sum(ArtifactRow.bytes), 0)).where(
                            due
                        )
                    )
                ).one()
                return int(found[0]), int(found[1])
            gone = list(
                await s.execute(
                    delete(ArtifactRow)
                    .where(due)
                    .returning(ArtifactRow.id, ArtifactRow.path, ArtifactRow.bytes)
                )
            )
        for _id, path, _size in gone:
            await asyncio.to_thread(files.remove, self._inside(path))
        freed = sum(int(size) for _id, _path, size in gone)
        if gone:
            log.info("artifacts_expired", count=len(gone), bytes=freed)
        return len(gone), freed

    def sweep_staging(self, older_than: float) -> int:
        """Remove staging folders a crashed run left behind (blocking: run in a thread)."""
        old = files.old_entries(self.root / STAGING, older_than, time.time())
        for entry in old:
            files.remove_tree(entry)
        return len(old)

    # --- signed URLs --------------------------------------------------------------------
    def sign(self, artifact_id: str, ttl: float | None = None) -> str:
        """``expires=…&signature=…`` for ``GET /v1/artifacts/{id}`` without an API key."""
        return self.signer.sign(
            artifact_id, ttl if ttl is not None else self.settings.artifact_url_ttl
        )

    def verify(self, artifact_id: str, expires: str | int | None, signature: str | None) -> bool:
        return self.signer.verify(artifact_id, expires, signature)
