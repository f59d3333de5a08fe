"""What every resource holds: the transport of its client."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from plugai_client._transport import AsyncTransport, SyncTransport

Messages = str | Mapping[str, Any] | Sequence[Mapping[str, Any]]


class SyncResource:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport


class AsyncResource:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport


def as_messages(messages: Messages) -> list[dict[str, Any]]:
    """A string is one user message; one mapping is one message; else a list of them."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if isinstance(messages, Mapping):
        return [dict(messages)]
    return [dict(m) for m in messages]


def segment(value: str, *, slashes: bool = False) -> str:
    """``value`` quoted for a URL path (model ids keep their ``/`` when ``slashes``)."""
    return quote(value, safe="/" if slashes else "")
