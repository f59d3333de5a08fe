"""``client.storage``: the server's storage budget and cleanup (cleanup needs an admin key).

usage = client.storage.get()
print(usage.limit, usage.used["models"], usage.free, usage.evictable_bytes)
print(client.storage.cleanup(dry_run=True).evicted)  # what cleanup would remove
"""

from __future__ import annotations

from plugai_client.resources._base import AsyncResource, SyncResource
from plugai_client.types.storage import CleanupResult, StorageUsage

ROOT = "/v1/storage"


class Storage(SyncResource):
    def get(self) -> StorageUsage:
        """Limit, bytes used by kind, reserved by downloads, free, disk, evictable."""
        return StorageUsage.model_validate(self._t.json("GET", ROOT))

    def cleanup(self, *, dry_run: bool = False) -> CleanupResult:
        """Free what the eviction policy allows (``dry_run``: only say what)."""
        body = {"dry_run": dry_run}
        return CleanupResult.model_validate(self._t.json("POST", f"{ROOT}/cleanup", body=body))


class AsyncStorage(AsyncResource):
    async def get(self) -> StorageUsage:
        return StorageUsage.model_validate(await self._t.json("GET", ROOT))

    async def cleanup(self, *, dry_run: bool = False) -> CleanupResult:
        body = {"dry_run": dry_run}
        return CleanupResult.model_validate(
            await self._t.json("POST", f"{ROOT}/cleanup", body=body)
        )
