"""``RegistryService``: the registry, its scanner, the download runner and the storage
manager put together once per app (built in the lifespan, reached through a dependency).
"""

from __future__ import annotations

import asyncio
import time

import structlog

from plugai.catalog import scanner
from plugai.catalog.downloader import DownloadRunner
from plugai.catalog.metrics import RegistryMetrics
from plugai.catalog.registry import DOWNLOADING, FAILED, ModelRegistry, ScanResult
from plugai.catalog.serving import is_loaded, publish, withdraw
from plugai.core.errors import Conflict
from plugai.db.database import Database
from plugai.local.manager import ModelManager
from plugai.security.principal import Principal, Role
from plugai.security.provider_keys import ProviderKeyStore
from plugai.settings import Settings
from plugai.storage.manager import StorageManager

log = structlog.get_logger("plugai.catalog")
TOUCH_EVERY = 60.0  # seconds: a model's last use is written at most this often


class RegistryService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        provider_keys: ProviderKeyStore | None = None,
        manager: ModelManager | None = None,
        metrics: RegistryMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics or RegistryMetrics()
        self.manager = manager
        self._touched: dict[str, float] = {}  # model id → monotonic time of the last write
        self._touching: set[asyncio.Task[None]] = set()
        if manager is not None:
            manager.on_used = self.used
        self.provider_keys = provider_keys
        self.models_dir = settings.data_dir / "models"
        self.registry = ModelRegistry(db)
        self.storage = StorageManager(
            db,
            settings.storage,
            self.models_dir,
            is_loaded=lambda model_id: is_loaded(self.manager, model_id),
            on_removed=lambda model_id: withdraw(self.manager, model_id),
            metrics=self.metrics,
        )
        self.downloads = DownloadRunner(
            db,
            self.registry,
            self.storage,
            settings.local,
            self.hf_token,
            on_ready=lambda model: publish(self.manager, [model], settings.local),
            metrics=self.metrics,
        )

    def used(self, model_id: str) -> None:
        """A local model served a request: record it (off the request path, at most once a
        minute per model) so that storage eviction picks the least recently used."""
        now = time.monotonic()
        if now - self._touched.get(model_id, -TOUCH_EVERY) < TOUCH_EVERY:
            return
        self._touched[model_id] = now
        task = asyncio.create_task(self._touch(model_id))
        self._touching.add(task)
        task.add_done_callback(self._touching.discard)

    async def _touch(self, model_id: str) -> None:
        try:
            await self.registry.touch(model_id)
        except Exception:
            log.exception("registry_touch_failed", model=model_id)

    async def hf_token(self, user_id: str | None) -> str | None:
        """The job owner's stored ``huggingface`` key, else the operator's token
        (``local.hf_token``, else ``HF_TOKEN`` / the token saved by ``hf auth login``)."""
        if user_id and self.provider_keys is not None:
            owner = Principal(user_id=user_id, name="", role=Role.USER, key_id="")
            token = await self.provider_keys.lookup(owner, "huggingface")
            if token:
                return token
        operator = self.settings.local.hf_token
        if operator:
            return operator.get_secret_value()
        from huggingface_hub import get_token

        return get_token()

    async def start(self) -> None:
        """Scan, publish what is ready, and start the downloads (a scan failure is logged:
        the models already registered still serve)."""
        try:
            await self.scan()
        except Exception:
            log.exception("registry_scan_failed")
        publish(self.manager, await self.registry.all(), self.settings.local)
        self.downloads.start()

    async def stop(self) -> None:
        await self.downloads.stop()
        if self._touching:
            await asyncio.gather(*self._touching, return_exceptions=True)

    async def scan(self) -> ScanResult:
        local = self.settings.local
        cache = scanner.hf_cache_dir() if local.scan_hf_cache else None
        found = await asyncio.to_thread(scanner.scan, local.model_dirs, cache)
        result = await self.registry.sync_discovered(found)
        for model_id in result.missing:
            withdraw(self.manager, model_id)
        publish(self.manager, await self.registry.all(), local)
        if result.added or result.missing:
            log.info("registry_scanned", added=result.added, missing=result.missing)
        return result

    async def delete(self, model_id: str) -> bool:
        """Unregister a model; a downloaded one's files go too (a downloading one's download
        is cancelled, its partial files deleted). True when files were deleted."""
        row = await self.registry.get(model_id)
        if row.state == DOWNLOADING:
            job = await self.downloads.active_of(model_id)
            if job is not None:
                await self.downloads.cancel(job.id)
            await self.registry.remove(model_id, state=DOWNLOADING)
            return job is not None
        if row.state == FAILED and not row.discovered:  # its partial files are gone already
            await self.registry.remove(model_id, state=FAILED)
            return False
        if is_loaded(self.manager, model_id):
            raise Conflict(f"{model_id} is loaded; unload it first.", param="model")
        if row.discovered:
            await self.registry.remove(model_id)
            withdraw(self.manager, model_id)
            return False
        async with self.storage.lock:
            await self.storage.evict(row)
        return True
