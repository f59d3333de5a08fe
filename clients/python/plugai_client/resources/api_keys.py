"""``client.admin.keys`` (admin key): a user's PlugAI API keys.

issued = client.admin.keys.create(user_id, name="ci")
client.admin.keys.revoke(user_id, issued.id)
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from plugai_client.resources._base import AsyncResource, SyncResource, segment
from plugai_client.types.users import ApiKey, ApiKeyIssued, ApiKeyList


def _root(user_id: str) -> str:
    return f"/v1/admin/users/{segment(user_id)}/keys"


def _body(name: str, expires_at: datetime | None) -> dict[str, Any]:
    if expires_at is not None and expires_at.tzinfo is None:
        raise ValueError("expires_at must carry a time zone (e.g. datetime.now(UTC))")
    return {"name": name, "expires_at": expires_at.isoformat() if expires_at else None}


class ApiKeys(SyncResource):
    def create(
        self, user_id: str, *, name: str = "default", expires_at: datetime | None = None
    ) -> ApiKeyIssued:
        """A new key for the user; ``.api_key`` (the secret) is shown only here."""
        body = _body(name, expires_at)
        return ApiKeyIssued.model_validate(self._t.json("POST", _root(user_id), body=body))

    def list(self, user_id: str) -> builtins.list[ApiKey]:
        return ApiKeyList.model_validate(self._t.json("GET", _root(user_id))).data

    def revoke(self, user_id: str, key_id: str) -> ApiKey:
        """Revoke it (servers stop accepting it within seconds)."""
        path = f"{_root(user_id)}/{segment(key_id)}"
        return ApiKey.model_validate(self._t.json("DELETE", path))


class AsyncApiKeys(AsyncResource):
    async def create(
        self, user_id: str, *, name: str = "default", expires_at: datetime | None = None
    ) -> ApiKeyIssued:
        body = _body(name, expires_at)
        return ApiKeyIssued.model_validate(await self._t.json("POST", _root(user_id), body=body))

    async def list(self, user_id: str) -> builtins.list[ApiKey]:
        return ApiKeyList.model_validate(await self._t.json("GET", _root(user_id))).data

    async def revoke(self, user_id: str, key_id: str) -> ApiKey:
        path = f"{_root(user_id)}/{segment(key_id)}"
        return ApiKey.model_validate(await self._t.json("DELETE", path))
