"""``/v1/artifacts`` on a running app: downloads with the right type, exact byte ranges,
ETag and 304, signed links without a key (tampered or expired: 403), pagination, pinning,
deletion, retention and the quota; another user's artifact is a 404 everywhere."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from plugai.artifacts.store import ArtifactStore
from plugai.core.errors import StorageFull
from plugai.security.principal import Role
from tests.conftest import Harness, assert_envelope

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
GLB = b"glTF\x02\x00\x00\x00" + b"\x07" * 500


@pytest.fixture
async def h(plugai: Callable[..., Any]) -> AsyncIterator[Harness]:
    storage = {"limit": 10_000, "min_free_disk": 0, "artifact_ttl": "1h"}
    async with plugai(storage=storage) as harness:
        yield harness


def store_of(h: Harness) -> ArtifactStore:
    store: ArtifactStore = h.app.state.artifacts
    return store


async def me(h: Harness, headers: dict[str, str] | None = None) -> str:
    user_id: str = (await h.http.get("/v1/me", headers=headers)).json()["id"]
    return user_id


async def other_user(h: Harness) -> dict[str, str]:
    _, issued = await h.app.state.users.create_user("bob", Role.USER)
    return {"Authorization": f"Bearer {issued.token}"}


def path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_download_has_type_etag_ranges_and_304(h: Harness) -> None:
    row = await store_of(h).save_bytes(await me(h), PNG, kind="image", mime="image/png")
    got = await h.http.get(f"/v1/artifacts/{row.id}")
    assert got.status_code == 200 and got.content == PNG
    etag = f'"{hashlib.sha256(PNG).hexdigest()}"'
    assert got.headers["content-type"] == "image/png"
    assert got.headers["etag"] == etag and got.headers["accept-ranges"] == "bytes"
    assert got.headers["content-length"] == str(len(PNG))
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"] == f'inline; filename="{row.id}.png"'

    part = await h.http.get(f"/v1/artifacts/{row.id}", headers={"Range": "bytes=10-109"})
    assert part.status_code == 206 and part.content == PNG[10:110]
    assert part.headers["content-range"] == f"bytes 10-109/{len(PNG)}"
    tail = await h.http.get(f"/v1/artifacts/{row.id}", headers={"Range": "bytes=-8"})
    assert tail.status_code == 206 and tail.content == PNG[-8:]
    stale = await h.http.get(
        f"/v1/artifacts/{row.id}", headers={"Range": "bytes=0-3", "If-Range": '"other"'}
    )
    assert stale.status_code == 200 and stale.content == PNG  # If-Range mismatch: whole file
    beyond = await h.http.get(f"/v1/artifacts/{row.id}", headers={"Range": "bytes=99999-"})
    assert assert_envelope(beyond, 416)["code"] == "range_not_satisfiable"
    assert beyond.headers["content-range"] == f"bytes */{len(PNG)}"
    bad = await h.http.get(f"/v1/artifacts/{row.id}", headers={"Range": "pages=1-2"})
    assert_envelope(bad, 400, param="Range")
    two = await h.http.get(f"/v1/artifacts/{row.id}", headers={"Range": "bytes=0-1,10-11"})
    assert two.status_code == 206 and two.headers["content-type"].startswith("multipart/")

    same = await h.http.get(f"/v1/artifacts/{row.id}", headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == etag
    changed = await h.http.get(f"/v1/artifacts/{row.id}", headers={"If-None-Match": '"x"'})
    assert changed.status_code == 200
    head = await h.http.head(f"/v1/artifacts/{row.id}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(PNG))


async def test_metadata_list_pages_and_kinds(h: Harness) -> None:
    user = await me(h)
    store = store_of(h)
    made = []
    for i in range(3):
        made.append(await store.save_bytes(user, PNG + bytes([i]), kind="image", mime="image/png"))
    mesh_meta = {"format": "glb", "vertices": 8, "faces": 12, "preview_id": made[0].id}
    made.append(
        await store.save_bytes(
            user, GLB, kind="mesh", mime="model/gltf-binary", meta=mesh_meta, model="local/shap-e"
        )
    )
    meta = (await h.http.get(f"/v1/artifacts/{made[3].id}/metadata")).json()
    assert meta["object"] == "artifact" and meta["kind"] == "mesh"
    assert (meta["mime_type"], meta["bytes"], meta["model"]) == (
        "model/gltf-binary",
        len(GLB),
        "local/shap-e",
    )
    assert (meta["format"], meta["vertices"], meta["faces"], meta["preview_id"]) == (
        "glb",
        8,
        12,
        made[0].id,
    )
    assert meta["pinned"] is False and meta["expires_at"] - meta["created_at"] == 3600
    assert meta["sha256"] == hashlib.sha256(GLB).hexdigest()

    seen: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"after": after} if after else {})
        page = (await h.http.get("/v1/artifacts", params=params)).json()
        assert page["object"] == "list"
        seen += [a["id"] for a in page["data"]]
        assert (page["first_id"], page["last_id"]) == (page["data"][0]["id"], seen[-1])
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert sorted(seen) == sorted(r.id for r in made) and len(seen) == 4
    meshes = (await h.http.get("/v1/artifacts", params={"kind": "mesh"})).json()
    assert [a["id"] for a in meshes["data"]] == [made[3].id]
    bad = await h.http.get("/v1/artifacts", params={"limit": 101})
    assert_envelope(bad, 400, param="limit")
    assert_envelope(await h.http.get("/v1/artifacts", params={"kind": "video"}), 400)
    assert_envelope(await h.http.get("/v1/artifacts", params={"after": "art_x"}), 400)


async def test_another_users_artifact_is_404_everywhere(h: Harness) -> None:
    row = await store_of(h).save_bytes(await me(h), PNG, kind="image", mime="image/png")
    bob = await other_user(h)
    for method, suffix, body in (
        ("GET", "", None),
        ("HEAD", "", None),
        ("GET", "/metadata", None),
        ("PATCH", "", {"pinned": True}),
        ("DELETE", "", None),
    ):
        answer = await h.http.request(
            method, f"/v1/artifacts/{row.id}{suffix}", json=body, headers=bob
        )
        assert answer.status_code == 404, (method, suffix)
        if method != "HEAD":
            assert_envelope(answer, 404, param="id")
    assert (await h.http.get("/v1/artifacts", headers=bob)).json()["data"] == []
    assert (await h.http.get(f"/v1/artifacts/{row.id}")).status_code == 200  # still there


async def test_signed_links_work_without_a_key(h: Harness) -> None:
    store = store_of(h)
    row = await store.save_bytes(await me(h), PNG, kind="image", mime="image/png")
    url = (await h.http.get(f"/v1/artifacts/{row.id}/metadata")).json()["url"]
    assert url.startswith(f"http://plugai/v1/artifacts/{row.id}?expires=")
    anonymous = httpx.AsyncClient(transport=h.http._transport, base_url="http://plugai")
    async with anonymous:
        link = path_and_query(url)
        got = await anonymous.get(link)
        assert got.status_code == 200 and got.content == PNG
        assert got.headers["content-type"] == "image/png"
        part = await anonymous.get(link, headers={"Range": "bytes=0-7"})
        assert part.status_code == 206 and part.content == PNG[:8]

        tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
        assert_envelope(await anonymous.get(tampered), 403, param="signature")
        other = await store.save_bytes(await me(h), GLB, kind="mesh", mime="model/gltf-binary")
        moved = link.replace(row.id, other.id)  # a signature is for one artifact only
        assert_envelope(await anonymous.get(moved), 403)
        expired = f"/v1/artifacts/{row.id}?{store.sign(row.id, ttl=-1)}"
        assert_envelope(await anonymous.get(expired), 403)
        # the exemption is narrow: no key, no signature → 401; other paths still need a key
        assert_envelope(await anonymous.get(f"/v1/artifacts/{row.id}"), 401)
        meta = f"/v1/artifacts/{row.id}/metadata?{store.sign(row.id)}"
        assert_envelope(await anonymous.get(meta), 401)
        assert_envelope(await anonymous.delete(link), 401)
        assert_envelope(await anonymous.get(f"/v1/artifacts?{store.sign(row.id)}"), 401)
        await h.http.delete(f"/v1/artifacts/{row.id}")
        assert_envelope(await anonymous.get(link), 404)


async def test_delete_removes_row_and_file(h: Harness) -> None:
    store = store_of(h)
    row = await store.save_bytes(await me(h), PNG, kind="image", mime="image/png")
    file = store.root / row.path
    assert file.exists()
    gone = await h.http.delete(f"/v1/artifacts/{row.id}")
    assert gone.json() == {"id": row.id, "object": "artifact.deleted", "deleted": True}
    assert not file.exists()
    assert_envelope(await h.http.get(f"/v1/artifacts/{row.id}"), 404)
    assert_envelope(await h.http.delete(f"/v1/artifacts/{row.id}"), 404)


async def test_pinned_artifacts_survive_retention(h: Harness) -> None:
    store = store_of(h)
    user = await me(h)
    kept = await store.save_bytes(user, PNG, kind="image", mime="image/png")
    lost = await store.save_bytes(user, GLB, kind="mesh", mime="model/gltf-binary")
    pinned = await h.http.patch(f"/v1/artifacts/{kept.id}", json={"pinned": True})
    assert pinned.json()["pinned"] is True and pinned.json()["expires_at"] is None
    bad = await h.http.patch(f"/v1/artifacts/{kept.id}", json={"pinned": True, "x": 1})
    assert_envelope(bad, 400)
    later = store.clock() + timedelta(hours=2)
    assert await store.expire(later) == (1, len(GLB))  # what the hourly sweep does
    assert not (store.root / lost.path).exists() and (store.root / kept.path).exists()
    assert_envelope(await h.http.get(f"/v1/artifacts/{lost.id}/metadata"), 404)
    assert (await h.http.get(f"/v1/artifacts/{kept.id}")).content == PNG
    usage = (await h.http.get("/v1/storage")).json()
    assert usage["used"]["artifacts"] == len(PNG)


async def test_cleanup_expires_due_artifacts(h: Harness) -> None:
    store = store_of(h)
    row = await store.save_bytes(await me(h), PNG, kind="image", mime="image/png")
    from sqlalchemy import update

    from plugai.db.tables import ArtifactRow

    async with h.app.state.db.session() as s, s.begin():
        await s.execute(
            update(ArtifactRow).values(expires_at=row.created_at - timedelta(seconds=1))
        )
    preview = (await h.http.post("/v1/storage/cleanup", json={"dry_run": True})).json()
    assert (preview["expired_artifacts"], preview["freed"]) == (1, len(PNG))
    assert (store.root / row.path).exists()
    done = (await h.http.post("/v1/storage/cleanup", json={})).json()
    assert (done["expired_artifacts"], done["freed"]) == (1, len(PNG))
    assert not (store.root / row.path).exists()
    assert (await h.http.get("/v1/storage")).json()["used"]["artifacts"] == 0


async def test_over_the_quota_is_507_and_leaves_nothing(h: Harness) -> None:
    store = store_of(h)
    user = await me(h)
    await store.save_bytes(user, b"a" * 6000, kind="image", mime="image/png")
    staging = store.staging_dir()
    made = staging / "image-0.png"
    made.write_bytes(b"b" * 6000)
    with pytest.raises(StorageFull) as caught:
        await store.adopt(user, made, kind="image", mime="image/png")
    assert caught.value.status == 507
    assert not made.exists()
    listed = (await h.http.get("/v1/artifacts")).json()["data"]
    assert len(listed) == 1
    assert [p.name for p in (store.root / user).iterdir()] == [f"{listed[0]['id']}.png"]
    store.discard(staging)
    usage = (await h.http.get("/v1/storage")).json()
    assert usage["used"]["artifacts"] == 6000 and usage["free"] == 4000
