"""The manager's rules that need no model: keep-alive arithmetic and discovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugai.local.discovery import discover
from plugai.local.manager import effective_keep_alive
from plugai.local.options import keep_alive_seconds
from plugai.settings import LocalSettings


@pytest.mark.parametrize(
    ("requested", "server", "expected"),
    [
        (None, 300, 300),  # the config's default
        (30, 300, 30),  # a request may ask for less
        (3600, 300, 300),  # never more than the server's maximum
        (-1, 300, 300),  # nor pin a model the server would unload
        (0, 300, 0),  # unload right after the request
        (-1, -1, -1),  # a pinning server lets requests pin
        (10, -1, 10),
    ],
)
def test_effective_keep_alive(requested: float | None, server: float, expected: float) -> None:
    assert effective_keep_alive(requested, server) == expected


def test_keep_alive_values() -> None:
    assert keep_alive_seconds("5m") == 300
    assert keep_alive_seconds(-5) == -1
    assert keep_alive_seconds(None) is None
    with pytest.raises(ValueError, match="not a duration"):
        keep_alive_seconds("soon")


def test_discovery_names_and_engines(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    (first / "qwen-0.5b").mkdir(parents=True)
    (first / "qwen-0.5b" / "config.json").write_text("{}")
    (first / "qwen-0.5b" / "model.safetensors").write_bytes(b"")
    (first / "no-weights").mkdir()
    (first / "no-weights" / "config.json").write_text("{}")
    (first / "llama-q4.GGUF").write_bytes(b"")
    (first / "readme.md").write_text("")
    second.mkdir()
    (second / "llama-q4.gguf").write_bytes(b"")  # same name: the first folder wins
    specs = discover(
        LocalSettings(model_dirs=[first, second, tmp_path / "missing"], n_ctx=1024, threads=2)
    )
    assert {n: s.engine for n, s in specs.items()} == {
        "llama-q4": "llama_cpp",
        "qwen-0.5b": "transformers",
    }
    assert specs["llama-q4"].path == (first / "llama-q4.GGUF").resolve()
    assert (specs["llama-q4"].n_ctx, specs["llama-q4"].threads) == (1024, 2)


async def test_forget_withdraws_a_model(tmp_path: Path) -> None:
    from plugai.core.errors import ModelNotFound
    from plugai.local.manager import ModelManager

    (tmp_path / "gone.gguf").write_bytes(b"")
    manager = ModelManager(LocalSettings(model_dirs=[tmp_path]))
    assert manager.spec("gone").engine == "llama_cpp"
    manager.forget("gone")
    manager.forget("never-there")
    with pytest.raises(ModelNotFound):
        manager.spec("gone")
    await manager.aclose()
