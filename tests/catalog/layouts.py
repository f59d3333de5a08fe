"""Model layouts on disk, built by the tests: GGUF (with real headers), split GGUF,
transformers (safetensors) and diffusers folders, and a Hugging Face cache repo."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from gguf import GGUFWriter, LlamaFileType

TEMPLATE = "{% for m in messages %}{{ m.content }}{% endfor %}"


def write_gguf(path: Path, *, arch: str = "llama", context: int = 2048, elements: int = 64) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = GGUFWriter(path, arch)
    writer.add_name(path.stem)
    writer.add_context_length(context)
    writer.add_file_type(LlamaFileType.MOSTLY_Q8_0)
    writer.add_chat_template(TEMPLATE)
    writer.add_tensor("token_embd.weight", np.zeros(elements, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def write_split_gguf(folder: Path, base: str, parts: int = 3) -> list[Path]:
    return [
        write_gguf(folder / f"{base}-{i:05d}-of-{parts:05d}.gguf", elements=16)
        for i in range(1, parts + 1)
    ]


def write_transformers(folder: Path, context: int = 1024) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = {"architectures": ["LlamaForCausalLM"], "max_position_embeddings": context}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "tokenizer_config.json").write_text(json.dumps({"chat_template": TEMPLATE}))
    (folder / "model.safetensors").write_bytes(b"\0" * 128)
    return folder


def write_diffusers(folder: Path, pipeline: str = "StableDiffusionPipeline") -> Path:
    (folder / "unet").mkdir(parents=True, exist_ok=True)
    index = {"_class_name": pipeline, "_diffusers_version": "0.30.0"}
    (folder / "model_index.json").write_text(json.dumps(index))
    (folder / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"\0" * 64)
    return folder


def write_hf_cache_repo(cache: Path, repo: str, revision: str = "abc123") -> Path:
    """``models--org--name`` with blobs, a snapshot of symlinks, and ``refs/main``."""
    root = cache / ("models--" + repo.replace("/", "--"))
    return _as_snapshot(write_transformers(root / "staging"), root, revision)


def write_hf_cache_gguf(
    cache: Path, repo: str, base: str, parts: int = 1, revision: str = "abc123"
) -> Path:
    """A GGUF repo in the cache: ``base.gguf``, or a split set of ``parts`` files."""
    root = cache / ("models--" + repo.replace("/", "--"))
    staging = root / "staging"
    if parts > 1:
        write_split_gguf(staging, base, parts)
    else:
        write_gguf(staging / f"{base}.gguf")
    return _as_snapshot(staging, root, revision)


def _as_snapshot(staging: Path, root: Path, revision: str) -> Path:
    """Move the staged files into blobs, link them from the snapshot, point refs/main at it."""
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(revision)
    snapshot = root / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (root / "blobs").mkdir()
    for i, file in enumerate(sorted(staging.iterdir())):
        blob = root / "blobs" / f"blob{i}"
        file.rename(blob)
        (snapshot / file.name).symlink_to(Path("../../blobs") / blob.name)
    staging.rmdir()
    return snapshot
