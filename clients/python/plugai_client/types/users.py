"""Users and their PlugAI API keys (``/v1/me``, ``/v1/admin/users``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from plugai_client.types._base import Model


class Me(Model):
    object: Literal["user"] = "user"
    id: str
    name: str
    role: Literal["admin", "user"]
    key_id: str


class User(Model):
    object: Literal["user"] = "user"
    id: str
    name: str
    role: Literal["admin", "user"]
    created_at: datetime
    disabled: bool = False


class ApiKey(Model):
    object: Literal["api_key"] = "api_key"
    id: str
    user_id: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class ApiKeyIssued(ApiKey):
    """A new key; ``api_key`` (the secret) is shown only in this response."""

    api_key: str


class UserCreated(User):
    """A new user with its first API key (``api_key`` is shown only in this response)."""

    api_key: str
    key: ApiKey


class UserList(Model):
    object: Literal["list"] = "list"
    data: list[User]


class ApiKeyList(Model):
    object: Literal["list"] = "list"
    data: list[ApiKey]
