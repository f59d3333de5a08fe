"""The admin API: users and their API keys."""

from __future__ import annotations

import httpx

from tests.conftest import assert_envelope


async def test_create_list_get_user(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    r = await client.post(
        "/v1/admin/users", json={"name": "ann", "role": "admin"}, headers=admin_headers
    )
    assert r.status_code == 201
    body = r.json()
    assert body["object"] == "user" and body["role"] == "admin"
    assert body["api_key"].startswith("sk-plugai-")
    assert body["key"]["prefix"] == body["api_key"][: len(body["key"]["prefix"])]
    listed = (await client.get("/v1/admin/users", headers=admin_headers)).json()
    assert listed["object"] == "list"
    assert {u["name"] for u in listed["data"]} == {"admin", "ann"}
    assert all("api_key" not in u for u in listed["data"])
    one = (await client.get(f"/v1/admin/users/{body['id']}", headers=admin_headers)).json()
    assert one["name"] == "ann"


async def test_duplicate_user_is_409(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await client.post("/v1/admin/users", json={"name": "zed"}, headers=admin_headers)
    r = await client.post("/v1/admin/users", json={"name": "zed"}, headers=admin_headers)
    assert assert_envelope(r, 409, param="name")["type"] == "conflict_error"


async def test_keys_create_list_revoke(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = (
        await client.post("/v1/admin/users", json={"name": "kim"}, headers=admin_headers)
    ).json()
    r = await client.post(
        f"/v1/admin/users/{user['id']}/keys", json={"name": "laptop"}, headers=admin_headers
    )
    assert r.status_code == 201
    new = r.json()
    assert new["name"] == "laptop" and new["api_key"].startswith(new["prefix"])
    keys = (await client.get(f"/v1/admin/users/{user['id']}/keys", headers=admin_headers)).json()[
        "data"
    ]
    assert [k["name"] for k in keys] == ["default", "laptop"]
    assert all("api_key" not in k and "hash" not in k for k in keys)
    headers = {"Authorization": f"Bearer {new['api_key']}"}
    assert (await client.get("/v1/me", headers=headers)).json()["key_id"] == new["id"]
    await client.delete(f"/v1/admin/users/{user['id']}/keys/{new['id']}", headers=admin_headers)
    assert_envelope(await client.get("/v1/me", headers=headers), 401)
    # the user's other key still works
    other = {"Authorization": f"Bearer {user['api_key']}"}
    assert (await client.get("/v1/me", headers=other)).status_code == 200


async def test_unknown_objects_are_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    assert_envelope(await client.get("/v1/admin/users/usr_nope", headers=admin_headers), 404)
    assert_envelope(
        await client.post("/v1/admin/users/usr_nope/keys", json={}, headers=admin_headers), 404
    )
    user = (
        await client.post("/v1/admin/users", json={"name": "lou"}, headers=admin_headers)
    ).json()
    assert_envelope(
        await client.delete(f"/v1/admin/users/{user['id']}/keys/key_nope", headers=admin_headers),
        404,
        param="key_id",
    )


async def test_bad_admin_input_is_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    assert_envelope(
        await client.post("/v1/admin/users", json={}, headers=admin_headers), 400, param="name"
    )
    assert_envelope(
        await client.post(
            "/v1/admin/users", json={"name": "x", "role": "root"}, headers=admin_headers
        ),
        400,
        param="role",
    )
    assert_envelope(
        await client.post("/v1/admin/users", json={"name": "x", "extra": 1}, headers=admin_headers),
        400,
        param="extra",
    )
    user = (
        await client.post("/v1/admin/users", json={"name": "max"}, headers=admin_headers)
    ).json()
    past = {"expires_at": "2001-01-01T00:00:00Z"}
    assert_envelope(
        await client.post(f"/v1/admin/users/{user['id']}/keys", json=past, headers=admin_headers),
        400,
        param="expires_at",
    )
    naive = {"expires_at": "2091-01-01T00:00:00"}
    assert_envelope(
        await client.post(f"/v1/admin/users/{user['id']}/keys", json=naive, headers=admin_headers),
        400,
        param="expires_at",
    )
