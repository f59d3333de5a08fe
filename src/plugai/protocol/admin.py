"""PlugAI's admin API: users and their API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserCreate(_Strict):
    name: str = Field(min_length=1, max_length=200, description="Unique user name.")
    role: Literal["admin", "user"] = "user"


class UserPublic(BaseModel):
    object: Literal["user"] = "user"
    id: str
    name: str
    role: Literal["admin", "user"]
    created_at: datetime
    disabled: bool = False


class ApiKeyCreate(_Strict):
    name: str = Field("default", min_length=1, max_length=200)
    expires_at: AwareDatetime | None = Field(None, description="When the key stops working.")


class ApiKeyPublic(BaseModel):
    object: Literal["api_key"] = "api_key"
    id: str
    user_id: str
    name: str
    prefix: str = Field(description="The first characters of the key, to recognise it.")
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class ApiKeyIssued(ApiKeyPublic):
    api_key: str = Field(description="The key itself. Shown only in this response.")


class UserCreated(UserPublic):
    api_key: str = Field(description="The user's first API key. Shown only in this response.")
    key: ApiKeyPublic


T = TypeVar("T")


class ListOf(BaseModel, Generic[T]):
    object: Literal["list"] = "list"
    data: list[T]


class Me(BaseModel):
    object: Literal["user"] = "user"
    id: str
    name: str
    role: Literal["admin", "user"]
    key_id: str
