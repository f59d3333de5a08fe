"""The storage manager: quota and reservations, LRU eviction that never touches pinned,
loaded or discovered models, the ``refuse`` policy, 507 messages, usage and cleanup."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from plugai.catalog.registry import ModelRegistry
from plugai.catalog.scanner import Found
from plugai.core.errors import StorageFull
from plugai.db.database import Database
from plugai.settings import StorageSettings
from plugai.storage.manager import StorageManager
from tests.catalog.conftest import FAST, files, wait_job
from tests.catalog.servers import FileServer
from tests.conftest import assert_envelope


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.migrate()
    yield database
    await database.dispose()


async def downloaded(registry: ModelRegistry, models: Path, name: str, size: int) -> None:
    folder = models / name
    folder.mkdir(parents=True)
    (folder / "m.gguf").write_bytes(b"\0" * size)
    await registry.save_downloaded(
        name,
        fmt="gguf",
        modality="text",
        source=f"http://x/{name}.gguf",
        path=folder / "m.gguf",
        files=[{"path": "m.gguf", "size": size, "sha256": None}],
        meta={},
    )


@pytest.fixture
async def stocked(db: Database, tmp_path: Path) -> tuple[ModelRegistry, Path]:
    """Downloaded a (oldest), b, c (newest), 100 bytes each; d discovered, 500 bytes."""
    registry = ModelRegistry(db)
    models = tmp_path / "models"
    for name in ("a", "b", "c"):
        await downloaded(registry, models, name, 100)
        await registry.touch(name)
        await asyncio.sleep(0.01)
    elsewhere = tmp_path / "mine" / "d.gguf"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"\0" * 500)
    found = Found("d", "gguf", "text", elsewhere, [{"path": "d.gguf", "size": 500}])
    await registry.sync_discovered([found])
    return registry, models


def manager(
    db: Database, models: Path, loaded: frozenset[str] = frozenset(), **kw: Any
) -> StorageManager:
    settings = StorageSettings(min_free_disk=0, **kw)
    return StorageManager(db, settings, models, is_loaded=lambda m: m in loaded)


async def test_usage_counts_downloaded_models_only(
    db: Database, stocked: tuple[ModelRegistry, Path]
) -> None:
    _, models = stocked
    usage = await manager(db, models, limit=1000).usage()
    assert (usage.limit, usage.used_models, usage.reserved) == (1000, 300, 0)
    assert usage.evictable == ["a", "b", "c"]  # least recently used first; never d


async def test_eviction_spares_pinned_loaded_and_discovered(
    db: Database, stocked: tuple[ModelRegistry, Path]
) -> None:
    registry, models = stocked
    await registry.set_pinned("a", True)
    storage = manager(db, models, loaded=frozenset({"b"}), limit=400)
    async with storage.lock:
        evicted = await storage.make_room(200)  # 300 used + 200 > 400: 100 must go
    assert evicted == ["c"]
    assert not (models / "c").exists()
    assert {m.id for m in await registry.all()} == {"a", "b", "d"}
    assert (models / "a" / "m.gguf").exists() and (models / "b" / "m.gguf").exists()
    with pytest.raises(StorageFull) as full:
        async with storage.lock:
            await storage.make_room(300)
    assert "could free 0 B" in full.value.message
    assert {m.id for m in await registry.all()} == {"a", "b", "d"}


async def test_lru_goes_first_and_refuse_policy(
    db: Database, stocked: tuple[ModelRegistry, Path]
) -> None:
    registry, models = stocked
    refuse = manager(db, models, limit=350, eviction="refuse")
    with pytest.raises(StorageFull) as full:
        await refuse.make_room(100)
    assert "'refuse'" in full.value.message and "could free 300 B" in full.value.message
    assert len(await registry.all()) == 4
    evict = manager(db, models, limit=350)
    assert await evict.make_room(100) == ["a"]


async def test_free_disk_floor_is_respected(
    db: Database, stocked: tuple[ModelRegistry, Path]
) -> None:
    _, models = stocked
    storage = StorageManager(db, StorageSettings(min_free_disk="1 PiB"), models)
    with pytest.raises(StorageFull, match="floor"):
        await storage.make_room(10)


async def test_cleanup_dry_run_then_for_real(
    db: Database, stocked: tuple[ModelRegistry, Path]
) -> None:
    registry, models = stocked
    storage = manager(db, models, limit=150)
    preview = await storage.cleanup(dry_run=True)
    assert (preview.evicted, preview.freed) == (["a", "b"], 200)
    assert len(await registry.all()) == 4
    done = await storage.cleanup(dry_run=False)
    assert done.evicted == ["a", "b"]
    assert {m.id for m in await registry.all()} == {"c", "d"}


async def test_quota_hit_is_a_507_and_two_downloads_stay_inside(
    plugai: Callable[..., Any], files: FileServer
) -> None:
    big = files.add("big.gguf", b"\1" * 5000)
    one = files.add("one.gguf", b"\2" * 600, rate=300)  # 2 s: still running when checked
    two = files.add("two.gguf", b"\3" * 600, rate=300)
    storage = {"limit": 1000, "min_free_disk": 0}
    async with plugai(local=FAST | {"stall_timeout": 5}, storage=storage) as h:
        refused = await h.http.post("/v1/registry/downloads", json={"source": big})
        error = assert_envelope(refused, 507)
        assert error["code"] == "storage_full" and "4.9 KiB needed" in error["message"]
        answers = await asyncio.gather(
            h.http.post("/v1/registry/downloads", json={"source": one}),
            h.http.post("/v1/registry/downloads", json={"source": two}),
        )
        assert sorted(r.status_code for r in answers) == [202, 507]
        usage = (await h.http.get("/v1/storage")).json()
        assert usage["reserved"] == 600 and usage["free"] == 400
        job = next(r.json() for r in answers if r.status_code == 202)
        job = await wait_job(h.http, job["id"])
        usage = (await h.http.get("/v1/storage")).json()
        assert (usage["used"], usage["reserved"]) == ({"models": 600, "artifacts": 0}, 0)
        pinned = await h.http.patch(f"/v1/registry/models/{job['model']}", json={"pinned": True})
        assert pinned.json()["pinned"] is True
        cleanup = (await h.http.post("/v1/storage/cleanup", json={"dry_run": True})).json()
        assert cleanup == {
            "object": "storage.cleanup",
            "dry_run": True,
            "evicted": [],
            "removed_records": [],
            "freed": 0,
            "expired_artifacts": 0,
        }


__all__ = ["files"]  # the loopback file server fixture


async def test_unannounced_size_is_stopped_when_the_room_runs_out(
    plugai: Callable[..., Any], files: FileServer
) -> None:
    url = files.add("sizeless.gguf", b"\4" * 300_000, no_length=True)
    small = files.add("sizeless-small.gguf", b"\5" * 50_000, no_length=True)
    storage = {"limit": 100_000, "min_free_disk": 0}
    async with plugai(local=FAST, storage=storage) as h:
        job = (await h.http.post("/v1/registry/downloads", json={"source": url})).json()
        assert job["bytes_total"] is None
        failed = await wait_job(h.http, job["id"], until=("failed",))
        assert "storage full" in failed["error"] and "did not announce" in failed["error"]
        partial = h.app.state.settings.data_dir / "models" / ".partial"
        assert not partial.exists() or not any(partial.iterdir())
        listed = (await h.http.get("/v1/registry/models")).json()["data"]
        assert [(m["id"], m["state"], m["total_size"]) for m in listed] == [
            ("sizeless", "failed", 0)
        ]
        job = (await h.http.post("/v1/registry/downloads", json={"source": small})).json()
        assert (await wait_job(h.http, job["id"]))["bytes_done"] == 50_000
