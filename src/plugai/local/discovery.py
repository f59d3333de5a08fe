"""Models found in the configured folders: a ``.gguf`` file is a llama.cpp model named after
the file; a folder with ``config.json`` and ``*.safetensors`` is a transformers model, one
with ``model_index.json`` a diffusers pipeline (Shap-E for 3D, any other for images), each
named after the folder. The registry issue adds downloads and the HF cache; this is the
floor."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import structlog

from plugai.local.engines import diffusers_engine
from plugai.local.engines.base import ModelSpec
from plugai.local.engines.diffusion_options import pipeline_class
from plugai.settings import LocalSettings

log = structlog.get_logger("plugai.local")


def _candidates(folder: Path) -> Iterable[tuple[str, Path, str]]:
    if not folder.is_dir():
        log.warning("model_dir_missing", path=str(folder))
        return
    for entry in sorted(folder.iterdir()):
        if entry.is_file() and entry.suffix.lower() == ".gguf":
            yield entry.stem, entry, "llama_cpp"
        elif entry.is_dir() and (entry / "model_index.json").is_file():
            yield entry.name, entry, diffusers_engine(pipeline_class(entry)).name
        elif (
            entry.is_dir()
            and (entry / "config.json").is_file()
            and any(entry.glob("*.safetensors"))
        ):
            yield entry.name, entry, "transformers"


def discover(settings: LocalSettings) -> dict[str, ModelSpec]:
    """Every model in ``settings.model_dirs``; the first folder wins a repeated name."""
    found: dict[str, ModelSpec] = {}
    for folder in settings.model_dirs:
        for name, path, engine in _candidates(folder.expanduser()):
            if name in found:
                log.warning("model_name_repeated", model=name, ignored=str(path))
                continue
            found[name] = ModelSpec(
                name=name,
                path=path.resolve(),
                engine=engine,
                n_ctx=settings.n_ctx,
                threads=settings.threads,
            )
    return found
