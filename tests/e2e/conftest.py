"""End-to-end fixtures: a real ``plugai serve`` (serving the built web app) in front of a
FakeOpenAI, driven through Debian's Chromium with Python Playwright (no browser download).

Skipped, with the reason, when Chromium, Node or the playwright package is missing."""

from __future__ import annotations

import functools
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

from tests.fakes import FakeOpenAI
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


@pytest.fixture(scope="module")
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


@pytest.fixture(scope="module")
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


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, fake: FakeOpenAI, web_dist: Path, elsewhere: Site
) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("e2e")
    config = base / "plugai.yaml"
    config.write_text(
        f"server: {{cors_origins: ['{elsewhere.url}']}}\n"
        "providers:\n"
        f"  - {{name: fakeai, type: openai, base_url: '{fake.url}', api_key: sk-fake-operator}}\n"
    )
    env = {"PLUGAI_ADMIN_KEY": ADMIN_KEY, "PLUGAI_SERVER__WEB_DIR": str(web_dist)}
    with run_server(base / "data", "--config", str(config), env=env) as server:
        (elsewhere.root / "config.json").write_text(json.dumps({"apiBaseUrl": server.url}))
        yield server


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request: pytest.FixtureRequest, browser: Any, gateway: ServerProcess) -> Iterator[Any]:
    """A fresh browser context (empty localStorage) at phone or desktop size."""
    context = browser.new_context(viewport=VIEWPORTS[request.param], service_workers="block")
    context.set_default_timeout(15_000)
    pg = context.new_page()
    pg.viewport_name = request.param
    yield pg
    context.close()


def shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}-{page.viewport_name}.png"
    page.screenshot(path=str(path))
    return path
