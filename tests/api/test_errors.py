"""Bad input gets a clear 4xx in the OpenAI envelope; the process stays unharmed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
from fastapi import FastAPI

from plugai.api.app import create_app
from plugai.settings import Settings
from tests.conftest import assert_envelope

JSON = {"content-type": "application/json"}


async def test_malformed_json(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    r = await client.post("/v1/admin/users", content=b'{"name": ', headers=admin_headers | JSON)
    assert assert_envelope(r, 400)["code"] == "invalid_json"


async def test_wrong_content_type(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    headers = admin_headers | {"content-type": "text/plain"}
    r = await client.post("/v1/admin/users", content=b'{"name": "a"}', headers=headers)
    assert_envelope(r, 415)


async def test_missing_content_type_is_read_as_json(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    r = await client.post("/v1/admin/users", content=b'{"name": "nct"}', headers=admin_headers)
    assert r.status_code == 201


async def test_invalid_utf8(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    r = await client.post(
        "/v1/admin/users", content=b'{"name": "\xff\xfe"}', headers=admin_headers | JSON
    )
    assert_envelope(r, 400)


async def test_deeply_nested_body(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    body = b'{"name": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    r = await client.post("/v1/admin/users", content=body, headers=admin_headers | JSON)
    assert_envelope(r, 400)
    assert (await client.get("/healthz")).status_code == 200


async def test_body_over_limit_by_content_length(
    make_settings: Callable[..., Settings], admin_headers: dict[str, str]
) -> None:
    app = create_app(make_settings(server={"max_body_size": "1KB"}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as c:
            r = await c.post("/v1/admin/users", json={"name": "x" * 2000}, headers=admin_headers)
            assert assert_envelope(r, 413)["code"] == "payload_too_large"
            # small bodies still pass
            r = await c.post("/v1/admin/users", json={"name": "small"}, headers=admin_headers)
            assert r.status_code == 201


async def test_body_over_limit_when_streamed_without_length(
    make_settings: Callable[..., Settings], admin_headers: dict[str, str]
) -> None:
    app = create_app(make_settings(server={"max_body_size": "1KB"}))

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(10):
            yield b"y" * 500
        yield b'"}'

    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as c:
            r = await c.post("/v1/admin/users", content=chunks(), headers=admin_headers | JSON)
            assert_envelope(r, 413)
            users = (await c.get("/v1/admin/users", headers=admin_headers)).json()["data"]
            assert [u["name"] for u in users] == ["admin"]  # nothing half-created


async def test_unknown_route_and_method(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    assert_envelope(await client.get("/nowhere"), 404)
    assert_envelope(await client.get("/v1/nowhere", headers=admin_headers), 404)
    assert_envelope(await client.put("/v1/me", headers=admin_headers), 405)


async def test_internal_error_is_500_with_request_id_and_no_traceback(
    settings: Settings, admin_headers: dict[str, str]
) -> None:
    app: FastAPI = create_app(settings)

    async def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/v1/boom", boom)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.get("/v1/boom", headers=admin_headers | {"X-Request-ID": "req-42"})
    err = assert_envelope(r, 500)
    assert "req-42" in err["message"]
    assert "secret internals" not in r.text and "Traceback" not in r.text
    assert r.headers["x-request-id"] == "req-42"


async def test_request_id_echoed_or_generated(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    generated = (await client.get("/healthz")).headers["x-request-id"]
    assert len(generated) == 32
    bad = (await client.get("/healthz", headers={"X-Request-ID": "a b\tc" * 40})).headers
    assert bad["x-request-id"] != "a b\tc" * 40
