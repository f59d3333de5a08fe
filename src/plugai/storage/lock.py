"""``StorageLock``: storage decisions (reserve, evict, keep an artifact) one at a time —
across tasks of this process (an ``asyncio.Lock``), across processes sharing this data dir
(an OS file lock, dropped by the kernel when a process dies), and, on PostgreSQL, across
machines sharing the database (a session-level advisory lock on a connection held for the
critical section). Without it, two ``--workers`` could both fit a download into the same
free space."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from plugai.db.database import Database

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the process-local lock only
    fcntl = None  # type: ignore[assignment]

ADVISORY_KEY = 0x706C756761691  # "plugai" + 1: the storage decisions' lock


class StorageLock:
    def __init__(self, db: Database, path: Path) -> None:
        self.db = db
        self.path = path
        self._local = asyncio.Lock()
        self._fd: int | None = None
        self._conn: AsyncConnection | None = None

    def locked(self) -> bool:
        return self._local.locked()

    async def __aenter__(self) -> StorageLock:
        await self._local.acquire()
        try:
            self._fd = await asyncio.to_thread(self._lock_file)
            if not self.db.is_sqlite:
                self._conn = await self.db.engine.connect()
                await self._conn.execute(
                    text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_KEY}
                )
        except BaseException:
            await self._release()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._release()

    def _lock_file(self) -> int | None:
        if fcntl is None:
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # blocks this thread only
        except BaseException:
            os.close(fd)
            raise
        return fd

    async def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
            await _close(conn)
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing drops the flock
        if self._local.locked():
            self._local.release()


async def _close(conn: Any) -> None:
    with contextlib.suppress(Exception):
        await conn.close()
