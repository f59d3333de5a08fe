"""The caller's own provider keys (``/v1/me/keys``): never returned, only the last 4."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from plugai_client.types._base import Model


class ProviderKey(Model):
    object: Literal["provider_key"] = "provider_key"
    provider: str
    last4: str
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None = None


class ProviderKeyList(Model):
    object: Literal["list"] = "list"
    data: list[ProviderKey]
