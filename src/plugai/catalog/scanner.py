"""Finding models already on disk, so that nobody downloads a second copy.

Layouts: a ``.gguf`` file (a split ``name-00001-of-00003.gguf`` set is one model), a
transformers folder (``config.json`` + ``*.safetensors``), a diffusers folder
(``model_index.json``), in the configured folders and in the Hugging Face cache
(``models--org--name/snapshots/<rev>/…``). Scanning is blocking file-system work: callers
run it in a thread.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from plugai.catalog.metadata import (
    diffusers_metadata,
    diffusers_modality,
    gguf_metadata,
    transformers_metadata,
)

log = structlog.get_logger("plugai.catalog")
SPLIT = re.compile(r"^(?P<base>.+)-(?P<part>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Found:
    """One model on disk, as the registry will record it."""

    id: str
    format: str  # gguf | safetensors | diffusers
    modality: str  # text | image | 3d
    path: Path  # the file (first split part) or the folder
    files: list[dict[str, Any]] = field(default_factory=list)  # {"path", "size", "sha256"}
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def total_size(self) -> int:
        return sum(int(f["size"]) for f in self.files)


def _file_entry(path: Path, root: Path) -> dict[str, Any]:
    return {"path": str(path.relative_to(root)), "size": path.stat().st_size, "sha256": None}


def _folder_files(folder: Path) -> list[dict[str, Any]]:
    return [
        _file_entry(p, folder)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]


def gguf_models(files: Iterable[Path]) -> Iterator[Found]:
    """GGUF files in one folder; split sets become one model, incomplete sets are skipped."""
    splits: dict[str, list[Path]] = {}
    for path in sorted(files):
        match = SPLIT.match(path.name)
        if match:
            splits.setdefault(match["base"], []).append(path)
            continue
        yield Found(
            id=path.stem,
            format="gguf",
            modality="text",
            path=path,
            files=[_file_entry(path, path.parent)],
            meta=gguf_metadata([path]),
        )
    for base, parts in splits.items():
        count = int(SPLIT.match(parts[0].name)["count"])  # type: ignore[index]
        if len(parts) != count:
            log.warning("gguf_split_incomplete", model=base, found=len(parts), expected=count)
            continue
        yield Found(
            id=base,
            format="gguf",
            modality="text",
            path=parts[0],
            files=[_file_entry(p, p.parent) for p in parts],
            meta=gguf_metadata(parts) | {"split": count},
        )


def folder_model(folder: Path, name: str) -> Found | None:
    """A transformers or diffusers folder, or None."""
    if (folder / "model_index.json").is_file():
        meta = diffusers_metadata(folder)
        return Found(
            id=name,
            format="diffusers",
            modality=diffusers_modality(meta),
            path=folder,
            files=_folder_files(folder),
            meta=meta,
        )
    if (folder / "config.json").is_file() and any(folder.glob("*.safetensors")):
        return Found(
            id=name,
            format="safetensors",
            modality="text",
            path=folder,
            files=_folder_files(folder),
            meta=transformers_metadata(folder),
        )
    return None


def scan_folder(folder: Path) -> Iterator[Found]:
    """A configured model folder: GGUF files at its top, and model folders one level down."""
    if not folder.is_dir():
        log.warning("model_dir_missing", path=str(folder))
        return
    entries = sorted(folder.iterdir())
    yield from gguf_models(e for e in entries if e.is_file() and e.suffix.lower() == ".gguf")
    for entry in entries:
        if entry.is_dir() and not entry.name.startswith("."):
            found = folder_model(entry, entry.name)
            if found is not None:
                yield found


def _snapshot(repo: Path) -> Path | None:
    """The snapshot ``refs/main`` points at, else the newest one."""
    snapshots = repo / "snapshots"
    ref = repo / "refs" / "main"
    if ref.is_file():
        candidate = snapshots / ref.read_text().strip()
        if candidate.is_dir():
            return candidate
    dirs = [d for d in snapshots.iterdir() if d.is_dir()] if snapshots.is_dir() else []
    return max(dirs, key=lambda d: d.stat().st_mtime) if dirs else None


def scan_hf_cache(cache: Path) -> Iterator[Found]:
    """``models--org--name`` repos of a Hugging Face cache (files are symlinks into blobs)."""
    if not cache.is_dir():
        return
    for repo in sorted(cache.glob("models--*")):
        snapshot = _snapshot(repo)
        if snapshot is None:
            continue
        name = repo.name.removeprefix("models--").split("--")[-1]
        found = folder_model(snapshot, name)
        if found is not None:
            yield found
            continue
        yield from gguf_models(p for p in snapshot.iterdir() if p.suffix.lower() == ".gguf")


def hf_cache_dir() -> Path:
    """Where ``huggingface_hub`` keeps its cache (same precedence as the library)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface"
    )
    return Path(home).expanduser() / "hub"


def scan(folders: Iterable[Path], hf_cache: Path | None) -> list[Found]:
    """Every model in the folders, then in the HF cache; the first of a repeated id wins."""
    found: dict[str, Found] = {}
    sources = [scan_folder(f.expanduser()) for f in folders]
    if hf_cache is not None:
        sources.append(scan_hf_cache(hf_cache))
    for source in sources:
        for model in source:
            if model.id in found:
                log.warning("model_id_repeated", model=model.id, ignored=str(model.path))
                continue
            found[model.id] = model
    return list(found.values())
