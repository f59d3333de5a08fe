"""``client.registry`` (admin key): the server's local models — load, unload, loaded.

    client.registry.load("local/tiny", keep_alive="10m")
    for m in client.registry.loaded():
        print(m.id, m.device, m.memory_bytes)

Downloads (pull, list, remove, scan) come with the server's registry endpoints.
"""

from __future__ import annotations

from typing import Any

from plugai_client.resources._base import AsyncResource, SyncResource, segment
from plugai_client.types.registry import LoadedList, LoadedModel, UnloadResult

ROOT = "/v1/registry"
KeepAlive = float | str | None


def _model(model_id: str, action: str) -> str:
    return f"{ROOT}/models/{segment(model_id, slashes=True)}/{action}"


def _load_body(keep_alive: KeepAlive) -> dict[str, Any] | None:
    return {"keep_alive": keep_alive} if keep_alive is not None else None


class Registry(SyncResource):
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
    async def loaded(self) -> list[LoadedModel]:
        return LoadedList.model_validate(await self._t.json("GET", f"{ROOT}/loaded")).data

    async def load(self, model_id: str, *, keep_alive: KeepAlive = None) -> LoadedModel:
        body = _load_body(keep_alive)
        return LoadedModel.model_validate(
            await self._t.json("POST", _model(model_id, "load"), body=body)
        )

    async def unload(self, model_id: str) -> UnloadResult:
        return UnloadResult.model_validate(await self._t.json("POST", _model(model_id, "unload")))
