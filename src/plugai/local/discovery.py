"""The runner's models: what the scanner finds in ``local.model_dirs``, as ``ModelSpec``s.

Which files make a model, and its name, is the scanner's alone (``catalog/scanner.py``:
GGUF, split GGUF, transformers, diffusers, HF cache repos), so a model is ``local/<name>``
under the same name whether it comes from here or through the registry. This module owns
the other half, which engine serves a model (``model_spec``), and ``catalog/serving.py``
maps registry rows through it too. Why here: the mapping needs only the engines and
``LocalSettings``, and takes plain fields, so ``local`` never imports the registry's tables;
``catalog`` imports ``local``, and the one import the other way is of the scanner, which
imports nothing of ``catalog`` beyond header reading (no registry, database or manager).

Discovery serves a ``ModelManager`` that no registry feeds, and runs on every model
listing (on the event loop), so it scans without details (no file lists, no GGUF headers)
and leaves the HF cache to the registry (``local.scan_hf_cache``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plugai.catalog import scanner
from plugai.local.engines import diffusers_engine
from plugai.local.engines.base import ModelSpec
from plugai.settings import LocalSettings

ENGINES = {"gguf": "llama_cpp", "safetensors": "transformers"}  # diffusers: by pipeline


def engine_for(model_format: str, meta: Mapping[str, Any] | None) -> str | None:
    """The engine that serves a model of this format (the scanner's ``gguf | safetensors |
    diffusers``; a diffusers pipeline by its class), or None when none does."""
    if model_format == "diffusers":
        return diffusers_engine((meta or {}).get("architecture")).name
    return ENGINES.get(model_format)


def model_spec(
    name: str,
    model_format: str,
    meta: Mapping[str, Any] | None,
    path: Path,
    settings: LocalSettings,
) -> ModelSpec | None:
    """The runner's spec for a model on disk, or None when no engine serves its format."""
    engine = engine_for(model_format, meta)
    if engine is None:
        return None
    return ModelSpec(
        name=name, path=path, engine=engine, n_ctx=settings.n_ctx, threads=settings.threads
    )


def discover(settings: LocalSettings) -> dict[str, ModelSpec]:
    """Every model in ``settings.model_dirs``; the first folder wins a repeated name."""
    specs: dict[str, ModelSpec] = {}
    for found in scanner.scan(settings.model_dirs, None, details=False):
        spec = model_spec(found.id, found.format, found.meta, found.path, settings)
        if spec is not None:
            specs[found.id] = spec
    return specs
