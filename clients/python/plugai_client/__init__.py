"""Typed Python client for the PlugAI gateway, sync (:class:`PlugAI`) and async
(:class:`AsyncPlugAI`).

    from plugai_client import PlugAI

    client = PlugAI()  # PLUGAI_BASE_URL, PLUGAI_API_KEY
    with client.sessions.create(model="openai/gpt-4o-mini") as session:
        print(session.send("Hello!").text)
"""

from plugai_client import types
from plugai_client.client import AsyncPlugAI, PlugAI
from plugai_client.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DownloadError,
    GenerationError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PlugAIError,
    RateLimitError,
    StorageFullError,
    UpstreamError,
)
from plugai_client.session import AsyncSession, Session
from plugai_client.streaming import AsyncStream, Stream

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncPlugAI",
    "AsyncSession",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "DownloadError",
    "GenerationError",
    "InternalServerError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PlugAI",
    "PlugAIError",
    "RateLimitError",
    "Session",
    "StorageFullError",
    "Stream",
    "UpstreamError",
    "__version__",
    "types",
]
