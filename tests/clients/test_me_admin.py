"""Identity, the caller's provider keys, and the admin API (users and their keys)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from plugai_client import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    PlugAI,
)

from tests.clients.conftest import Gateway


def test_me_and_provider_keys(client: PlugAI) -> None:
    me = client.me()
    assert me.role == "admin"
    assert me.key_id
    stored = client.me.keys.put("openai", "sk-my-own-key-1234")
    assert stored.provider == "openai" and stored.last4 == "1234"
    assert [k.provider for k in client.me.keys.list()] == ["openai"]
    assert client.me.keys.delete("openai").deleted
    assert client.me.keys.list() == []
    with pytest.raises(NotFoundError) as err:
        client.me.keys.put("nowhere", "sk-0123456789")
    assert err.value.param == "provider"


def test_admin_users_and_keys(client: PlugAI, gateway: Gateway) -> None:
    created = client.admin.users.create("alice")
    assert created.role == "user" and created.api_key.startswith("sk-plugai-")
    assert created.key.user_id == created.id
    assert "alice" in [u.name for u in client.admin.users.list()]
    assert client.admin.users.get(created.id).name == "alice"
    assert client.admin.users.find("alice").id == created.id
    assert client.admin.users.find(created.id).name == "alice"
    with pytest.raises(NotFoundError):
        client.admin.users.find("nobody")
    with pytest.raises(ConflictError):
        client.admin.users.create("alice")

    expires = datetime.now(UTC) + timedelta(days=1)
    issued = client.admin.keys.create(created.id, name="ci", expires_at=expires)
    assert issued.name == "ci" and issued.expires_at is not None
    with pytest.raises(ValueError, match="time zone"):
        client.admin.keys.create(created.id, expires_at=datetime.now())
    assert {k.name for k in client.admin.keys.list(created.id)} == {"default", "ci"}

    with gateway.client(issued.api_key) as alice:
        assert alice.me().name == "alice"
        with pytest.raises(PermissionDeniedError) as denied:
            alice.admin.users.list()
        assert denied.value.status == 403
        assert denied.value.type == "permission_error"
    revoked = client.admin.keys.revoke(created.id, issued.id)
    assert revoked.revoked_at is not None
    with gateway.client(issued.api_key) as alice, pytest.raises(AuthenticationError):
        alice.me()

    disabled = client.admin.users.disable(created.id)
    assert disabled.disabled
    with gateway.client(created.api_key) as alice, pytest.raises(AuthenticationError):
        alice.me()


async def test_admin_async(gateway: Gateway) -> None:
    async with gateway.aclient() as client:
        assert (await client.me()).role == "admin"
        created = await client.admin.users.create("bob", role="admin")
        assert created.role == "admin"
        assert (await client.admin.users.get(created.id)).name == "bob"
        assert (await client.admin.users.find("bob")).id == created.id
        assert "bob" in [u.name for u in await client.admin.users.list()]
        key = await client.admin.keys.create(created.id, name="second")
        assert len(await client.admin.keys.list(created.id)) == 2
        assert (await client.admin.keys.revoke(created.id, key.id)).revoked_at is not None
        assert (await client.admin.users.disable(created.id)).disabled
        await client.me.keys.put("openai", "sk-async-key-9876")
        assert [k.last4 for k in await client.me.keys.list()] == ["9876"]
        assert (await client.me.keys.delete("openai")).id == "openai"
