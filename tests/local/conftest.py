"""Fixtures for the local runner: tiny models built once per session (cached in a temp
dir) and a folder of them to point ``local.model_dirs`` at."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.local.tiny_models import build_hf, write_gguf

LOCAL_EXTRA = all(
    importlib.util.find_spec(m) for m in ("llama_cpp", "transformers", "gguf", "tokenizers")
)
needs_local = pytest.mark.skipif(not LOCAL_EXTRA, reason="the `local` extra is not installed")


@pytest.fixture(scope="session")
def tiny_hf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hf(tmp_path_factory.mktemp("hf") / "tiny-hf")


@pytest.fixture(scope="session")
def tiny_gguf(tiny_hf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_gguf(tiny_hf, tmp_path_factory.mktemp("gguf") / "tiny.gguf")


@pytest.fixture(scope="session")
def model_dir(tiny_hf: Path, tiny_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tiny`` and ``tiny-b`` (GGUF, the same file twice) and ``tiny-hf`` (safetensors)."""
    folder = tmp_path_factory.mktemp("models")
    (folder / "tiny.gguf").symlink_to(tiny_gguf)
    (folder / "tiny-b.gguf").symlink_to(tiny_gguf)
    (folder / "tiny-hf").symlink_to(tiny_hf, target_is_directory=True)
    (folder / "notes.txt").write_text("not a model")
    return folder
