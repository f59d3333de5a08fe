"""/v1/images/generations and /v1/3d/generations end to end with provider models (fake
OpenAI and Stability upstreams over real HTTP): every output is the caller's artifact,
served from a signed URL, and ``"async": true`` gives a job that ends with the same body.
Local engines are covered in tests/local/test_generation_api.py."""

from __future__ import annotations

import asyncio
import base64
import io
from typing import Any

import httpx
import pytest
import trimesh

from tests.api.test_images import Start, fake_oai, fake_stab, gateway
from tests.conftest import Harness, assert_envelope
from tests.fakes.base import tiny_png
from tests.fakes.stability import FakeStability

PNG = b"\x89PNG\r\n\x1a\n"
PNG_DATA_URL = "data:image/png;base64," + base64.b64encode(tiny_png("chair")).decode()
__all__ = ["fake_oai", "fake_stab", "gateway"]  # fixtures shared with test_images


async def fetch_signed(h: Harness, url: str) -> httpx.Response:
    """GET a signed URL with no Authorization header at all."""
    path = url.removeprefix("http://plugai")
    transport = httpx.ASGITransport(app=h.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://plugai") as anonymous:
        return await anonymous.get(path)


async def test_image_url_is_a_signed_artifact_url(gateway: Start) -> None:
    async with gateway() as h:
        result = await h.openai.images.generate(model="openai/dall-e-3", prompt="a red fox")
        assert result.data is not None
        item = result.data[0]
        assert item.url is not None and "/v1/artifacts/art_" in item.url
        got = await fetch_signed(h, item.url)
        assert got.status_code == 200, got.text
        assert got.headers["content-type"] == "image/png"
        assert got.content.startswith(PNG)
        artifact_id = item.model_extra["artifact_id"] if item.model_extra else None
        listed = (await h.http.get("/v1/artifacts")).json()
        assert [a["id"] for a in listed["data"]] == [artifact_id]
        assert listed["data"][0]["metadata"]["prompt"] == "a red fox"
        tampered = await fetch_signed(h, item.url[:-2] + ("00" if item.url[-2:] != "00" else "11"))
        assert_envelope(tampered, 403)


async def test_b64_json_also_keeps_the_image(gateway: Start) -> None:
    async with gateway() as h:
        r = await h.http.post(
            "/v1/images/generations",
            json={"model": "stability/core", "prompt": "a fox", "response_format": "b64_json"},
        )
        assert r.status_code == 200, r.text
        item = r.json()["data"][0]
        stored = await h.http.get(f"/v1/artifacts/{item['artifact_id']}")
    assert stored.content == base64.b64decode(item["b64_json"])


@pytest.mark.parametrize("fmt", ["glb", "obj", "ply"])
async def test_3d_from_a_data_url_image(gateway: Start, fake_stab: FakeStability, fmt: str) -> None:
    async with gateway() as h:
        r = await h.http.post(
            "/v1/3d/generations",
            json={
                "model": "stability/stable-fast-3d",
                "image": PNG_DATA_URL,
                "format": fmt,
                "foreground_ratio": 0.5,
            },
        )
        assert r.status_code == 200, r.text
        body = r.json()
        [mesh] = body["data"]
        got = await fetch_signed(h, mesh["url"])
    assert fake_stab.last_request.form is not None
    assert fake_stab.last_request.form["image"] == tiny_png("chair")
    assert body["model"] == "stability/stable-fast-3d"
    assert mesh["format"] == fmt and mesh["faces"] == 12 and mesh["vertices"] > 0
    assert mesh["bytes"] == len(got.content)
    assert got.headers["content-type"] == mesh["mime_type"]
    loaded = trimesh.load(io.BytesIO(got.content), file_type=fmt, force="mesh")
    assert len(loaded.faces) == 12


async def test_an_artifact_feeds_the_next_generation(
    gateway: Start, fake_stab: FakeStability
) -> None:
    """Image → 3D: the image generated first is the 3D model's input, by id."""
    async with gateway() as h:
        first = await h.http.post(
            "/v1/images/generations", json={"model": "stability/core", "prompt": "a chair"}
        )
        image_id = first.json()["data"][0]["artifact_id"]
        image = (await h.http.get(f"/v1/artifacts/{image_id}")).content
        r = await h.http.post(
            "/v1/3d/generations", json={"model": "stability/stable-fast-3d", "image": image_id}
        )
        assert r.status_code == 200, r.text
        bob_key = (await h.http.post("/v1/admin/users", json={"name": "bob"})).json()["api_key"]
        as_bob = await h.http.post(
            "/v1/3d/generations",
            json={"model": "stability/stable-fast-3d", "image": image_id},
            headers={"Authorization": f"Bearer {bob_key}"},
        )
    assert fake_stab.last_request.form is not None
    assert fake_stab.last_request.form["image"] == image
    assert_envelope(as_bob, 404)  # another user's artifact is not there for bob


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "stability/stable-fast-3d", "prompt": "a chair"}, "image"),
        ({"model": "stability/stable-fast-3d", "image": "data:image/png;base64,@@"}, "image"),
        ({"model": "stability/stable-fast-3d", "image": "ftp://x/y.png"}, "image"),
        (
            {"model": "stability/stable-fast-3d", "image": PNG_DATA_URL, "vertex_count": 10**6},
            "vertex_count",
        ),
        ({"model": "stability/stable-fast-3d", "image": PNG_DATA_URL, "format": "stl"}, "format"),
        ({"model": "stability/core", "prompt": "a chair"}, "model"),
        ({"model": "stability/stable-fast-3d"}, None),
    ],
)
async def test_bad_3d_requests_are_400s(
    gateway: Start, fake_stab: FakeStability, body: dict[str, Any], param: str | None
) -> None:
    async with gateway() as h:
        for is_async in (False, True):
            r = await h.http.post("/v1/3d/generations", json={**body, "async": is_async})
            error = assert_envelope(r, 400)
            if param is not None:
                assert error["param"] == param, error
        assert (await h.http.get("/v1/artifacts")).json()["data"] == []
        assert (await h.http.get("/v1/jobs")).json()["data"] == []


async def test_async_3d_job_ends_with_the_same_body(gateway: Start) -> None:
    async with gateway() as h:
        r = await h.http.post(
            "/v1/3d/generations",
            json={"model": "stability/stable-fast-3d", "image": PNG_DATA_URL, "async": True},
        )
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["object"] == "generation.job" and job["status"] in ("queued", "running")
        for _ in range(200):
            job = (await h.http.get(f"/v1/jobs/{job['id']}")).json()
            if job["status"] not in ("queued", "running"):
                break
            await asyncio.sleep(0.05)
        assert job["status"] == "succeeded", job
        [mesh] = job["result"]["data"]
        got = await fetch_signed(h, mesh["url"])
    assert got.status_code == 200 and got.content[:4] == b"glTF"
    assert job["progress"]["step"] == job["progress"]["steps"] == 1
