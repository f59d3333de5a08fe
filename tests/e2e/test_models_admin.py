"""The Models screen (admins) in Chromium: pull from the fake Hub with a live progress bar,
cancel a pull, load and unload the tiny local model, pin, storage and cleanup, delete; a
plain user is not offered the screen."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.catalog.layouts import write_gguf
from tests.catalog.servers import FakeHub
from tests.e2e.conftest import ADMIN_KEY, shot
from tests.e2e.test_web_app import open_section, sign_in
from tests.server import ServerProcess

HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}


def registry(gateway: ServerProcess) -> dict[str, Any]:
    data = httpx.get(f"{gateway.url}/v1/registry/models", headers=HEADERS).json()["data"]
    return {m["id"]: m for m in data}


def test_pull_with_progress_cancel_pin_and_delete(
    page: Any, gateway: ServerProcess, hub: FakeHub, tmp_path: Path
) -> None:
    tag = page.viewport_name
    # A GGUF header and 4 MiB more (the gateway reports progress per MiB written), ~3 s.
    data = write_gguf(tmp_path / "t.gguf").read_bytes() + b"\1" * 4 * 1024 * 1024
    hub.add_repo(f"org/tiny-{tag}-GGUF", {f"tiny-{tag}-Q4_K_M.gguf": data}, rate=1_500_000)
    hub.add_repo(f"org/slow-{tag}-GGUF", {f"slow-{tag}.gguf": b"\1" * 2_000_000}, rate=20_000)
    sign_in(page, gateway.url)
    open_section(page, "Models")
    page.get_by_role("heading", name="Models", exact=True).wait_for()

    page.get_by_label("Source").fill(f"hf://org/tiny-{tag}-GGUF")
    page.get_by_label("Files (optional)").fill("*Q4_K_M*")
    page.get_by_role("button", name="Pull", exact=True).click()
    row = page.locator(f"[data-testid=download-tiny-{tag}-Q4_K_M]")
    bar = row.get_by_role("progressbar")
    bar.wait_for()
    seen: list[float] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        value = bar.evaluate("b => b.position")  # -1 while the size is unknown
        seen.append(value)
        if row.get_by_text("done", exact=True).count():
            break
        time.sleep(0.1)
    assert row.get_by_text("done", exact=True).count(), seen
    assert any(0 < v < 1 for v in seen), f"no progress between 0 and 100%: {seen}"
    assert bar.evaluate("b => b.position") == 1
    model_row = page.locator(f"[data-testid=registry-tiny-{tag}-Q4_K_M]")
    model_row.wait_for()
    shot(page, "models-pulled")

    # Pin it (never evicted).
    model_row.get_by_role("switch", name="Pinned").click()
    page.wait_for_function(
        "id => document.querySelector(`[data-testid=registry-${id}] [role=switch]`).checked",
        arg=f"tiny-{tag}-Q4_K_M",
    )
    assert registry(gateway)[f"tiny-{tag}-Q4_K_M"]["pinned"] is True

    # A slow pull, cancelled.
    page.get_by_label("Source").fill(f"hf://org/slow-{tag}-GGUF")
    page.get_by_role("button", name="Pull", exact=True).click()
    slow = page.locator(f"[data-testid=download-slow-{tag}]")
    slow.get_by_text("running", exact=True).wait_for()
    slow.get_by_role("button", name=f"Cancel download of slow-{tag}").click()
    slow.get_by_text("cancelled", exact=True).wait_for()

    # Storage: used against the limit; a cleanup preview.
    assert "used" in page.get_by_test_id("storage-summary").inner_text()
    page.get_by_role("button", name="Preview cleanup").click()
    page.get_by_text("Nothing to clean up").wait_for()
    shot(page, "models-storage")

    # Delete the pulled model.
    page.once("dialog", lambda d: d.accept())
    model_row.get_by_role("button", name=f"Delete local/tiny-{tag}-Q4_K_M").click()
    model_row.wait_for(state="detached")
    assert f"tiny-{tag}-Q4_K_M" not in registry(gateway)
    assert page.console_errors == []


def test_load_and_unload_a_local_model(
    page: Any, gateway: ServerProcess, tiny_gguf: Path | None
) -> None:
    if tiny_gguf is None:
        pytest.skip("the `local` extra (llama-cpp-python) is not installed")
    sign_in(page, gateway.url)
    open_section(page, "Models")
    item = page.locator("[data-testid=registry-tiny]")
    item.get_by_role("button", name="Load local/tiny").click()
    item.get_by_test_id("loaded-info").wait_for(timeout=60_000)
    assert "Loaded on cpu" in item.get_by_test_id("loaded-info").inner_text()
    loaded = httpx.get(f"{gateway.url}/v1/registry/loaded", headers=HEADERS).json()["data"]
    assert [m["id"] for m in loaded] == ["local/tiny"]
    shot(page, "models-loaded")
    item.get_by_role("button", name="Unload local/tiny").click()
    item.get_by_test_id("loaded-info").wait_for(state="detached")
    assert httpx.get(f"{gateway.url}/v1/registry/loaded", headers=HEADERS).json()["data"] == []
    assert page.console_errors == []


def test_a_plain_user_is_not_offered_the_models_screen(page: Any, gateway: ServerProcess) -> None:
    name = f"plain-{page.viewport_name}-{time.monotonic_ns()}"
    created = httpx.post(f"{gateway.url}/v1/admin/users", headers=HEADERS, json={"name": name})
    sign_in(page, gateway.url, created.json()["api_key"])
    if page.viewport_name == "phone":
        page.get_by_role("button", name="Menu").click()
    sections = page.get_by_role("navigation", name="Sections")
    sections.get_by_role("link", name="Images").wait_for()
    assert sections.get_by_role("link", name="Models").count() == 0
    page.goto(gateway.url + "/#/models")
    page.get_by_text("Only admins manage models.").wait_for()
