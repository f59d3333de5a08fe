"""Every /v1 route needs a key; admin routes need an admin; revoked keys stop working."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event

from plugai.api.app import create_app
from plugai.settings import Settings
from tests.conftest import assert_envelope


async def test_missing_key_is_401_envelope(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/me")
    err = assert_envelope(r, 401)
    assert err["type"] == "authentication_error"
    assert err["code"] == "missing_api_key"
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_bad_key_is_401(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/me", headers={"Authorization": "Bearer sk-plugai-nope"})
    assert assert_envelope(r, 401)["code"] == "invalid_api_key"
    r = await client.get("/v1/me", headers={"Authorization": "Basic abc"})
    assert_envelope(r, 401)


async def test_unknown_v1_route_without_key_is_401_not_404(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.get("/v1/does-not-exist"), 401)


async def test_x_api_key_header_is_accepted(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    key = admin_headers["Authorization"].removeprefix("Bearer ")
    r = await client.get("/v1/me", headers={"x-api-key": key})
    assert r.status_code == 200
    assert r.json()["role"] == "admin"


async def test_user_on_admin_route_is_403(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    r = await client.post("/v1/admin/users", json={"name": "alice"}, headers=admin_headers)
    assert r.status_code == 201
    user_key = r.json()["api_key"]
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {user_key}"})
    assert me.json()["name"] == "alice" and me.json()["role"] == "user"
    r = await client.get("/v1/admin/users", headers={"Authorization": f"Bearer {user_key}"})
    assert assert_envelope(r, 403)["type"] == "permission_error"


async def test_revoked_key_is_401_at_once(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = (
        await client.post("/v1/admin/users", json={"name": "bob"}, headers=admin_headers)
    ).json()
    headers = {"Authorization": f"Bearer {created['api_key']}"}
    assert (await client.get("/v1/me", headers=headers)).status_code == 200
    r = await client.delete(
        f"/v1/admin/users/{created['id']}/keys/{created['key']['id']}", headers=admin_headers
    )
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert assert_envelope(await client.get("/v1/me", headers=headers), 401)["message"].endswith(
        "revoked."
    )


async def test_key_revoked_by_another_process_stops_within_ttl(
    make_settings: Callable[..., Settings], admin_headers: dict[str, str]
) -> None:
    """Two apps share one database (two workers); a revocation in one reaches the other."""
    settings = make_settings(server={"key_cache_ttl": 0.3})
    a, b = create_app(settings), create_app(settings)
    async with a.router.lifespan_context(a), b.router.lifespan_context(b):
        ca = httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://a")
        cb = httpx.AsyncClient(transport=httpx.ASGITransport(app=b), base_url="http://b")
        async with ca, cb:
            created = (
                await ca.post("/v1/admin/users", json={"name": "carol"}, headers=admin_headers)
            ).json()
            headers = {"Authorization": f"Bearer {created['api_key']}"}
            assert (await cb.get("/v1/me", headers=headers)).status_code == 200  # cached in b
            await ca.delete(
                f"/v1/admin/users/{created['id']}/keys/{created['key']['id']}",
                headers=admin_headers,
            )
            await asyncio.sleep(0.4)
            assert_envelope(await cb.get("/v1/me", headers=headers), 401)


async def test_warm_key_check_does_no_database_round_trip(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert (await client.get("/v1/me", headers=admin_headers)).status_code == 200
        cold = len(statements)
        for _ in range(5):
            assert (await client.get("/v1/me", headers=admin_headers)).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert cold >= 1
    assert len(statements) == cold


async def test_expired_key_is_401(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    from datetime import UTC, datetime, timedelta

    created = (
        await client.post("/v1/admin/users", json={"name": "dave"}, headers=admin_headers)
    ).json()
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    r = await client.post(
        f"/v1/admin/users/{created['id']}/keys",
        json={"name": "short", "expires_at": soon},
        headers=admin_headers,
    )
    assert r.status_code == 201
    headers = {"Authorization": f"Bearer {r.json()['api_key']}"}
    assert (await client.get("/v1/me", headers=headers)).status_code == 200
    await asyncio.sleep(1.1)
    assert assert_envelope(await client.get("/v1/me", headers=headers), 401)["message"].endswith(
        "expired."
    )


async def test_disabled_user_keys_stop(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = (
        await client.post("/v1/admin/users", json={"name": "erin"}, headers=admin_headers)
    ).json()
    headers = {"Authorization": f"Bearer {created['api_key']}"}
    assert (await client.get("/v1/me", headers=headers)).status_code == 200
    r = await client.delete(f"/v1/admin/users/{created['id']}", headers=admin_headers)
    assert r.json()["disabled"] is True
    assert_envelope(await client.get("/v1/me", headers=headers), 401)
