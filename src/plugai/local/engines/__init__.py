"""Engine registry: engine name → class. Engine modules import their inference library only
inside ``load``/``run``, so the gateway can read declarations without the ``local`` extra."""

from __future__ import annotations

from plugai.local.engines.base import Engine
from plugai.local.engines.llama_cpp import LlamaCppEngine
from plugai.local.engines.transformers import TransformersEngine

ENGINES: dict[str, type[Engine]] = {e.name: e for e in (LlamaCppEngine, TransformersEngine)}


def engine_class(name: str) -> type[Engine]:
    return ENGINES[name]
