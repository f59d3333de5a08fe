"""Storage API: where the bytes go (limit, used by kind, reserved, disk) and cleanup
(which also expires the artifacts past their retention)."""

from __future__ import annotations

from fastapi import APIRouter

from plugai.api.deps import AdminUser, CurrentUser
from plugai.api.routes.registry import Registry
from plugai.protocol.registry import CleanupRequest, CleanupResult, StorageUsagePublic

router = APIRouter(prefix="/v1/storage", tags=["storage"])


@router.get("", summary="Storage limit, use and free space")
async def storage_usage(_user: CurrentUser, registry: Registry) -> StorageUsagePublic:
    storage = registry.storage
    usage = await storage.usage()
    free = None
    if usage.limit is not None:
        free = max(0, usage.limit - usage.used_models - usage.used_artifacts - usage.reserved)
    return StorageUsagePublic(
        limit=usage.limit,
        used={"models": usage.used_models, "artifacts": usage.used_artifacts},
        reserved=usage.reserved,
        free=free,
        disk_free=usage.disk_free,
        disk_total=usage.disk_total,
        min_free_disk=usage.min_free_disk,
        eviction=storage.settings.eviction,
        evictable=usage.evictable,
        evictable_bytes=usage.evictable_bytes,
    )


@router.post("/cleanup", summary="Free what the eviction policy allows (dry_run to preview)")
async def storage_cleanup(
    _admin: AdminUser, registry: Registry, body: CleanupRequest | None = None
) -> CleanupResult:
    dry_run = body.dry_run if body else False
    result = await registry.storage.cleanup(dry_run)
    return CleanupResult(
        dry_run=dry_run,
        evicted=result.evicted,
        removed_records=result.removed_records,
        freed=result.freed,
        expired_artifacts=result.expired_artifacts,
    )
