"""Streams of typed chunks (chat and text completions), sync and async.

with client.chat.create(model="m", messages="hi", stream=True) as stream:
    for chunk in stream:
        print(chunk.text, end="")

text = client.chat.create(model="m", messages="hi", stream=True).text()
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar

import httpx


class _HasText(Protocol):
    @property
    def text(self) -> str: ...


T = TypeVar("T", bound=_HasText)


class Stream(Generic[T]):
    """An iterator of typed chunks; the HTTP response is closed when it ends, on
    :meth:`close`, or when leaving a ``with`` block. An error event raises the mapped
    :class:`~plugai_client.PlugAIError` subclass."""

    def __init__(
        self,
        response: httpx.Response,
        events: Iterator[dict[str, Any]],
        parse: Callable[[dict[str, Any]], T],
    ) -> None:
        self.response = response
        self.request_id: str | None = response.headers.get("x-request-id")
        self.headers = response.headers
        self._events = events
        self._parse = parse

    def __iter__(self) -> Iterator[T]:
        for event in self._events:
            yield self._parse(event)

    def __next__(self) -> T:
        return self._parse(next(self._events))

    def text_deltas(self) -> Iterator[str]:
        """The text of each chunk, as it arrives (empty pieces skipped)."""
        for chunk in self:
            if chunk.text:
                yield chunk.text

    def text(self) -> str:
        """Read the rest of the stream and return its text."""
        return "".join(self.text_deltas())

    def close(self) -> None:
        self.response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncStream(Generic[T]):
    """The asyncio twin of :class:`Stream` (``async for``, ``await stream.text()``)."""

    def __init__(
        self,
        response: httpx.Response,
        events: AsyncIterator[dict[str, Any]],
        parse: Callable[[dict[str, Any]], T],
    ) -> None:
        self.response = response
        self.request_id: str | None = response.headers.get("x-request-id")
        self.headers = response.headers
        self._events = events
        self._parse = parse

    async def __aiter__(self) -> AsyncIterator[T]:
        async for event in self._events:
            yield self._parse(event)

    async def __anext__(self) -> T:
        return self._parse(await anext(self._events))

    async def text_deltas(self) -> AsyncIterator[str]:
        async for chunk in self:
            if chunk.text:
                yield chunk.text

    async def text(self) -> str:
        return "".join([piece async for piece in self.text_deltas()])

    async def close(self) -> None:
        await self.response.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
