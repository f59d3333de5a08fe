"""The 3D studio in Chromium: an image in (Stability's Stable Fast 3D, faked), progress,
the GLB in the interactive viewer (WebGL), downloads as GLB and converted OBJ, the list of
the user's 3D models, and cancelling a slow job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ADMIN_KEY, shot
from tests.e2e.test_chat_extras import PNG
from tests.e2e.test_web_app import open_section, sign_in
from tests.fakes import Reply
from tests.fakes.stability import FakeStability
from tests.server import ServerProcess

HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}
MODEL = "stab/stable-fast-3d"


@pytest.fixture
def mesh_api(gateway: ServerProcess) -> None:
    probe = httpx.post(f"{gateway.url}/v1/3d/generations", headers=HEADERS, json={})
    if probe.status_code == 404:
        pytest.skip("this gateway has no POST /v1/3d/generations yet")
    cards = httpx.get(f"{gateway.url}/v1/models", headers=HEADERS).json()["data"]
    if not any(m["id"] == MODEL for m in cards):
        pytest.skip(f"{MODEL} is not served")


def open_studio(page: Any, gateway: ServerProcess) -> None:
    page.emulate_media(reduced_motion="reduce")  # no auto-rotation: frames only on demand
    sign_in(page, gateway.url)
    open_section(page, "3D")
    page.get_by_role("heading", name="3D studio").wait_for()
    page.get_by_label("Model", exact=True).select_option(MODEL)
    page.get_by_label("an image").check()
    page.get_by_label("Image", exact=True).set_input_files(
        [{"name": "chair.png", "mimeType": "image/png", "buffer": PNG}]
    )
    page.get_by_role("img", name="The image to build from").wait_for()


def test_image_to_3d_in_the_viewer_with_downloads(
    page: Any, gateway: ServerProcess, stability: FakeStability, mesh_api: None
) -> None:
    open_studio(page, gateway)
    shot(page, "mesh-form")
    items = page.get_by_test_id("mesh-item")
    page.wait_for_load_state("networkidle")
    before = items.count()
    page.get_by_role("button", name="Generate").click()
    viewer = page.get_by_test_id("viewer")
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=mesh-item]').length > n", arg=before
    )
    page.locator("[data-testid=viewer][data-state=ready]").wait_for(timeout=30_000)
    assert int(viewer.get_attribute("data-vertices")) > 0
    sent = [r for r in stability.requests if "/3d/" in r.path][-1]
    assert isinstance(sent.form["image"], bytes) and sent.form["image"].startswith(b"\x89PNG")
    # The canvas shows something: some pixels are not transparent.
    drawn = viewer.locator("canvas").evaluate(
        """c => { const s = document.createElement('canvas'); s.width = 64; s.height = 64;
          const g = s.getContext('2d'); g.drawImage(c, 0, 0, 64, 64);
          const d = g.getImageData(0, 0, 64, 64).data; let n = 0;
          for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
    )
    assert drawn > 50, drawn
    shot(page, "mesh-viewer")

    with page.expect_download() as glb:
        page.get_by_role("button", name="Download as GLB", exact=True).click()
    assert glb.value.suggested_filename.endswith(".glb")
    assert Path(glb.value.path()).read_bytes()[:4] == b"glTF"
    with page.expect_download() as obj:
        page.get_by_role("button", name="Download as OBJ (converted)").click()
    assert obj.value.suggested_filename.endswith(".obj")
    assert "\nv " in Path(obj.value.path()).read_text()
    assert page.console_errors == []


def test_an_image_from_the_studio_to_3d_and_a_cancelled_job(
    page: Any, gateway: ServerProcess, stability: FakeStability, mesh_api: None
) -> None:
    """Image studio → "To 3D" hands the picture over; a slow 3D job shows its progress
    bar and is cancelled."""
    page.emulate_media(reduced_motion="reduce")
    sign_in(page, gateway.url)
    open_section(page, "Images")
    page.get_by_label("Model", exact=True).select_option("fakeai/gpt-image-1")
    page.get_by_label("Prompt").fill("a wooden chair")
    page.get_by_role("button", name="Generate").click()
    page.get_by_role("button", name="Make a 3D model from “a wooden chair”").first.click()
    page.get_by_role("heading", name="3D studio").wait_for()
    page.get_by_role("img", name="The image to build from").wait_for()
    assert page.get_by_label("an image").is_checked()
    page.get_by_label("Model", exact=True).select_option(MODEL)
    stability.enqueue(Reply(delay=5, endpoint="/3d/"))
    page.get_by_role("button", name="Generate").click()
    bar = page.get_by_role("progressbar", name="3D generation progress")
    bar.wait_for()
    shot(page, "mesh-progress")
    page.get_by_role("button", name="Cancel").click()
    bar.wait_for(state="detached")
    assert page.get_by_role("alert").count() == 0
