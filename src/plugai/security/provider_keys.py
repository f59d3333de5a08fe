"""Each user's own provider keys and hub tokens, encrypted at rest with the vault.

Reads on the request path come from a short-lived in-memory cache, and "last used" times
are written in batches, so a request that uses its caller's key does no database write.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update

from plugai.core.errors import InvalidRequest, NotFound
from plugai.db.database import Database
from plugai.db.tables import UserProviderKey, utcnow
from plugai.security.principal import Principal
from plugai.security.tokens import new_id
from plugai.security.vault import SecretVault


@dataclass(frozen=True, slots=True)
class KeyInfo:
    provider: str
    last4: str
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None


class ProviderKeyStore:
    def __init__(self, db: Database, vault: SecretVault, *, cache_ttl: float = 5.0) -> None:
        self.db = db
        self.vault = vault
        self.cache_ttl = cache_ttl
        self._cache: dict[tuple[str, str], tuple[float, str | None]] = {}
        self._used: dict[tuple[str, str], datetime] = {}
        self._task: asyncio.Task[None] | None = None

    async def put(self, user_id: str, provider: str, api_key: str) -> KeyInfo:
        api_key = api_key.strip()
        if len(api_key) < 8:
            raise InvalidRequest("That does not look like an API key.", param="api_key")
        blob = self.vault.encrypt(api_key, owner=user_id, name=provider)
        now = utcnow()
        async with self.db.session() as s:
            row = await s.scalar(
                select(UserProviderKey).where(
                    UserProviderKey.user_id == user_id, UserProviderKey.provider == provider
                )
            )
            if row is None:
                row = UserProviderKey(
                    id=new_id("upk"), user_id=user_id, provider=provider, created_at=now
                )
                s.add(row)
            row.ciphertext, row.last4, row.updated_at = blob, api_key[-4:], now
            await s.commit()
            info = _info(row)
        self._cache.pop((user_id, provider), None)
        return info

    async def list(self, user_id: str) -> list[KeyInfo]:
        async with self.db.session() as s:
            rows = await s.scalars(
                select(UserProviderKey)
                .where(UserProviderKey.user_id == user_id)
                .order_by(UserProviderKey.provider)
            )
            return [_info(r) for r in rows]

    async def delete(self, user_id: str, provider: str) -> None:
        async with self.db.session() as s:
            result = await s.execute(
                delete(UserProviderKey).where(
                    UserProviderKey.user_id == user_id, UserProviderKey.provider == provider
                )
            )
            await s.commit()
        self._cache.pop((user_id, provider), None)
        if not getattr(result, "rowcount", 0):
            raise NotFound(f"You have no key stored for {provider!r}.", param="provider")

    async def lookup(self, principal: Principal, provider: str) -> str | None:
        """The caller's own key for ``provider`` (decrypted), or None."""
        slot = (principal.user_id, provider)
        cached = self._cache.get(slot)
        if cached is not None and time.monotonic() - cached[0] < self.cache_ttl:
            key = cached[1]
        else:
            async with self.db.session() as s:
                blob = await s.scalar(
                    select(UserProviderKey.ciphertext).where(
                        UserProviderKey.user_id == principal.user_id,
                        UserProviderKey.provider == provider,
                    )
                )
            key = self.vault.decrypt(blob, owner=principal.user_id, name=provider) if blob else None
            self._cache[slot] = (time.monotonic(), key)
        if key is not None:
            self._used[slot] = utcnow()
        return key

    async def flush_last_used(self) -> None:
        used, self._used = self._used, {}
        if not used:
            return
        async with self.db.session() as s:
            for (user_id, provider), when in used.items():
                await s.execute(
                    update(UserProviderKey)
                    .where(UserProviderKey.user_id == user_id, UserProviderKey.provider == provider)
                    .values(last_used_at=when)
                )
            await s.commit()

    async def _run(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(Exception):
                await self.flush_last_used()

    def start(self, interval: float = 5.0) -> None:
        self._task = asyncio.create_task(self._run(interval), name="provider-key-usage")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.flush_last_used()


def _info(row: UserProviderKey) -> KeyInfo:
    return KeyInfo(row.provider, row.last4, row.created_at, row.updated_at, row.last_used_at)
