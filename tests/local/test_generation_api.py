"""Local image and 3D models through the API, as a user sees them: the tiny diffusers and
Shap-E pipelines run in worker processes; outputs are artifacts to download; an async job
reports its progress, can be cancelled, and fails cleanly when its worker dies."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import trimesh
from PIL import Image

from plugai.settings import Settings
from tests.conftest import ADMIN_KEY, Harness, assert_envelope
from tests.live import live_server
from tests.local.conftest import needs_diffusers

pytestmark = needs_diffusers


@pytest.fixture
async def h(plugai: Callable[..., Any], generation_model_dir: Path) -> AsyncIterator[Harness]:
    async with plugai(local={"model_dirs": [str(generation_model_dir)]}) as harness:
        yield harness


@pytest.fixture
async def live(
    make_settings: Callable[..., Settings], generation_model_dir: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A real server: event streams arrive as they are sent (the in-process transport
    hands over a response only when it has ended)."""
    settings = make_settings(local={"model_dirs": [str(generation_model_dir)]})
    with live_server(settings) as url:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
            yield http


async def download(http: httpx.AsyncClient, url: str) -> httpx.Response:
    """A signed URL, fetched without any key."""
    got = await http.get(
        url.removeprefix(str(http.base_url).rstrip("/")), headers={"Authorization": ""}
    )
    assert got.status_code == 200, got.text
    return got


async def events_of(http: httpx.AsyncClient, job_id: str) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    async with http.stream("GET", f"/v1/jobs/{job_id}/events") as stream:
        name = ""
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line[5:])))
    return events


async def worker_pid(http: httpx.AsyncClient, model: str) -> int:
    for _ in range(400):
        rows = (await http.get("/v1/registry/loaded")).json()["data"]
        for row in rows:
            if row["id"] == model and row["pid"]:
                return int(row["pid"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"{model} never loaded")


async def test_local_images_in_both_formats_and_image_to_image(h: Harness) -> None:
    card = (await h.http.get("/v1/models/local/tiny-sd")).json()
    assert card["capabilities"]["images"] and card["output_modalities"] == ["image"]
    assert {"steps", "guidance_scale", "seed", "size"} <= set(card["parameters"]["properties"])
    result = await h.openai.images.generate(
        model="local/tiny-sd",
        prompt="a red fox",
        n=2,
        size="72x64",  # type: ignore[arg-type]
        response_format="b64_json",
        extra_body={"steps": 2, "seed": 7},
    )
    assert result.data is not None and len(result.data) == 2
    for item in result.data:
        image = Image.open(io.BytesIO(base64.b64decode(item.b64_json or "")))
        assert image.format == "PNG" and image.size == (72, 64)
    first_id = (result.data[0].model_extra or {})["artifact_id"]
    r = await h.http.post(
        "/v1/images/generations",
        json={
            "model": "local/tiny-sd",
            "prompt": "the same fox, at night",
            "image": first_id,
            "strength": 0.5,
            "steps": 4,
        },
    )
    assert r.status_code == 200, r.text
    png = (await download(h.http, r.json()["data"][0]["url"])).content
    assert Image.open(io.BytesIO(png)).size == (72, 64)  # image-to-image keeps the size
    listed = (await h.http.get("/v1/artifacts")).json()["data"]
    assert len(listed) == 3 and {a["kind"] for a in listed} == {"image"}
    bad = await h.http.post(
        "/v1/images/generations", json={"model": "local/tiny-sd", "prompt": "x", "size": "65x64"}
    )
    assert_envelope(bad, 400)


@pytest.mark.parametrize("fmt", ["glb", "obj", "ply"])
async def test_local_text_to_3d_with_a_preview(h: Harness, fmt: str) -> None:
    r = await h.http.post(
        "/v1/3d/generations",
        json={
            "model": "local/tiny-shap-e",
            "prompt": "a chair",
            "format": fmt,
            "steps": 2,
            "mesh_resolution": 32,
            "seed": 1,
        },
    )
    assert r.status_code == 200, r.text
    [mesh] = r.json()["data"]
    data = (await download(h.http, mesh["url"])).content
    assert len(data) == mesh["bytes"] and mesh["format"] == fmt
    loaded = trimesh.load(io.BytesIO(data), file_type=fmt, force="mesh")
    assert len(loaded.faces) == mesh["faces"] > 0
    assert len(loaded.vertices) == mesh["vertices"] > 0
    preview = (await download(h.http, mesh["preview"]["url"])).content
    assert Image.open(io.BytesIO(preview)).format == "PNG"


async def test_local_image_to_3d(h: Harness) -> None:
    card = (await h.http.get("/v1/models/local/tiny-shap-e-img")).json()
    assert card["input_modalities"] == ["image"] and card["output_modalities"] == ["3d"]
    picture = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 30, 30)).save(picture, "PNG")
    url = "data:image/png;base64," + base64.b64encode(picture.getvalue()).decode()
    r = await h.http.post(
        "/v1/3d/generations",
        json={"model": "local/tiny-shap-e-img", "image": url, "steps": 2, "mesh_resolution": 32},
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"][0]["faces"] > 0
    refused = await h.http.post(
        "/v1/3d/generations", json={"model": "local/tiny-shap-e-img", "prompt": "a chair"}
    )
    assert_envelope(refused, 400, param="image")


async def test_async_job_reports_every_step_then_the_result(live: httpx.AsyncClient) -> None:
    r = await live.post(
        "/v1/3d/generations",
        json={
            "model": "local/tiny-shap-e",
            "prompt": "a lamp",
            "steps": 6,
            "mesh_resolution": 32,
            "async": True,
        },
    )
    assert r.status_code == 202, r.text
    events = await events_of(live, r.json()["id"])
    assert events[-1][0] == "succeeded"
    steps = [data["progress"]["step"] for _, data in events]
    assert steps == sorted(steps)  # never goes back
    assert events[-1][1]["progress"]["steps"] == 7  # 6 denoising steps + the mesh
    [mesh] = events[-1][1]["result"]["data"]
    assert (await download(live, mesh["url"])).content[:4] == b"glTF"


async def test_cancel_and_worker_crash_end_jobs_cleanly(live: httpx.AsyncClient) -> None:
    body = {
        "model": "local/tiny-shap-e",
        "prompt": "a lamp",
        "steps": 500,
        "mesh_resolution": 16,
        "async": True,
    }
    job = (await live.post("/v1/3d/generations", json=body)).json()
    async with live.stream("GET", f"/v1/jobs/{job['id']}/events") as stream:
        async for line in stream.aiter_lines():
            if line.startswith("data:") and json.loads(line[5:])["progress"]["step"] >= 2:
                break
    cancelled = await live.post(f"/v1/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    final = (await events_of(live, job["id"]))[-1]
    assert final[0] == "cancelled" and final[1]["progress"]["step"] < 500

    job = (await live.post("/v1/3d/generations", json=body)).json()
    os.kill(await worker_pid(live, "local/tiny-shap-e"), signal.SIGKILL)
    name, failed = (await events_of(live, job["id"]))[-1]
    assert name == "failed"
    assert "SIGKILL" in failed["error"]["message"]
    assert failed["error"]["code"] == "local_worker_crashed"
    again = await live.post(
        "/v1/3d/generations", json={**body, "steps": 2, "mesh_resolution": 32, "async": False}
    )
    assert again.status_code == 200, again.text  # a fresh worker serves the next one
