"""Make the fake fixtures available to the tests in this package."""

from .fixtures import (
    fake_anthropic,
    fake_gemini,
    fake_huggingface,
    fake_ollama,
    fake_openai,
    fake_stability,
)

__all__ = [
    "fake_anthropic",
    "fake_gemini",
    "fake_huggingface",
    "fake_ollama",
    "fake_openai",
    "fake_stability",
]
