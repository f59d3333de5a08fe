"""Admin API of the local runner: load, unload and the loaded list (like ``ollama ps``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from plugai.api.deps import AdminUser
from plugai.core.errors import InvalidRequest, ModelNotFound
from plugai.local.manager import LoadedModel, ModelManager
from plugai.local.options import keep_alive_seconds
from plugai.protocol.local import LoadedList, LoadedModelPublic, LoadRequest, UnloadResult

router = APIRouter(prefix="/v1/registry", tags=["local models"])
PREFIX = "local/"


async def _manager(request: Request) -> ModelManager:
    manager: ModelManager | None = getattr(request.app.state, "local", None)
    if manager is None:
        raise ModelNotFound("No local models are configured (local.model_dirs).", param="model")
    return manager


LocalModels = Annotated[ModelManager, Depends(_manager)]


def _name(model_id: str) -> str:
    return model_id.removeprefix(PREFIX)


def _time(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC) if ts is not None else None


def public(row: LoadedModel) -> LoadedModelPublic:
    return LoadedModelPublic(
        id=PREFIX + row.model,
        engine=row.engine,
        pid=row.pid,
        device=row.device,
        memory_bytes=row.memory_bytes,
        loaded_at=datetime.fromtimestamp(row.loaded_at, UTC),
        expires_at=_time(row.expires_at),
        busy=row.busy,
        context_length=row.context_length,
    )


@router.post("/models/{model_id:path}/load", summary="Load a local model now")
async def load_model(
    model_id: str, _admin: AdminUser, models: LocalModels, body: LoadRequest | None = None
) -> LoadedModelPublic:
    try:
        keep_alive = keep_alive_seconds(body.keep_alive if body else None)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"Invalid value for 'keep_alive': {exc}", param="keep_alive") from exc
    return public(await models.load(_name(model_id), keep_alive))


@router.post("/models/{model_id:path}/unload", summary="Unload a local model now")
async def unload_model(model_id: str, _admin: AdminUser, models: LocalModels) -> UnloadResult:
    unloaded = await models.unload(_name(model_id))
    return UnloadResult(id=PREFIX + _name(model_id), unloaded=unloaded)


@router.get("/loaded", summary="Loaded local models: memory, device, expiry")
async def loaded_models(_admin: AdminUser, models: LocalModels) -> LoadedList:
    return LoadedList(data=[public(row) for row in models.loaded()])
