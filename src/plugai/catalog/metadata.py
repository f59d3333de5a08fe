"""What a model file says about itself: architecture, size, quantisation, context, template.

Read from GGUF headers (through the ``gguf`` package, memory-mapped: only the header pages
are touched) or from ``config.json`` / ``model_index.json``. Metadata is a convenience, so
any problem reading it yields what could be read, never an error: a model with odd headers
must still be registered and servable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog

from plugai.local.engines import diffusers_engine

log = structlog.get_logger("plugai.catalog")


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    if field is None:
        return None
    try:
        return field.contents()
    except Exception:  # noqa: BLE001 - an odd field type must not hide the rest
        return None


def gguf_metadata(paths: Sequence[Path]) -> dict[str, Any]:
    """Header fields of a (possibly split) GGUF model; ``{}`` without the ``gguf`` package."""
    try:
        import gguf
    except ImportError:
        return {}
    meta: dict[str, Any] = {}
    params = 0
    for index, path in enumerate(paths):
        try:
            reader = gguf.GGUFReader(path)
        except Exception as exc:  # noqa: BLE001 - unreadable headers: register without them
            log.warning("gguf_header_unreadable", path=str(path), error=str(exc))
            return meta
        params += sum(int(t.n_elements) for t in reader.tensors)
        if index:
            continue
        arch = _field(reader, "general.architecture")
        meta["architecture"] = arch
        meta["name"] = _field(reader, "general.name")
        if arch:
            meta["context_length"] = _field(reader, f"{arch}.context_length")
        file_type = _field(reader, "general.file_type")
        if isinstance(file_type, int):
            try:
                meta["quantization"] = gguf.LlamaFileType(file_type).name.removeprefix("MOSTLY_")
            except ValueError:
                meta["quantization"] = str(file_type)
        meta["chat_template"] = _field(reader, "tokenizer.chat_template")
    meta["parameter_count"] = params
    return _plain({k: v for k, v in meta.items() if v is not None})


def _plain(meta: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe values only (header fields may be numpy scalars or bytes)."""
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if isinstance(value, bool | int | float | str):
            out[key] = value
        elif hasattr(value, "item"):
            out[key] = value.item()
        else:
            out[key] = str(value)
    return out


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def transformers_metadata(folder: Path) -> dict[str, Any]:
    """From ``config.json`` (and ``tokenizer_config.json`` for the chat template)."""
    config = _json(folder / "config.json")
    archs = config.get("architectures")
    meta: dict[str, Any] = {
        "architecture": archs[0] if isinstance(archs, list) and archs else config.get("model_type"),
        "context_length": config.get("max_position_embeddings")
        or config.get("n_positions")
        or config.get("max_seq_len"),
    }
    quant = config.get("quantization_config")
    if isinstance(quant, dict):
        meta["quantization"] = quant.get("quant_method")
    else:
        meta["quantization"] = config.get("torch_dtype") or config.get("dtype")
    template = _json(folder / "tokenizer_config.json").get("chat_template")
    if isinstance(template, str):
        meta["chat_template"] = template
    return {k: v for k, v in meta.items() if v is not None}


def diffusers_metadata(folder: Path) -> dict[str, Any]:
    """From ``model_index.json``: the pipeline class is the architecture."""
    index = _json(folder / "model_index.json")
    meta = {"architecture": index.get("_class_name"), "diffusers": index.get("_diffusers_version")}
    return {k: v for k, v in meta.items() if v is not None}


def diffusers_modality(meta: dict[str, Any]) -> str:
    """``3d`` for a pipeline that makes meshes (Shap-E), else ``image``: the modality of the
    engine that will serve it."""
    return diffusers_engine(meta.get("architecture")).modality.value
