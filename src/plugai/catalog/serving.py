"""Handing ready registry models to the local runner (``local/<id>``).

The runner's ``ModelManager`` owns loading; the registry only tells it which models exist
(``ModelManager.rescan(specs)`` adds them, loaded ones are untouched) and asks which are
loaded, so that eviction never deletes a model that is serving.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from plugai.db.tables import RegistryModel
from plugai.local.engines import diffusers_engine
from plugai.local.engines.base import ModelSpec
from plugai.local.manager import ModelManager
from plugai.settings import LocalSettings

ENGINES = {"gguf": "llama_cpp", "safetensors": "transformers"}  # diffusers: by pipeline


def engine_of(model: RegistryModel) -> str | None:
    """The engine that serves ``model``: by format, and by pipeline class for diffusers."""
    if model.format == "diffusers":
        return diffusers_engine((model.meta or {}).get("architecture")).name
    return ENGINES.get(model.format)


def spec_of(model: RegistryModel, local: LocalSettings) -> ModelSpec | None:
    """The runner's spec for a ready model, or None when no engine serves its format."""
    engine = engine_of(model)
    if engine is None or model.state != "ready":
        return None
    return ModelSpec(
        name=model.id,
        path=Path(model.path),
        engine=engine,
        n_ctx=local.n_ctx,
        threads=local.threads,
    )


def publish(
    manager: ModelManager | None, models: Iterable[RegistryModel], local: LocalSettings
) -> None:
    """Make ready models servable (no-op without a local runner in this process)."""
    if manager is None:
        return
    specs = {m.id: spec for m in models if (spec := spec_of(m, local)) is not None}
    if specs:
        manager.rescan(specs)


def withdraw(manager: ModelManager | None, model_id: str) -> None:
    """Stop offering a model whose files are gone (deleted, evicted or missing)."""
    if manager is not None:
        manager.forget(model_id)


def is_loaded(manager: ModelManager | None, model_id: str) -> bool:
    return manager is not None and any(row.model == model_id for row in manager.loaded())
