"""Fixtures for the local runner: tiny models built once per session (cached in a temp
dir) and folders of them to point ``local.model_dirs`` at: ``model_dir`` for text models,
``generation_model_dir`` for the image and 3D pipelines."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.local.tiny_diffusion import build_sd, build_shap_e, build_shap_e_img2img
from tests.local.tiny_models import build_hf, write_gguf

LOCAL_EXTRA = all(
    importlib.util.find_spec(m) for m in ("llama_cpp", "transformers", "gguf", "tokenizers")
)
needs_local = pytest.mark.skipif(not LOCAL_EXTRA, reason="the `local` extra is not installed")
DIFFUSION_EXTRA = all(
    importlib.util.find_spec(m) for m in ("diffusers", "torch", "transformers", "trimesh", "PIL")
)
needs_diffusers = pytest.mark.skipif(
    not DIFFUSION_EXTRA, reason="diffusers (the `local` extra) is not installed"
)


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


@pytest.fixture(scope="session")
def tiny_sd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sd(tmp_path_factory.mktemp("sd") / "tiny-sd")


@pytest.fixture(scope="session")
def tiny_shap_e(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shap_e(tmp_path_factory.mktemp("shap-e") / "tiny-shap-e")


@pytest.fixture(scope="session")
def tiny_shap_e_img2img(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shap_e_img2img(tmp_path_factory.mktemp("shap-e-img") / "tiny-shap-e-img")


@pytest.fixture(scope="session")
def generation_model_dir(
    tiny_sd: Path,
    tiny_shap_e: Path,
    tiny_shap_e_img2img: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """``tiny-sd`` (text/image → image), ``tiny-shap-e`` (text → 3D) and
    ``tiny-shap-e-img`` (image → 3D)."""
    folder = tmp_path_factory.mktemp("generation-models")
    for model in (tiny_sd, tiny_shap_e, tiny_shap_e_img2img):
        (folder / model.name).symlink_to(model, target_is_directory=True)
    return folder
