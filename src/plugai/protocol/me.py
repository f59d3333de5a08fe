"""The caller's own provider keys (write-only: never returned, only their last 4 chars)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class ProviderKeyPut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api_key: SecretStr = Field(min_length=8, max_length=4096, description="The key or token.")


class ProviderKeyPublic(BaseModel):
    object: Literal["provider_key"] = "provider_key"
    provider: str
    last4: str = Field(description="The last 4 characters, to recognise the key.")
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None = None


class ProviderKeyList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ProviderKeyPublic]


class Deleted(BaseModel):
    id: str
    object: str
    deleted: Literal[True] = True
