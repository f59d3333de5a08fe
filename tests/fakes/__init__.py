"""Fake model-provider servers (real HTTP on loopback) for the gateway's tests.

See ``tests/fakes/README.md`` for the control API.
"""

from .anthropic_fake import FakeAnthropic
from .base import (
    Error,
    FakeServer,
    RecordedRequest,
    Reply,
    SentChunk,
    ToolCall,
    Usage,
    embedding_for,
    tiny_png,
)
from .gemini import FakeGemini
from .huggingface import FakeHuggingFace
from .ollama import FakeOllama
from .openai_fake import FakeOpenAI
from .stability import FakeStability

__all__ = [
    "Error",
    "FakeAnthropic",
    "FakeGemini",
    "FakeHuggingFace",
    "FakeOllama",
    "FakeOpenAI",
    "FakeServer",
    "FakeStability",
    "RecordedRequest",
    "Reply",
    "SentChunk",
    "ToolCall",
    "Usage",
    "embedding_for",
    "tiny_png",
]
