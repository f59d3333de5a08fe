"""Local models of the server's runner (``/v1/registry/…``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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


class RegistryModel(Model):
    """A model in the server's registry (downloaded or discovered); served as ``model``."""

    id: str
    object: str = "registry.model"
    model: str
    display_name: str
    modality: str
    format: str
    source: str | None
    files: list[dict[str, Any]]
    total_size: int  # while downloading: the announced size
    state: str  # downloading, ready, failed or missing; only ready ones are served
    pinned: bool
    discovered: bool  # found in place: the server never deletes its files
    path: str
    metadata: dict[str, Any]
    error: str | None
    last_used_at: datetime | None
    created_at: datetime
    download: DownloadJob | None = None  # while downloading, or failed: its job and progress


class RegistryModelList(Model):
    object: str = "list"
    data: list[RegistryModel]


class RemoveResult(Model):
    """``files_deleted`` is false for a discovered model: it was only unregistered."""

    id: str
    deleted: bool = True
    files_deleted: bool


class ScanResult(Model):
    object: str = "registry.scan"
    added: list[str]
    updated: list[str]
    missing: list[str]


TERMINAL_STATES = frozenset({"done", "failed", "cancelled"})


class DownloadFile(Model):
    """One file of a download job: ``state`` is queued, downloading, done or failed."""

    path: str
    size: int | None  # announced by the source (None: unknown)
    bytes_done: int
    state: str


class DownloadJob(Model):
    """A download job, and each progress event of its stream: bytes done of the total,
    the recent ``rate`` (bytes/s) and ``eta_seconds`` while it runs."""

    id: str
    object: str = "registry.download"
    source: str
    revision: str | None
    files: list[str]
    name: str
    state: str  # queued, running, done, failed or cancelled
    bytes_done: int
    bytes_total: int | None
    rate: float | None = None
    eta_seconds: float | None = None
    attempts: int
    error: str | None
    model: str | None  # the registry id once done
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    file_progress: list[DownloadFile] = []  # each file, fetched one after the other

    @property
    def finished(self) -> bool:
        """Done, failed or cancelled."""
        return self.state in TERMINAL_STATES

    @property
    def fraction(self) -> float | None:
        """Bytes done over the total (``None`` while the total is unknown)."""
        return self.bytes_done / self.bytes_total if self.bytes_total else None


class DownloadJobList(Model):
    object: str = "list"
    data: list[DownloadJob]


RegistryModel.model_rebuild()
