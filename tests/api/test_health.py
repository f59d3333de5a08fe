"""Health, readiness, metrics and CORS."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from plugai.api.app import create_app
from plugai.db.database import Database
from plugai.settings import Settings


async def test_healthz_and_readyz_need_no_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["database"] == "ok"


async def test_readyz_503_when_database_is_gone(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    async with app.router.lifespan_context(app):
        real = app.state.db
        app.state.db = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")  # closed port
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                r = await c.get("/readyz")
        finally:
            await app.state.db.dispose()
            app.state.db = real
    assert r.status_code == 503 and r.json()["status"] == "not_ready"


async def test_metrics_count_requests(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await client.get("/v1/me", headers=admin_headers)
    await client.get("/v1/me")
    text = (await client.get("/metrics")).text
    assert 'plugai_http_requests_total{method="GET",route="/v1/me",status="200"} 1.0' in text
    assert 'plugai_http_requests_total{method="GET",route="unmatched",status="401"} 1.0' in text
    assert "plugai_http_request_duration_seconds_bucket" in text
    assert "plugai_http_in_flight" in text


async def test_cors_allows_configured_origin(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(server={"cors_origins": ["https://app.example"]}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as c:
            pre = await c.options(
                "/v1/chat/completions",
                headers={
                    "Origin": "https://app.example",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization,content-type",
                },
            )
            assert pre.status_code == 200
            assert pre.headers["access-control-allow-origin"] == "https://app.example"
            other = await c.get("/healthz", headers={"Origin": "https://evil.example"})
            assert "access-control-allow-origin" not in other.headers
