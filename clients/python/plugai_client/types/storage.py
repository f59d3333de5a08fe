"""The server's storage budget (``/v1/storage``)."""

from __future__ import annotations

from plugai_client.types._base import Model


class StorageUsage(Model):
    """Bytes: the limit (``None``: none), use by kind, reserved by running downloads,
    what is left under the limit, the disk, and what the eviction policy may free."""

    object: str = "storage"
    limit: int | None
    used: dict[str, int]
    reserved: int
    free: int | None
    disk_free: int
    disk_total: int
    min_free_disk: int
    eviction: str
    evictable: list[str]
    evictable_bytes: int


class CleanupResult(Model):
    object: str = "storage.cleanup"
    dry_run: bool
    evicted: list[str]
    removed_records: list[str]
    freed: int
    expired_artifacts: int = 0
