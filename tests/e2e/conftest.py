"""End-to-end fixtures: a real ``plugai serve`` (serving the built web app) in front of a
FakeOpenAI, driven through Debian's Chromium with Python Playwright (no browser download).

Skipped, with the reason, when Chromium, Node or the playwright package is missing."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.catalog.servers import FakeHub, running
from tests.fakes import FakeOpenAI
from tests.fakes.stability import FakeStability
from tests.server import ServerProcess, free_port, run_server

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
SHOTS = ROOT / "test-output" / "e2e"
ADMIN_KEY = "sk-plugai-e2e-admin-key-0123456789abcdef"
CHROMIUM = os.environ.get("PLUGAI_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """The built app; built here when missing (scripts/test.sh builds it first)."""
    dist = WEB / "dist"
    if not (dist / "index.html").is_file():
        if not shutil.which("npm"):
            pytest.skip("node/npm is missing: cannot build the web app (web/dist)")
        if not (WEB / "node_modules").is_dir():
            subprocess.run(["npm", "ci"], cwd=WEB, check=True)
        subprocess.run(["npm", "run", "build"], cwd=WEB, check=True)
    return dist


@pytest.fixture(scope="module")  # Playwright's sync API holds an event loop: release it
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium is missing ({CHROMIUM}): apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(chunk_delay=0.05) as f:
        yield f


@dataclass
class Site:
    url: str
    root: Path


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def elsewhere(tmp_path_factory: pytest.TempPathFactory, web_dist: Path) -> Iterator[Site]:
    """web/dist hosted on another origin; its config.json is written once the gateway runs."""
    root = tmp_path_factory.mktemp("elsewhere") / "site"
    shutil.copytree(web_dist, root)
    handler = functools.partial(_Quiet, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield Site(f"http://127.0.0.1:{httpd.server_port}", root)
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def stability() -> Iterator[FakeStability]:
    """Stability's API (images, and image-to-3D: Stable Fast 3D)."""
    with FakeStability() as f:
        yield f


@pytest.fixture(scope="session")
def hub() -> Iterator[FakeHub]:
    """A fake Hugging Face Hub for pulls from the Models screen."""
    with running(FakeHub()) as server:
        yield server


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """A real (tiny) GGUF chat model when the `local` extra is installed, else None."""
    if not all(importlib.util.find_spec(m) for m in ("llama_cpp", "transformers", "gguf")):
        return None
    from tests.local.tiny_models import build_hf, write_gguf

    base = tmp_path_factory.mktemp("tiny-gguf")
    return write_gguf(build_hf(base / "hf"), base / "tiny.gguf")


@pytest.fixture(scope="session")
def gateway(
    tmp_path_factory: pytest.TempPathFactory,
    fake: FakeOpenAI,
    stability: FakeStability,
    hub: FakeHub,
    tiny_gguf: Path | None,
    web_dist: Path,
    elsewhere: Site,
) -> Iterator[ServerProcess]:
    """One gateway for every end-to-end test (started once: the machine is small), with
    the fake OpenAI and Stability, the fake Hub for pulls and a model folder holding the
    tiny GGUF."""
    base = tmp_path_factory.mktemp("e2e")
    models = base / "models"
    models.mkdir()
    if tiny_gguf is not None:
        (models / "tiny.gguf").symlink_to(tiny_gguf)
    config = base / "plugai.yaml"
    config.write_text(
        f"server: {{cors_origins: ['{elsewhere.url}']}}\n"
        f"local: {{model_dirs: ['{models}'], scan_hf_cache: false}}\n"
        "providers:\n"
        f"  - {{name: fakeai, type: openai, base_url: '{fake.url}', api_key: sk-fake-operator}}\n"
        f"  - {{name: stab, type: stability, base_url: '{stability.url}', api_key: sk-fake-stab}}\n"
    )
    env = {
        "PLUGAI_ADMIN_KEY": ADMIN_KEY,
        "PLUGAI_SERVER__WEB_DIR": str(web_dist),
        "PLUGAI_STORAGE__MIN_FREE_DISK": "0",
        "HF_ENDPOINT": hub.url,
        "HF_HUB_CACHE": str(base / "empty-hf-cache"),
    }
    with run_server(base / "data", "--config", str(config), env=env) as server:
        (elsewhere.root / "config.json").write_text(json.dumps({"apiBaseUrl": server.url}))
        yield server


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request: pytest.FixtureRequest, browser: Any, gateway: ServerProcess) -> Iterator[Any]:
    """A fresh browser context (empty localStorage) at phone or desktop size."""
    context = browser.new_context(viewport=VIEWPORTS[request.param], service_workers="block")
    context.set_default_timeout(15_000)
    pg = context.new_page()
    pg.viewport_name = request.param
    pg.console_errors = []  # console errors and uncaught exceptions, for tests to check
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    pg.on("pageerror", lambda e: pg.console_errors.append(f"uncaught: {e}"))
    yield pg
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:  # what the page showed when the test failed
        shot(pg, f"FAILED-{request.node.originalname}")
    context.close()
    uncaught = [e for e in pg.console_errors if e.startswith("uncaught: ")]
    assert not uncaught, uncaught


def shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}-{page.viewport_name}.png"
    page.screenshot(path=str(path))
    return path
