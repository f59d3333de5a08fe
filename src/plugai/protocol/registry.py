"""Wire models of the registry (``/v1/registry/…``) and storage (``/v1/storage``) APIs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class RegistryModelPublic(BaseModel):
    id: str = Field(description="Registry id; served as local/<id>.")
    object: Literal["registry.model"] = "registry.model"
    model: str = Field(description="The id to use in /v1/chat/completions.")
    display_name: str
    modality: str = Field(description="text or image")
    format: str = Field(description="gguf, safetensors or diffusers")
    source: str | None
    files: list[dict[str, Any]] = Field(description="path, size and sha256 of each file.")
    total_size: int = Field(description="Bytes of its files (while downloading: announced).")
    state: str = Field(
        description="downloading, ready, failed or missing; only ready models are served"
    )
    pinned: bool
    discovered: bool = Field(description="Found in place: PlugAI never deletes its files.")
    path: str
    metadata: dict[str, Any]
    error: str | None
    last_used_at: datetime | None
    created_at: datetime
    download: DownloadJobPublic | None = Field(
        None, description="While downloading, or failed: its download job, with progress."
    )


class RegistryModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[RegistryModelPublic]


class ModelPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pinned: bool = Field(description="Pinned models are never evicted.")


class DeleteResult(BaseModel):
    id: str
    deleted: bool = True
    files_deleted: bool = Field(description="False for discovered models: only unregistered.")


class ScanResultPublic(BaseModel):
    object: Literal["registry.scan"] = "registry.scan"
    added: list[str]
    updated: list[str]
    missing: list[str]


class DownloadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(description="hf://org/repo or an http(s) URL of a .gguf file.")
    sha256: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$")
    files: list[str] | None = Field(
        None, description="Glob patterns (hf:// only), e.g. *Q4_K_M.gguf"
    )
    revision: str | None = Field(None, max_length=200)
    name: str | None = Field(None, max_length=200, description="Registry id (default: derived).")


class DownloadFilePublic(BaseModel):
    path: str
    size: int | None = Field(description="Bytes the source announced (null: unknown).")
    bytes_done: int
    state: str = Field(description="queued, downloading, done or failed")


class DownloadJobPublic(BaseModel):
    id: str
    object: Literal["registry.download"] = "registry.download"
    source: str
    revision: str | None
    files: list[str]
    name: str
    state: str = Field(description="queued, running, done, failed or cancelled")
    bytes_done: int
    bytes_total: int | None
    rate: float | None = Field(None, description="Bytes per second, recent.")
    eta_seconds: float | None = None
    attempts: int
    error: str | None
    model: str | None = Field(description="Registry id once done.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    file_progress: list[DownloadFilePublic] = Field(
        default_factory=list,
        description="Each file of the job (fetched one after the other): size, bytes done "
        "and state.",
    )


class DownloadJobList(BaseModel):
    object: Literal["list"] = "list"
    data: list[DownloadJobPublic]


class StorageUsagePublic(BaseModel):
    object: Literal["storage"] = "storage"
    limit: int | None
    used: dict[str, int] = Field(description="Bytes by kind: models, artifacts.")
    reserved: int = Field(description="Announced bytes of downloads in progress.")
    free: int | None = Field(description="Bytes left under the limit (null without a limit).")
    disk_free: int
    disk_total: int
    min_free_disk: int
    eviction: str
    evictable: list[str]
    evictable_bytes: int


class CleanupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dry_run: bool = False


class CleanupResult(BaseModel):
    object: Literal["storage.cleanup"] = "storage.cleanup"
    dry_run: bool
    evicted: list[str]
    removed_records: list[str]
    freed: int
    expired_artifacts: int = Field(0, description="Artifacts past their retention, deleted.")


RegistryModelPublic.model_rebuild()
