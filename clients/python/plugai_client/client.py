"""``PlugAI`` and ``AsyncPlugAI``: one pooled HTTP connection set per instance.

    from plugai_client import PlugAI

    with PlugAI(base_url="http://127.0.0.1:8080", api_key="sk-plugai-…") as client:
        print(client.chat.create(model="openai/gpt-4o-mini", messages="Hi").text)

Both arguments default to ``PLUGAI_BASE_URL`` / ``PLUGAI_API_KEY`` (then
``http://127.0.0.1:8080``). Calls retry ``max_retries`` times on 429/502/503/504 and
connection errors, with exponential backoff or the server's ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Self

import httpx

from plugai_client._transport import (
    DEFAULT_MAX_RETRIES,
    AsyncTransport,
    Config,
    SyncTransport,
)
from plugai_client.resources.admin import Admin, AsyncAdmin
from plugai_client.resources.artifacts import Artifacts, AsyncArtifacts
from plugai_client.resources.chat import AsyncChat, Chat
from plugai_client.resources.completions import AsyncCompletions, Completions
from plugai_client.resources.embeddings import AsyncEmbeddings, Embeddings
from plugai_client.resources.images import AsyncImages, Images
from plugai_client.resources.jobs import AsyncJobs, Jobs
from plugai_client.resources.me import AsyncMe, Me
from plugai_client.resources.meshes import AsyncMeshes, Meshes
from plugai_client.resources.models import AsyncModels, Models
from plugai_client.resources.registry import AsyncRegistry, Registry
from plugai_client.resources.sessions import AsyncSessions, Sessions
from plugai_client.resources.storage import AsyncStorage, Storage


class PlugAI:
    """Synchronous client of a PlugAI server.

    Args:
        base_url: the server (``/v1`` at the end is accepted); env ``PLUGAI_BASE_URL``.
        api_key: a PlugAI API key; env ``PLUGAI_API_KEY``.
        timeout: seconds (or an :class:`httpx.Timeout`) per request; default 600 s,
            10 s to connect.
        max_retries: retries on 429/502/503/504 and connection errors (default 2).
        headers: extra headers on every request.
        http_client: an :class:`httpx.Client` to use (not closed by :meth:`close`).
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        config = Config.resolve(base_url, api_key, timeout, max_retries, headers)
        self._transport = SyncTransport(config, http_client)
        self.chat = Chat(self._transport)
        self.completions = Completions(self._transport)
        self.embeddings = Embeddings(self._transport)
        self.images = Images(self._transport)
        self.meshes = Meshes(self._transport)
        self.jobs = Jobs(self._transport)
        self.artifacts = Artifacts(self._transport)
        self.models = Models(self._transport)
        self.sessions = Sessions(self._transport, self.chat)
        self.me = Me(self._transport)
        self.admin = Admin(self._transport)
        self.registry = Registry(self._transport)
        self.storage = Storage(self._transport)

    @property
    def base_url(self) -> str:
        return self._transport.config.base_url

    @property
    def api_key(self) -> str | None:
        return self._transport.config.api_key

    def close(self) -> None:
        """Close the pooled connections."""
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PlugAI(base_url={self.base_url!r})"


class AsyncPlugAI:
    """Asynchronous client of a PlugAI server; the same arguments and resources as
    :class:`PlugAI`, with coroutine methods (``await client.chat.create(…)``)."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        config = Config.resolve(base_url, api_key, timeout, max_retries, headers)
        self._transport = AsyncTransport(config, http_client)
        self.chat = AsyncChat(self._transport)
        self.completions = AsyncCompletions(self._transport)
        self.embeddings = AsyncEmbeddings(self._transport)
        self.images = AsyncImages(self._transport)
        self.meshes = AsyncMeshes(self._transport)
        self.jobs = AsyncJobs(self._transport)
        self.artifacts = AsyncArtifacts(self._transport)
        self.models = AsyncModels(self._transport)
        self.sessions = AsyncSessions(self._transport, self.chat)
        self.me = AsyncMe(self._transport)
        self.admin = AsyncAdmin(self._transport)
        self.registry = AsyncRegistry(self._transport)
        self.storage = AsyncStorage(self._transport)

    @property
    def base_url(self) -> str:
        return self._transport.config.base_url

    @property
    def api_key(self) -> str | None:
        return self._transport.config.api_key

    async def close(self) -> None:
        await self._transport.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncPlugAI(base_url={self.base_url!r})"
