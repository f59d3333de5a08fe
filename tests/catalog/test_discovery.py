"""Auto-discovery: GGUF, split GGUF, transformers, diffusers and HF-cache layouts are
registered in place; a vanished model becomes ``missing``; discovered files are never
deleted by PlugAI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from plugai.catalog import scanner
from tests.catalog.layouts import (
    TEMPLATE,
    write_diffusers,
    write_gguf,
    write_hf_cache_gguf,
    write_hf_cache_repo,
    write_split_gguf,
    write_transformers,
)


@pytest.fixture
def layouts(tmp_path: Path) -> tuple[Path, Path]:
    models = tmp_path / "models"
    write_gguf(models / "tiny-q8.gguf", context=2048)
    write_split_gguf(models, "big", parts=3)
    write_split_gguf(models / "incomplete", "half", parts=2)[1].unlink()
    write_transformers(models / "tiny-hf")
    write_diffusers(models / "tiny-sd")
    (models / "notes.txt").write_text("not a model")
    cache = tmp_path / "hf-cache"
    write_hf_cache_repo(cache, "org/cached-llm")
    return models, cache


def test_scanner_finds_every_layout(layouts: tuple[Path, Path]) -> None:
    models, cache = layouts
    found = {f.id: f for f in scanner.scan([models], cache)}
    assert set(found) == {"tiny-q8", "big", "tiny-hf", "tiny-sd", "cached-llm"}
    gguf = found["tiny-q8"]
    assert (gguf.format, gguf.modality, gguf.path) == ("gguf", "text", models / "tiny-q8.gguf")
    assert gguf.meta["architecture"] == "llama"
    assert gguf.meta["context_length"] == 2048
    assert gguf.meta["quantization"] == "Q8_0"
    assert gguf.meta["chat_template"] == TEMPLATE
    assert gguf.meta["parameter_count"] == 64
    big = found["big"]
    assert len(big.files) == 3 and big.meta["split"] == 3
    assert big.path.name == "big-00001-of-00003.gguf"
    assert big.meta["parameter_count"] == 48  # tensors of every part
    assert big.total_size == sum(p.stat().st_size for p in models.glob("big-*.gguf"))
    hf = found["tiny-hf"]
    assert (hf.format, hf.meta["architecture"], hf.meta["context_length"]) == (
        "safetensors",
        "LlamaForCausalLM",
        1024,
    )
    sd = found["tiny-sd"]
    assert (sd.format, sd.modality, sd.meta["architecture"]) == (
        "diffusers",
        "image",
        "StableDiffusionPipeline",
    )
    assert {f["path"] for f in sd.files} == {
        "model_index.json",
        "unet/diffusion_pytorch_model.safetensors",
    }
    cached = found["cached-llm"]
    assert cached.format == "safetensors"
    assert cached.path == cache / "models--org--cached-llm" / "snapshots" / "abc123"
    assert cached.total_size > 0  # sizes of the blobs, through the symlinks


def test_a_folder_of_hf_cache_repos_is_scanned_like_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    write_hf_cache_repo(cache, "org/cached-llm")
    write_hf_cache_gguf(cache, "org/tiny-GGUF", "tiny-q4", parts=2)
    as_folder = scanner.scan([cache], None)  # model_dirs: [~/.cache/huggingface/hub]
    assert as_folder == scanner.scan([], cache)
    found = {f.id: f for f in as_folder}
    assert set(found) == {"cached-llm", "tiny-q4"}
    assert found["tiny-q4"].path.name == "tiny-q4-00001-of-00002.gguf"  # the link, not a blob
    assert found["tiny-q4"].meta["split"] == 2 and len(found["tiny-q4"].files) == 2
    with capture_logs() as logs:  # the cache as a configured folder too: scanned once
        assert scanner.scan([cache], cache) == as_folder
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == []


def test_a_scan_without_details_finds_the_same_models(layouts: tuple[Path, Path]) -> None:
    """What the runner's discovery scans: the same ids, formats, modalities and paths, with
    no file list or header read."""
    models, cache = layouts
    full, light = (scanner.scan([models], cache, details=d) for d in (True, False))
    assert [(f.id, f.format, f.modality, f.path) for f in light] == [
        (f.id, f.format, f.modality, f.path) for f in full
    ]
    assert all(not f.files for f in light)
    assert next(f for f in light if f.id == "tiny-sd").meta["architecture"] == (
        "StableDiffusionPipeline"  # a diffusers pipeline's class picks its engine
    )


def test_hf_cache_dir_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert scanner.hf_cache_dir() == tmp_path / "home" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    assert scanner.hf_cache_dir() == tmp_path / "cache"


def test_unreadable_gguf_is_registered_without_metadata(tmp_path: Path) -> None:
    (tmp_path / "junk.gguf").write_bytes(b"not a gguf at all")
    [found] = scanner.scan([tmp_path], None)
    assert (found.id, found.meta) == ("junk", {})


async def test_scan_api_registers_in_place_and_marks_missing(
    plugai: Callable[..., Any], layouts: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    models, cache = layouts
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    async with plugai(local={"model_dirs": [str(models)]}) as h:
        listed = (await h.http.get("/v1/registry/models")).json()["data"]
        by_id = {m["id"]: m for m in listed}
        assert set(by_id) == {"tiny-q8", "big", "tiny-hf", "tiny-sd", "cached-llm"}
        assert all(m["discovered"] and m["state"] == "ready" for m in listed)
        assert by_id["tiny-q8"]["model"] == "local/tiny-q8"
        assert by_id["tiny-q8"]["metadata"]["context_length"] == 2048
        # downloaded ready models serve through the local runner: the manager knows them
        assert {"tiny-q8", "big", "tiny-hf"} <= {s.name for s in h.app.state.local.specs()}

        (models / "tiny-q8.gguf").unlink()
        scan = (await h.http.post("/v1/registry/scan")).json()
        assert scan["missing"] == ["tiny-q8"]
        gone = (await h.http.get("/v1/registry/models/tiny-q8")).json()
        assert gone["state"] == "missing"

        write_gguf(models / "tiny-q8.gguf")  # back again: ready again
        scan = (await h.http.post("/v1/registry/scan")).json()
        assert scan["updated"] == ["tiny-q8"]
        assert (await h.http.get("/v1/registry/models/tiny-q8")).json()["state"] == "ready"

        deleted = (await h.http.delete("/v1/registry/models/tiny-hf")).json()
        assert deleted == {"id": "tiny-hf", "deleted": True, "files_deleted": False}
        assert (models / "tiny-hf" / "model.safetensors").exists()  # never deleted
        assert (await h.http.get("/v1/registry/models/tiny-hf")).status_code == 404


async def test_changes_need_an_admin(plugai: Callable[..., Any], tmp_path: Path) -> None:
    async with plugai() as h:
        user = (await h.http.post("/v1/admin/users", json={"name": "u"})).json()
        headers = {"Authorization": f"Bearer {user['api_key']}"}
        assert (await h.http.get("/v1/registry/models", headers=headers)).status_code == 200
        assert (await h.http.get("/v1/storage", headers=headers)).status_code == 200
        assert (await h.http.post("/v1/registry/scan", headers=headers)).status_code == 403
        body = {"source": "http://127.0.0.1:9/x.gguf"}
        denied = await h.http.post("/v1/registry/downloads", json=body, headers=headers)
        assert denied.status_code == 403
