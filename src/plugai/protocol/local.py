"""Wire models of the local runner's admin API (``/v1/registry/…``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class LoadedModelPublic(BaseModel):
    id: str = Field(description="local/<name>")
    engine: str
    pid: int | None
    device: str | None = Field(description="cuda, mps or cpu")
    memory_bytes: int | None = Field(description="Resident memory of the worker process.")
    loaded_at: datetime
    expires_at: datetime | None = Field(description="Spindown time; null while pinned or busy.")
    busy: int = Field(description="Requests running or waiting.")
    context_length: int | None


class LoadedList(BaseModel):
    object: str = "list"
    data: list[LoadedModelPublic]


class LoadRequest(BaseModel):
    keep_alive: float | str | None = Field(
        None, description="Seconds or 30s/5m/1h; -1 keeps it loaded (server maximum applies)."
    )


class UnloadResult(BaseModel):
    id: str
    unloaded: bool = Field(description="False when the model was not loaded.")
