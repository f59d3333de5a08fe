"""Serves the built web app (``web/dist``) at ``/`` beside the API.

The app is the router's fallback, so it only sees GET/HEAD requests that no API route
matched: ``/v1/*``, ``/healthz``, ``/metrics``, ``/docs`` and ``/openapi.json`` keep their
own answers, and a wrong method on an API path is still a 405.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

REPO_WEB_DIST = Path(__file__).resolve().parents[3] / "web" / "dist"


def web_root(configured: Path | None) -> Path | None:
    """``server.web_dir``, else the repo's ``web/dist``; None unless it has an index.html."""
    root = configured or REPO_WEB_DIST
    return root if (root / "index.html").is_file() else None


def mount_web_app(app: FastAPI, root: Path) -> None:
    static = StaticFiles(directory=root, html=True)
    not_found = app.router.default

    async def web_or_not_found(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            await static(scope, receive, send)
        else:
            await not_found(scope, receive, send)

    app.router.default = web_or_not_found
