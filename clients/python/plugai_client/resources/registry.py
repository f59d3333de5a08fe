"""``client.registry``: the server's local models — what is installed, downloads, pin,
remove, scan (changes need an admin key), and the loaded ones (load, unload, loaded).

    job = client.registry.pull(
        "hf://org/tiny-GGUF", files=["*Q4_K_M.gguf"],
        on_progress=lambda e: print(e.state, e.bytes_done, e.bytes_total, e.eta_seconds),
    )
    print(job.model)  # served as local/<job.model>
    for m in client.registry.models():
        print(m.id, m.format, m.total_size, m.state, m.pinned)
    client.registry.update("tiny-Q4_K_M", pinned=True)
    client.registry.remove("local/tiny-Q4_K_M")

    client.registry.load("local/tiny", keep_alive="10m")
    for m in client.registry.loaded():
        print(m.id, m.device, m.memory_bytes)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plugai_client._transport import AsyncTransport, SyncTransport
from plugai_client.resources._base import AsyncResource, SyncResource, segment
from plugai_client.resources.downloads import AsyncDownloads, Downloads, OnProgress
from plugai_client.types.registry import (
    DownloadJob,
    LoadedList,
    LoadedModel,
    RegistryModel,
    RegistryModelList,
    RemoveResult,
    ScanResult,
    UnloadResult,
)

ROOT = "/v1/registry"
KeepAlive = float | str | None


def _model(model_id: str, action: str | None = None) -> str:
    path = f"{ROOT}/models/{segment(model_id, slashes=True)}"
    return f"{path}/{action}" if action else path


def _load_body(keep_alive: KeepAlive) -> dict[str, Any] | None:
    return {"keep_alive": keep_alive} if keep_alive is not None else None


class Registry(SyncResource):
    def __init__(self, transport: SyncTransport) -> None:
        super().__init__(transport)
        self.downloads = Downloads(transport)

    def models(self) -> list[RegistryModel]:
        """The registry's models (downloaded and discovered)."""
        return RegistryModelList.model_validate(self._t.json("GET", f"{ROOT}/models")).data

    def get(self, model_id: str) -> RegistryModel:
        """One model, by registry id (``local/`` in front is accepted)."""
        return RegistryModel.model_validate(self._t.json("GET", _model(model_id)))

    def update(self, model_id: str, *, pinned: bool) -> RegistryModel:
        """Pin (never evicted) or unpin a model."""
        body = {"pinned": pinned}
        return RegistryModel.model_validate(self._t.json("PATCH", _model(model_id), body=body))

    def remove(self, model_id: str) -> RemoveResult:
        """Delete a downloaded model's files (a discovered model is only unregistered)."""
        return RemoveResult.model_validate(self._t.json("DELETE", _model(model_id)))

    def scan(self) -> ScanResult:
        """Find models in the server's model folders and Hugging Face cache."""
        return ScanResult.model_validate(self._t.json("POST", f"{ROOT}/scan"))

    def pull(
        self,
        source: str,
        sha256: str | None = None,
        files: Sequence[str] | None = None,
        revision: str | None = None,
        name: str | None = None,
        *,
        on_progress: OnProgress | None = None,
    ) -> DownloadJob:
        """Download ``source`` (``hf://org/repo`` or an http(s) URL of a .gguf file) and
        follow it to the end, calling ``on_progress`` with each progress event. Returns the
        finished job (``job.model`` is the registry id); raises
        :class:`~plugai_client.DownloadError` if it fails or is cancelled. Interrupting
        leaves the job running on the server: pulling the same source again follows it."""
        job = self.downloads.create(
            source, sha256=sha256, files=files, revision=revision, name=name
        )
        return self.downloads.wait(job.id, on_progress=on_progress)

    def loaded(self) -> list[LoadedModel]:
        """Loaded local models: memory, device, and when each unloads."""
        return LoadedList.model_validate(self._t.json("GET", f"{ROOT}/loaded")).data

    def load(self, model_id: str, *, keep_alive: KeepAlive = None) -> LoadedModel:
        """Load ``local/<name>`` now; ``keep_alive``: seconds or ``"5m"``, ``-1`` = pinned."""
        body = _load_body(keep_alive)
        return LoadedModel.model_validate(self._t.json("POST", _model(model_id, "load"), body=body))

    def unload(self, model_id: str) -> UnloadResult:
        """Unload it now (``unloaded`` is false when it was not loaded)."""
        return UnloadResult.model_validate(self._t.json("POST", _model(model_id, "unload")))


class AsyncRegistry(AsyncResource):
    def __init__(self, transport: AsyncTransport) -> None:
        super().__init__(transport)
        self.downloads = AsyncDownloads(transport)

    async def models(self) -> list[RegistryModel]:
        return RegistryModelList.model_validate(await self._t.json("GET", f"{ROOT}/models")).data

    async def get(self, model_id: str) -> RegistryModel:
        return RegistryModel.model_validate(await self._t.json("GET", _model(model_id)))

    async def update(self, model_id: str, *, pinned: bool) -> RegistryModel:
        body = {"pinned": pinned}
        return RegistryModel.model_validate(
            await self._t.json("PATCH", _model(model_id), body=body)
        )

    async def remove(self, model_id: str) -> RemoveResult:
        return RemoveResult.model_validate(await self._t.json("DELETE", _model(model_id)))

    async def scan(self) -> ScanResult:
        return ScanResult.model_validate(await self._t.json("POST", f"{ROOT}/scan"))

    async def pull(
        self,
        source: str,
        sha256: str | None = None,
        files: Sequence[str] | None = None,
        revision: str | None = None,
        name: str | None = None,
        *,
        on_progress: OnProgress | None = None,
    ) -> DownloadJob:
        """The async :meth:`Registry.pull`; ``on_progress`` may be a coroutine function."""
        job = await self.downloads.create(
            source, sha256=sha256, files=files, revision=revision, name=name
        )
        return await self.downloads.wait(job.id, on_progress=on_progress)

    async def loaded(self) -> list[LoadedModel]:
        return LoadedList.model_validate(await self._t.json("GET", f"{ROOT}/loaded")).data

    async def load(self, model_id: str, *, keep_alive: KeepAlive = None) -> LoadedModel:
        body = _load_body(keep_alive)
        return LoadedModel.model_validate(
            await self._t.json("POST", _model(model_id, "load"), body=body)
        )

    async def unload(self, model_id: str) -> UnloadResult:
        return UnloadResult.model_validate(await self._t.json("POST", _model(model_id, "unload")))
