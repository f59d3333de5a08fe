"""Local models of the server's runner (``/v1/registry/…``)."""

from __future__ import annotations

from datetime import datetime

from plugai_client.types._base import Model


class LoadedModel(Model):
    """A loaded local model (like ``ollama ps``): process, memory, device, expiry."""

    id: str
    engine: str
    pid: int | None
    device: str | None
    memory_bytes: int | None
    loaded_at: datetime
    expires_at: datetime | None
    busy: int
    context_length: int | None


class LoadedList(Model):
    object: str = "list"
    data: list[LoadedModel]


class UnloadResult(Model):
    id: str
    unloaded: bool
