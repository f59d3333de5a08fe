"""Pytest fixtures: one started fake per test, stopped afterwards.

Use from ``tests/conftest.py`` with ``from tests.fakes.fixtures import *`` (or by name).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .anthropic_fake import FakeAnthropic
from .gemini import FakeGemini
from .huggingface import FakeHuggingFace
from .ollama import FakeOllama
from .openai_fake import FakeOpenAI
from .stability import FakeStability

__all__ = [
    "fake_anthropic",
    "fake_gemini",
    "fake_huggingface",
    "fake_ollama",
    "fake_openai",
    "fake_stability",
]


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A running :class:`FakeOpenAI`; ``fake_openai.url`` ends in ``/v1``."""
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    """A running :class:`FakeAnthropic`; ``fake_anthropic.url`` is the SDK base_url."""
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def fake_gemini() -> Iterator[FakeGemini]:
    """A running :class:`FakeGemini`; ``fake_gemini.url`` is the API root."""
    with FakeGemini() as fake:
        yield fake


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    """A running :class:`FakeOllama` (native root at ``.url``, OpenAI API at ``.openai_url``)."""
    with FakeOllama() as fake:
        yield fake


@pytest.fixture
def fake_huggingface() -> Iterator[FakeHuggingFace]:
    """A running :class:`FakeHuggingFace` router; ``.url`` ends in ``/v1``."""
    with FakeHuggingFace() as fake:
        yield fake


@pytest.fixture
def fake_stability() -> Iterator[FakeStability]:
    """A running :class:`FakeStability`; ``.url`` is the API root."""
    with FakeStability() as fake:
        yield fake
