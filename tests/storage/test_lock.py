"""The storage lock holds across lock objects that share a data dir (as two gateway
processes do: the file lock) and, on PostgreSQL, across hosts (the advisory lock)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from plugai.db.database import Database
from plugai.storage.lock import StorageLock


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.migrate()
    yield database
    await database.dispose()


async def test_a_second_holder_waits_for_the_first(db: Database, tmp_path: Path) -> None:
    first = StorageLock(db, tmp_path / ".storage.lock")
    second = StorageLock(db, tmp_path / ".storage.lock")  # another process, in effect
    order: list[str] = []

    async def take(lock: StorageLock, name: str, hold: float) -> None:
        async with lock:
            order.append(f"{name} in")
            await asyncio.sleep(hold)
            order.append(f"{name} out")

    holder = asyncio.create_task(take(first, "first", 0.3))
    await asyncio.sleep(0.05)
    assert first.locked()
    await take(second, "second", 0)
    await holder
    assert order == ["first in", "first out", "second in", "second out"]


async def test_a_failure_inside_releases_every_part(db: Database, tmp_path: Path) -> None:
    lock = StorageLock(db, tmp_path / ".storage.lock")
    with pytest.raises(RuntimeError):
        async with lock:
            raise RuntimeError("boom")
    assert not lock.locked()
    other = StorageLock(db, tmp_path / ".storage.lock")
    async with asyncio.timeout(5):  # nothing left held: not the file, not the advisory lock
        async with other:
            pass
