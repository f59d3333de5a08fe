"""The local runner's tiny-model fixtures, for the session tests that use local models."""

from tests.local.conftest import model_dir, tiny_gguf, tiny_hf

__all__ = ["model_dir", "tiny_gguf", "tiny_hf"]
