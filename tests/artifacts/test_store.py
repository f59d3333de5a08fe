"""The artifact store on a real database and real files: adoption from staging, owner
scoping, pagination, retention with pinning, the quota (models and artifacts together)
and signed URLs."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from plugai.artifacts.store import ArtifactStore
from plugai.catalog.registry import ModelRegistry
from plugai.core.errors import InvalidRequest, NotFound, PermissionDenied, StorageFull
from plugai.db.database import Database
from plugai.settings import StorageSettings
from plugai.storage.manager import StorageManager
from tests.artifacts.conftest import Clock

SECRET = secrets.token_bytes(32)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


def make_store(db: Database, root: Path, clock: Clock, **settings: Any) -> ArtifactStore:
    settings.setdefault("min_free_disk", 0)
    return ArtifactStore(db, root, StorageSettings(**settings), SECRET, clock)


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


async def test_adopt_moves_the_file_in_and_registers_it(
    db: Database, tmp_path: Path, clock: Clock, users: tuple[str, str]
) -> None:
    ann, _ = users
    store = make_store(db, tmp_path / "art", clock)
    staging = store.staging_dir()
    made = staging / "out-0.png"
    made.write_bytes(PNG)
    meta = {"width": 8, "height": 8, "seed": 3}
    row = await store.adopt(
        ann, made, kind="image", mime="image/png", meta=meta, model="local/sd", job_id="job_1"
    )
    assert row.id.startswith("art_") and row.path == f"{ann}/{row.id}.png"
    assert (row.bytes, row.sha256) == (len(PNG), hashlib.sha256(PNG).hexdigest())
    assert (row.meta, row.model, row.job_id, row.pinned) == (meta, "local/sd", "job_1", False)
    assert not made.exists() and (tmp_path / "art" / row.path).read_bytes() == PNG
    assert await store.read(ann, row.id) == (PNG, "image/png")
    store.discard(staging)
    assert not staging.exists()
    with pytest.raises(ValueError, match="not a staging folder"):
        store.discard(tmp_path)
    assert await store.used_bytes() == len(PNG)


async def test_a_failed_adoption_leaves_nothing(db: Database, tmp_path: Path, clock: Clock) -> None:
    store = make_store(db, tmp_path / "art", clock)
    made = store.staging_dir() / "x.glb"
    made.write_bytes(b"glTF" + b"\0" * 40)
    with pytest.raises(Exception, match=r"(?i)foreign key|violates"):  # no such user
        await store.adopt("usr_nobody", made, kind="mesh", mime="model/gltf-binary")
    assert files_under(tmp_path / "art") == []
    assert await store.used_bytes() == 0


async def test_another_users_artifact_does_not_exist(
    db: Database, tmp_path: Path, clock: Clock, users: tuple[str, str]
) -> None:
    ann, bob = users
    store = make_store(db, tmp_path / "art", clock)
    row = await store.save_bytes(ann, PNG, kind="image", mime="image/png")
    for attempt in (
        store.get(bob, row.id),
        store.read(bob, row.id),
        store.delete(bob, row.id),
        store.set_pinned(bob, row.id, True),
    ):
        with pytest.raises(NotFound) as caught:
            await attempt
        assert caught.value.param == "id"
    assert (await store.page(bob)).artifacts == []
    await store.delete(ann, row.id)
    assert files_under(tmp_path / "art") == []
    with pytest.raises(NotFound):
        await store.get(ann, row.id)


async def test_pages_newest_first_with_an_after_cursor_and_kind(
    db: Database, tmp_path: Path, clock: Clock, users: tuple[str, str]
) -> None:
    ann, _ = users
    store = make_store(db, tmp_path / "art", clock)
    ids = []
    for i in range(5):
        kind = "mesh" if i % 2 else "image"
        mime = "model/gltf-binary" if kind == "mesh" else "image/png"
        ids.append((await store.save_bytes(ann, PNG + bytes([i]), kind=kind, mime=mime)).id)
        clock.advance(1)
    first = await store.page(ann, limit=2)
    assert [r.id for r in first.artifacts] == ids[::-1][:2] and first.has_more
    second = await store.page(ann, limit=2, after=first.artifacts[-1].id)
    assert [r.id for r in second.artifacts] == ids[::-1][2:4] and second.has_more
    last = await store.page(ann, limit=2, after=second.artifacts[-1].id)
    assert [r.id for r in last.artifacts] == [ids[0]] and not last.has_more
    meshes = await store.page(ann, kind="mesh")
    assert [r.id for r in meshes.artifacts] == [ids[3], ids[1]]
    with pytest.raises(InvalidRequest) as caught:
        await store.page(ann, after="art_unknown")
    assert caught.value.param == "after"


async def test_retention_expires_unpinned_artifacts_with_their_files(
    db: Database, tmp_path: Path, clock: Clock, users: tuple[str, str]
) -> None:
    ann, _ = users
    store = make_store(db, tmp_path / "art", clock, artifact_ttl=60)
    kept = await store.save_bytes(ann, PNG, kind="image", mime="image/png")
    gone = await store.save_bytes(ann, PNG[:50], kind="preview", mime="image/png")
    pinned = await store.set_pinned(ann, kept.id, True)
    assert pinned.expires_at is None and gone.expires_at is not None
    clock.advance(61)
    with pytest.raises(NotFound):  # past its time: gone for readers before the sweep
        await store.get(ann, gone.id)
    assert await store.expire(clock(), dry_run=True) == (1, 50)
    assert await store.expire(clock()) == (1, 50)
    assert await store.expire(clock()) == (0, 0)
    assert files_under(tmp_path / "art") == [tmp_path / "art" / kept.path]
    unpinned = await store.set_pinned(ann, kept.id, False)  # a full period from now
    assert unpinned.expires_at == clock() + timedelta(seconds=60)
    clock.advance(30)
    assert (await store.get(ann, kept.id)).id == kept.id
    clock.advance(31)
    assert await store.expire(clock()) == (1, len(PNG))


async def test_no_retention_keeps_artifacts(
    db: Database, tmp_path: Path, clock: Clock, users: tuple[str, str]
) -> None:
    store = make_store(db, tmp_path / "art", clock, artifact_ttl=0)
    row = await store.save_bytes(users[0], PNG, kind="image", mime="image/png")
    assert row.expires_at is None
    clock.advance(10 * 365 * 86400)
    assert await store.expire(clock()) == (0, 0)


async def test_quota_refuses_after_expiring_and_keeps_nothing(
    db: Database, tmp_path: Path, clock: Clock, users: tuple[str, str]
) -> None:
    ann, _ = users
    store = make_store(db, tmp_path / "art", clock, limit=300, artifact_ttl=60)
    old = await store.save_bytes(ann, b"a" * 200, kind="image", mime="image/png")
    staging = store.staging_dir()
    made = staging / "big.png"
    made.write_bytes(b"b" * 200)
    with pytest.raises(StorageFull) as caught:
        await store.adopt(ann, made, kind="image", mime="image/png")
    assert caught.value.status == 507 and "300 B" in caught.value.message
    assert not made.exists()
    assert [r.id for r in (await store.page(ann)).artifacts] == [old.id]
    assert files_under(tmp_path / "art") == [tmp_path / "art" / old.path]
    clock.advance(61)  # the old one expires: room is made for the new one
    made.write_bytes(b"b" * 200)
    row = await store.adopt(ann, made, kind="image", mime="image/png")
    assert files_under(tmp_path / "art") == [tmp_path / "art" / row.path]
    with pytest.raises(StorageFull):
        await store.save_bytes(ann, b"c" * 101, kind="image", mime="image/png")


async def test_models_and_artifacts_share_the_quota(
    db: Database, tmp_path: Path, clock: Clock, users: tuple[str, str]
) -> None:
    ann, _ = users
    models = tmp_path / "models"
    (models / "m").mkdir(parents=True)
    (models / "m" / "m.gguf").write_bytes(b"\0" * 700)
    await ModelRegistry(db).save_downloaded(
        "m",
        fmt="gguf",
        modality="text",
        source="http://x/m.gguf",
        path=models / "m" / "m.gguf",
        files=[{"path": "m.gguf", "size": 700, "sha256": None}],
        meta={},
    )
    settings = StorageSettings(limit=1000, min_free_disk=0, artifact_ttl=60)
    storage = StorageManager(db, settings, models)
    store = ArtifactStore(db, tmp_path / "art", settings, SECRET, clock, storage=storage)
    storage.artifacts = store
    await store.save_bytes(ann, b"x" * 250, kind="image", mime="image/png")
    with pytest.raises(StorageFull):
        await store.save_bytes(ann, b"y" * 100, kind="image", mime="image/png")
    usage = await storage.usage()
    assert (usage.used_models, usage.used_artifacts) == (700, 250)
    assert await storage.room() == 50
    clock.advance(61)
    preview = await storage.cleanup(dry_run=True)
    assert (preview.expired_artifacts, preview.freed) == (1, 250)
    assert await store.used_bytes() == 250
    done = await storage.cleanup(dry_run=False)
    assert (done.expired_artifacts, done.freed, done.evicted) == (1, 250, [])
    assert (await storage.usage()).used_artifacts == 0


async def test_signed_urls(db: Database, tmp_path: Path, clock: Clock) -> None:
    store = make_store(db, tmp_path / "art", clock, artifact_url_ttl=60)
    query = dict(part.split("=", 1) for part in store.sign("art_1").split("&"))
    assert store.verify("art_1", query["expires"], query["signature"])
    assert not store.verify("art_2", query["expires"], query["signature"])
    assert not store.verify("art_1", str(int(query["expires"]) + 1), query["signature"])
    assert not store.verify("art_1", query["expires"], query["signature"][:-2] + "AA")
    assert not store.verify("art_1", "soon", query["signature"])
    assert not store.verify("art_1", None, None)
    again = make_store(db, tmp_path / "art", clock)  # a restart: same key, same answer
    assert again.verify("art_1", query["expires"], query["signature"])
    other = ArtifactStore(db, tmp_path, StorageSettings(), secrets.token_bytes(32), clock)
    assert not other.verify("art_1", query["expires"], query["signature"])
    clock.advance(61)
    assert not store.verify("art_1", query["expires"], query["signature"])
    with pytest.raises(PermissionDenied):
        await store.get_signed("art_1", query["expires"], query["signature"])
