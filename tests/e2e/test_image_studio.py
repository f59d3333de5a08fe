"""The image studio in Chromium: only image models, the parameter form from the model's
schema (checked before sending), generation with progress and cancel, the gallery and
downloads."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import ADMIN_KEY, shot
from tests.e2e.test_web_app import open_section, sign_in
from tests.fakes import FakeOpenAI, Reply
from tests.server import ServerProcess

HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}


def image_requests(fake: FakeOpenAI) -> list[Any]:
    return [r for r in fake.requests if r.path.endswith("/images/generations")]


def test_generate_images_with_parameters_and_download(
    page: Any, gateway: ServerProcess, fake: FakeOpenAI
) -> None:
    tag = page.viewport_name
    sign_in(page, gateway.url)
    open_section(page, "Images")
    page.get_by_role("heading", name="Image studio").wait_for()
    select = page.get_by_label("Model", exact=True)
    options = set(select.locator("option").all_inner_texts())
    cards = httpx.get(f"{gateway.url}/v1/models", headers=HEADERS).json()["data"]
    assert options == {m["id"] for m in cards if m["capabilities"]["images"]}  # image models only
    assert {"fakeai/dall-e-3", "fakeai/gpt-image-1"} <= options
    select.select_option("fakeai/gpt-image-1")
    page.get_by_label("Prompt").fill(f"a lighthouse at dusk {tag}")
    page.get_by_label("Number of images").select_option("2")
    page.locator("summary", has_text="Parameters").click()
    size = page.get_by_label("Size", exact=True)
    size.fill("big")
    assert "not in the expected format" in page.locator("#param-size-err").inner_text()
    page.get_by_role("button", name="Generate").click()
    assert "Fix the parameters first" in page.get_by_role("alert").last.inner_text()
    size.fill("512x512")
    page.get_by_label("Style").select_option("natural")
    shot(page, "images-form")

    items = page.get_by_test_id("gallery-item")
    before = items.count()
    page.get_by_role("button", name="Generate").click()
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=gallery-item]').length >= n", arg=before + 2
    )
    body = image_requests(fake)[-1].body
    assert body["prompt"] == f"a lighthouse at dusk {tag}"
    assert body["n"] == 2 and body["size"] == "512x512" and body["style"] == "natural"
    first = items.first.get_by_role("img")
    assert first.evaluate("i => i.decode().then(() => i.naturalWidth)") > 0  # a real picture
    shot(page, "images-gallery")

    with page.expect_download() as info:
        items.first.get_by_role("button", name="Download").click()
    assert info.value.suggested_filename.endswith(".png")

    stored = httpx.get(f"{gateway.url}/v1/artifacts?kind=image", headers=HEADERS)
    if stored.status_code == 200 and stored.json()["data"]:
        page.reload()  # kept on the gateway: the gallery comes back
        page.wait_for_function(
            "n => document.querySelectorAll('[data-testid=gallery-item]').length >= n", arg=2
        )
    assert page.console_errors == []


def test_a_slow_generation_shows_progress_and_can_be_cancelled(
    page: Any, gateway: ServerProcess, fake: FakeOpenAI
) -> None:
    sign_in(page, gateway.url)
    open_section(page, "Images")
    page.get_by_label("Prompt").fill("slow one")
    items = page.get_by_test_id("gallery-item")
    page.wait_for_load_state("networkidle")
    before = items.count()
    fake.enqueue(Reply(delay=4, endpoint="/images/generations"))
    page.get_by_role("button", name="Generate").click()
    bar = page.get_by_role("progressbar", name="Image generation progress")
    bar.wait_for()
    shot(page, "images-progress")
    page.get_by_role("button", name="Cancel").click()
    bar.wait_for(state="detached")
    page.get_by_role("button", name="Generate").wait_for()
    assert page.get_by_role("alert").count() == 0
    assert items.count() == before
    fake.wait_until(lambda: not fake.pending, timeout=10)  # the fake used its slow reply
