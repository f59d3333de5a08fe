"""Per-user provider keys: write-only, encrypted, used before the operator's, isolated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select

from plugai.db.tables import UserProviderKey
from tests.fakes.base import Error
from tests.fakes.openai_fake import FakeOpenAI

MSG = [{"role": "user", "content": "hi"}]
USER_KEY = "sk-users-own-key-1234WXYZ"


async def _user(h: Any, name: str) -> dict[str, str]:
    created = (await h.http.post("/v1/admin/users", json={"name": name})).json()
    return {"Authorization": f"Bearer {created['api_key']}"}


def _providers(fake: FakeOpenAI, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"name": "openai", "type": "openai", "base_url": fake.url, "api_key": "sk-operator-key"},
        {"name": "byok", "type": "openai", "base_url": fake.url, "byok": "required", **extra},
    ]


async def test_keys_are_write_only_encrypted_and_masked(plugai: Callable[..., Any]) -> None:
    with FakeOpenAI() as fake:
        async with plugai(providers=_providers(fake)) as h:
            alice = await _user(h, "alice")
            put = await h.http.put("/v1/me/keys/openai", json={"api_key": USER_KEY}, headers=alice)
            listed = await h.http.get("/v1/me/keys", headers=alice)
            hub = await h.http.put(
                "/v1/me/keys/huggingface", json={"api_key": "hf_abcdefgh1234"}, headers=alice
            )
            unknown = await h.http.put(
                "/v1/me/keys/nope", json={"api_key": USER_KEY}, headers=alice
            )
            short = await h.http.put("/v1/me/keys/openai", json={"api_key": "x"}, headers=alice)
            async with h.app.state.db.session() as s:
                rows = (await s.scalars(select(UserProviderKey))).all()
    assert put.status_code == 200
    assert put.json()["last4"] == "WXYZ"
    assert USER_KEY not in put.text
    assert USER_KEY not in listed.text
    assert [k["provider"] for k in listed.json()["data"]] == ["openai"]
    assert hub.status_code == 200
    assert unknown.status_code == 404
    assert short.status_code == 400
    assert short.json()["error"]["param"] == "api_key"
    assert len(rows) == 2
    assert all(USER_KEY.encode() not in r.ciphertext for r in rows)


async def test_own_key_is_used_before_the_operators(plugai: Callable[..., Any]) -> None:
    with FakeOpenAI() as fake:
        async with plugai(providers=_providers(fake)) as h:
            alice, bob = await _user(h, "alice"), await _user(h, "bob")
            await h.http.put("/v1/me/keys/openai", json={"api_key": USER_KEY}, headers=alice)
            body = {"model": "openai/gpt-4o-mini", "messages": MSG}
            assert (
                await h.http.post("/v1/chat/completions", json=body, headers=alice)
            ).status_code == 200
            used_by_alice = fake.requests[-1].headers["Authorization"]
            assert (
                await h.http.post("/v1/chat/completions", json=body, headers=bob)
            ).status_code == 200
            used_by_bob = fake.requests[-1].headers["Authorization"]
            await h.app.state.provider_keys.flush_last_used()
            listed = (await h.http.get("/v1/me/keys", headers=alice)).json()["data"]
    assert used_by_alice == f"Bearer {USER_KEY}"
    assert used_by_bob == "Bearer sk-operator-key"
    assert listed[0]["last_used_at"] is not None


async def test_byok_required_is_403_naming_the_key(plugai: Callable[..., Any]) -> None:
    with FakeOpenAI() as fake:
        async with plugai(providers=_providers(fake)) as h:
            alice = await _user(h, "alice")
            body = {"model": "byok/gpt-4o-mini", "messages": MSG}
            refused = await h.http.post("/v1/chat/completions", json=body, headers=alice)
            await h.http.put("/v1/me/keys/byok", json={"api_key": USER_KEY}, headers=alice)
            allowed = await h.http.post("/v1/chat/completions", json=body, headers=alice)
    assert refused.status_code == 403
    assert "/v1/me/keys" in refused.json()["error"]["message"]
    assert "byok" in refused.json()["error"]["message"]
    assert allowed.status_code == 200


async def test_refused_user_key_says_it_was_the_users(plugai: Callable[..., Any]) -> None:
    with FakeOpenAI() as fake:
        async with plugai(providers=_providers(fake)) as h:
            alice = await _user(h, "alice")
            await h.http.put("/v1/me/keys/openai", json={"api_key": USER_KEY}, headers=alice)
            fake.enqueue(Error(status=401))
            r = await h.http.post(
                "/v1/chat/completions",
                json={"model": "openai/gpt-4o-mini", "messages": MSG},
                headers=alice,
            )
            fake.enqueue(Error(status=401))
            operator = await h.http.post(
                "/v1/chat/completions", json={"model": "openai/gpt-4o-mini", "messages": MSG}
            )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "user_key_rejected"
    assert "your own API key" in r.json()["error"]["message"]
    assert operator.status_code == 502
    assert "your own" not in operator.json()["error"]["message"]


async def test_keys_are_isolated_between_users(plugai: Callable[..., Any]) -> None:
    with FakeOpenAI() as fake:
        async with plugai(providers=_providers(fake)) as h:
            alice, bob = await _user(h, "alice"), await _user(h, "bob")
            await h.http.put("/v1/me/keys/openai", json={"api_key": USER_KEY}, headers=alice)
            bob_list = await h.http.get("/v1/me/keys", headers=bob)
            bob_delete = await h.http.delete("/v1/me/keys/openai", headers=bob)
            alice_list = await h.http.get("/v1/me/keys", headers=alice)
            alice_delete = await h.http.delete("/v1/me/keys/openai", headers=alice)
            again = await h.http.delete("/v1/me/keys/openai", headers=alice)
    assert bob_list.json()["data"] == []
    assert bob_delete.status_code == 404
    assert len(alice_list.json()["data"]) == 1
    assert alice_delete.status_code == 200
    assert again.status_code == 404


async def test_no_key_route_without_auth(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/me/keys")).status_code == 401
