"""The built web app is served at / beside the API, never in its place."""

from __future__ import annotations

from pathlib import Path

import httpx

from plugai.api.app import create_app
from plugai.api.webapp import REPO_WEB_DIST, web_root
from plugai.settings import Settings


def client_for(tmp_path: Path, web_dir: Path) -> httpx.AsyncClient:
    settings = Settings(data_dir=tmp_path / "data", server={"web_dir": web_dir})  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=create_app(settings))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_serves_the_app_after_the_api(tmp_path: Path) -> None:
    web = tmp_path / "dist"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html><div id=root></div>")
    (web / "assets" / "app.js").write_text("console.log(1)")
    async with client_for(tmp_path, web) as client:
        assert (await client.get("/")).text.startswith("<!doctype html>")
        assert (await client.get("/assets/app.js")).text == "console.log(1)"
        assert (await client.get("/openapi.json")).json()["info"]["title"] == "PlugAI"
        missing = await client.post("/nothing-here")
        assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"
        assert (await client.get("/missing.js")).status_code == 404


async def test_no_app_without_an_index(tmp_path: Path) -> None:
    assert web_root(tmp_path) is None
    async with client_for(tmp_path, tmp_path) as client:
        assert (await client.get("/")).status_code == 404


def test_default_is_the_repos_web_dist() -> None:
    assert Path(__file__).resolve().parents[2] / "web" / "dist" == REPO_WEB_DIST
    built = (REPO_WEB_DIST / "index.html").is_file()
    assert web_root(None) == (REPO_WEB_DIST if built else None)
