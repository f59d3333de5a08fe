"""Engine registry: engine name → class. Engine modules import their inference library only
inside ``load``/``run``, so the gateway can read declarations without the ``local`` extra."""

from __future__ import annotations

from plugai.local.engines.base import Engine
from plugai.local.engines.diffusion import DiffusersImageEngine
from plugai.local.engines.llama_cpp import LlamaCppEngine
from plugai.local.engines.shap_e import PIPELINES as SHAP_E_PIPELINES
from plugai.local.engines.shap_e import ShapEEngine
from plugai.local.engines.transformers import TransformersEngine

ENGINES: dict[str, type[Engine]] = {
    e.name: e for e in (LlamaCppEngine, TransformersEngine, DiffusersImageEngine, ShapEEngine)
}


def engine_class(name: str) -> type[Engine]:
    return ENGINES[name]


def diffusers_engine(pipeline: str | None) -> type[Engine]:
    """The engine for a diffusers folder whose ``model_index.json`` names ``pipeline``."""
    return ShapEEngine if pipeline in SHAP_E_PIPELINES else DiffusersImageEngine
