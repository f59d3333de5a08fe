"""Finding models already on disk, so that nobody downloads a second copy.

Layouts: a ``.gguf`` file (a split ``name-00001-of-00003.gguf`` set is one model), a
transformers folder (``config.json`` + ``*.safetensors``), a diffusers folder
(``model_index.json``), in the configured folders and in the Hugging Face cache
(``models--org--name/snapshots/<rev>/…``, also when a configured folder holds such repos).
Scanning is blocking file-system work: callers run it in a thread.

This is the one place that knows layouts and names models: the registry records what it
finds, and the runner's own discovery (``local/discovery.py``, for a ``ModelManager`` that
no registry feeds) serves what it finds, so a model has one name whichever way it comes.
It imports only ``metadata`` (and through it the engines' declarations), never the
registry, the database or the manager, so that ``local`` can build on it without a cycle.
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
HF_REPO = "models--"  # a Hugging Face cache repo: models--org--name
SPLIT = re.compile(r"^(?P<base>.+)-(?P<part>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Found:
    """One model on disk, as the registry records it (``files`` and most of ``meta`` only
    when scanned with details)."""

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


def gguf_models(files: Iterable[Path], *, details: bool = True) -> Iterator[Found]:
    """GGUF files in one folder; split sets become one model, incomplete sets are skipped.

    Without ``details`` no header is read and no file listed (see ``scan``)."""
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
            files=[_file_entry(path, path.parent)] if details else [],
            meta=gguf_metadata([path]) if details else {},
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
            files=[_file_entry(p, p.parent) for p in parts] if details else [],
            meta=(gguf_metadata(parts) if details else {}) | {"split": count},
        )


def folder_model(folder: Path, name: str, *, details: bool = True) -> Found | None:
    """A transformers or diffusers folder, or None. A diffusers folder's pipeline class is
    always read: it decides the modality (and the engine)."""
    if (folder / "model_index.json").is_file():
        meta = diffusers_metadata(folder)
        return Found(
            id=name,
            format="diffusers",
            modality=diffusers_modality(meta),
            path=folder,
            files=_folder_files(folder) if details else [],
            meta=meta,
        )
    if (folder / "config.json").is_file() and any(folder.glob("*.safetensors")):
        return Found(
            id=name,
            format="safetensors",
            modality="text",
            path=folder,
            files=_folder_files(folder) if details else [],
            meta=transformers_metadata(folder) if details else {},
        )
    return None


def scan_folder(folder: Path, *, details: bool = True) -> Iterator[Found]:
    """A configured model folder: GGUF files at its top, and model folders and HF cache
    repos (``models--org--name``: a folder may be a copy of a cache) one level down."""
    if not folder.is_dir():
        log.warning("model_dir_missing", path=str(folder))
        return
    entries = sorted(folder.iterdir())
    ggufs = (e for e in entries if e.is_file() and e.suffix.lower() == ".gguf")
    yield from gguf_models(ggufs, details=details)
    for entry in entries:
        if not entry.is_dir() or entry.name.startswith("."):
            continue
        if entry.name.startswith(HF_REPO) and (entry / "snapshots").is_dir():
            yield from hf_repo(entry, details=details)
            continue
        found = folder_model(entry, entry.name, details=details)
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


def hf_repo(repo: Path, *, details: bool = True) -> Iterator[Found]:
    """One ``models--org--name`` repo of a Hugging Face cache (files are symlinks into
    blobs): its snapshot as a model folder named ``name``, else its GGUF files."""
    snapshot = _snapshot(repo)
    if snapshot is None:
        return
    name = repo.name.removeprefix(HF_REPO).split("--")[-1]
    found = folder_model(snapshot, name, details=details)
    if found is not None:
        yield found
        return
    ggufs = (p for p in snapshot.iterdir() if p.suffix.lower() == ".gguf")
    yield from gguf_models(ggufs, details=details)


def scan_hf_cache(cache: Path, *, details: bool = True) -> Iterator[Found]:
    """The ``models--org--name`` repos of a Hugging Face cache."""
    if not cache.is_dir():
        return
    for repo in sorted(cache.glob(HF_REPO + "*")):
        if repo.is_dir():
            yield from hf_repo(repo, details=details)


def hf_cache_dir() -> Path:
    """Where ``huggingface_hub`` keeps its cache (same precedence as the library)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface"
    )
    return Path(home).expanduser() / "hub"


def scan(folders: Iterable[Path], hf_cache: Path | None, *, details: bool = True) -> list[Found]:
    """Every model in the folders, then in the HF cache; the first of a repeated id wins.
    Paths are absolute (symlinks kept: a split GGUF's parts are found by their names).

    ``details`` lists files (sizes) and reads GGUF headers and configs: what the registry
    records. Without them (the runner's discovery, which may run on the event loop) the
    same models come with the same ids, formats, modalities and paths, and ``files`` and
    ``meta`` hold only what choosing an engine needs."""
    found: dict[str, Found] = {}
    roots = [f.expanduser().absolute() for f in folders]
    sources = [scan_folder(root, details=details) for root in roots]
    cache = hf_cache.expanduser().absolute() if hf_cache is not None else None
    if cache is not None and cache.resolve() not in {r.resolve() for r in roots}:
        sources.append(scan_hf_cache(cache, details=details))
    for source in sources:
        for model in source:
            if model.id in found:
                log.warning("model_id_repeated", model=model.id, ignored=str(model.path))
                continue
            found[model.id] = model
    return list(found.values())
