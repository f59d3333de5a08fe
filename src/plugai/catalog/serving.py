"""Handing ready registry models to the local runner (``local/<id>``).

The runner's ``ModelManager`` owns loading; the registry only tells it which models exist
(``ModelManager.rescan(specs)`` adds them, loaded ones are untouched) and asks which are
loaded, so that eviction never deletes a model that is serving. A row becomes a spec
through ``local.discovery.model_spec``, the mapping the runner's own discovery uses: the
engine for a format is decided in one place, on the ``local`` side, from plain fields, so
that ``local`` needs nothing of the registry (of ``catalog`` it imports only the scanner).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from plugai.db.tables import RegistryModel
from plugai.local.discovery import engine_for, model_spec
from plugai.local.engines.base import ModelSpec
from plugai.local.manager import ModelManager
from plugai.settings import LocalSettings


def engine_of(model: RegistryModel) -> str | None:
    """The engine that serves ``model``: by format, and by pipeline class for diffusers."""
    return engine_for(model.format, model.meta)


def spec_of(model: RegistryModel, local: LocalSettings) -> ModelSpec | None:
    """The runner's spec for a ready model, or None when no engine serves its format."""
    if model.state != "ready":
        return None
    return model_spec(model.id, model.format, model.meta, Path(model.path), local)


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
