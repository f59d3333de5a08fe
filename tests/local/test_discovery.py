"""The runner's own discovery (a ``ModelManager`` no registry feeds) finds what the
registry's scanner finds, under the same names and served by the same engines: split GGUF
sets and HF cache repos under ``local.model_dirs`` included."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plugai.catalog.serving import spec_of
from plugai.db.tables import RegistryModel
from plugai.local.discovery import discover, engine_for
from plugai.settings import LocalSettings
from tests.catalog.layouts import (
    write_diffusers,
    write_gguf,
    write_hf_cache_gguf,
    write_hf_cache_repo,
    write_split_gguf,
    write_transformers,
)


def test_a_split_gguf_set_is_one_model(tmp_path: Path) -> None:
    write_split_gguf(tmp_path, "big", parts=3)
    write_split_gguf(tmp_path, "half", parts=2)[1].unlink()  # incomplete: not a model
    specs = discover(LocalSettings(model_dirs=[tmp_path], n_ctx=512))
    assert {name: (s.engine, s.path, s.n_ctx) for name, s in specs.items()} == {
        "big": ("llama_cpp", tmp_path / "big-00001-of-00003.gguf", 512)
    }


def test_hf_cache_repos_under_model_dirs(tmp_path: Path) -> None:
    cache = tmp_path / "hub"  # e.g. model_dirs: [~/.cache/huggingface/hub]
    llm = write_hf_cache_repo(cache, "org/cached-llm")
    gguf = write_hf_cache_gguf(cache, "org/tiny-GGUF", "tiny-Q8_0", parts=2)
    specs = discover(LocalSettings(model_dirs=[cache]))
    assert {name: (s.engine, s.path) for name, s in specs.items()} == {
        "cached-llm": ("transformers", llm),
        # the snapshot's link, not its blob: llama.cpp finds the other parts by name
        "tiny-Q8_0": ("llama_cpp", gguf / "tiny-Q8_0-00001-of-00002.gguf"),
    }


async def test_registry_and_discovery_name_and_serve_models_alike(
    plugai: Callable[..., Any], tmp_path: Path
) -> None:
    models = tmp_path / "models"
    write_gguf(models / "tiny-q8.gguf")
    write_split_gguf(models, "big", parts=2)
    write_transformers(models / "tiny-hf")
    write_diffusers(models / "tiny-sd")
    write_diffusers(models / "tiny-shap-e", pipeline="ShapEPipeline")
    write_hf_cache_repo(models, "org/cached-hf")
    write_hf_cache_gguf(models, "org/split-GGUF", "split-q4", parts=2)
    local = {"model_dirs": [str(models)], "scan_hf_cache": False}
    async with plugai(local=local) as h:
        rows = await h.app.state.registry.registry.all()
        settings = h.app.state.settings.local
        registered = {row.id: spec_of(row, settings) for row in rows}
        assert registered == discover(settings)  # names, engines, paths
        assert {name: spec.engine for name, spec in registered.items() if spec} == {
            "tiny-q8": "llama_cpp",
            "big": "llama_cpp",
            "tiny-hf": "transformers",
            "tiny-sd": "diffusers",
            "tiny-shap-e": "shap_e",
            "cached-hf": "transformers",
            "split-q4": "llama_cpp",
        }
        listed = {m.id for m in (await h.openai.models.list()).data}
        assert {m for m in listed if m.startswith("local/")} == {f"local/{n}" for n in registered}


def test_the_engine_follows_the_format_and_the_pipeline() -> None:
    assert engine_for("gguf", None) == "llama_cpp"
    assert engine_for("safetensors", {}) == "transformers"
    assert engine_for("diffusers", {"architecture": "ShapEImg2ImgPipeline"}) == "shap_e"
    assert engine_for("diffusers", {"architecture": "FluxPipeline"}) == "diffusers"
    assert engine_for("onnx", {}) is None
    row = RegistryModel(id="m", format="onnx", meta={}, path="/m", state="ready")
    assert spec_of(row, LocalSettings()) is None


def test_importing_discovery_stays_light() -> None:
    """The gateway imports discovery (and with it the scanner): no inference library, no
    numpy, and nothing of the registry's database."""
    heavy = (
        "torch",
        "diffusers",
        "transformers",
        "llama_cpp",
        "gguf",
        "numpy",
        "sqlalchemy",
        "plugai.catalog.registry",
    )
    code = (
        "import sys, plugai.local.discovery, plugai.catalog.scanner\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
