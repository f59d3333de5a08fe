"""``client.sessions``: stored conversations that any model can continue.

with client.sessions.create(model="openai/gpt-4o-mini", title="trip") as s:
    print(s.send("Plan a day in Lyon").text)
    print(s.send("Shorter, please").text)   # the server keeps the history
again = other_client.sessions.resume(s.id)   # elsewhere, later
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from plugai_client.resources._base import AsyncResource, SyncResource, segment
from plugai_client.types.common import Deleted
from plugai_client.types.sessions import SessionDetail, SessionInfo, SessionMessage, SessionPage

if TYPE_CHECKING:
    from plugai_client._transport import AsyncTransport, SyncTransport
    from plugai_client.resources.chat import AsyncChat, Chat
    from plugai_client.session import AsyncSession, Session

ROOT = "/v1/sessions"
_UNSET: Any = object()
History = list[SessionMessage]


def _path(session_id: str, tail: str = "") -> str:
    return f"{ROOT}/{segment(session_id)}{tail}"


def _create_body(
    title: str,
    model: str | None,
    system_prompt: str | None,
    params: dict[str, Any] | None,
    metadata: dict[str, Any] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"title": title, "model": model, "system_prompt": system_prompt}
    if params is not None:
        body["params"] = params
    if metadata is not None:
        body["metadata"] = metadata
    return body


def update_body(**fields: Any) -> dict[str, Any]:
    """Only the fields given (``None`` clears a field; left out keeps it)."""
    return {k: v for k, v in fields.items() if v is not _UNSET}


class Sessions(SyncResource):
    def __init__(self, transport: SyncTransport, chat: Chat) -> None:
        super().__init__(transport)
        self._chat = chat

    def create(
        self,
        *,
        model: str | None = None,
        title: str = "",
        system_prompt: str | None = None,
        params: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Session:
        """Start a session; ``model`` and ``params`` are the defaults of its turns."""
        body = _create_body(title, model, system_prompt, params, metadata)
        info = SessionInfo.model_validate(self._t.json("POST", ROOT, body=body))
        return self._wrap(info)

    def resume(self, session_id: str) -> Session:
        """Pick up a stored session (from any client of the same user)."""
        return self._wrap(self.retrieve(session_id))

    def _wrap(self, info: SessionInfo) -> Session:
        from plugai_client.session import Session

        return Session(self, self._chat, info)

    def list(
        self, *, limit: int = 20, after: str | None = None, q: str | None = None
    ) -> SessionPage:
        """One page of sessions, most recently active first; ``q`` searches titles. Pass
        ``page.next_cursor`` as ``after`` for the next page (or use :meth:`iterate`)."""
        params = {"limit": limit, "after": after, "q": q}
        return SessionPage.model_validate(self._t.json("GET", ROOT, params=params))

    def iterate(self, *, q: str | None = None, page_size: int = 100) -> Iterator[SessionInfo]:
        """Every session (matching ``q``), fetching pages as needed."""
        after: str | None = None
        while True:
            page = self.list(limit=page_size, after=after, q=q)
            yield from page.data
            if not page.has_more or page.next_cursor is None:
                return
            after = page.next_cursor

    def retrieve(self, session_id: str) -> SessionInfo:
        """A session's fields (without its messages)."""
        detail = self.get(session_id, limit=1)
        return SessionInfo.model_validate(detail.model_dump(exclude={"messages"}))

    def get(self, session_id: str, *, limit: int = 200, after: int = 0) -> SessionDetail:
        """A session with up to ``limit`` messages after seq ``after``."""
        params = {"limit": limit, "after": after}
        return SessionDetail.model_validate(self._t.json("GET", _path(session_id), params=params))

    def update(
        self,
        session_id: str,
        *,
        title: str | None = _UNSET,
        model: str | None = _UNSET,
        system_prompt: str | None = _UNSET,
        params: dict[str, Any] | None = _UNSET,
        metadata: dict[str, Any] | None = _UNSET,
    ) -> SessionInfo:
        """Change the fields given: rename, switch model, change default parameters."""
        body = update_body(
            title=title, model=model, system_prompt=system_prompt, params=params, metadata=metadata
        )
        return SessionInfo.model_validate(self._t.json("PATCH", _path(session_id), body=body))

    def close(self, session_id: str) -> SessionInfo:
        """Close it: readable, no longer continued."""
        return SessionInfo.model_validate(self._t.json("POST", _path(session_id, "/close")))

    def delete(self, session_id: str) -> Deleted:
        """Delete it with its messages."""
        return Deleted.model_validate(self._t.json("DELETE", _path(session_id)))

    def messages(self, session_id: str, *, page_size: int = 1000) -> History:
        """Every stored message, oldest first (all pages)."""
        out: History = []
        after = 0
        while True:
            page = self.get(session_id, limit=page_size, after=after).messages
            out += page.data
            if not page.has_more or not page.data:
                return out
            after = page.data[-1].seq


class AsyncSessions(AsyncResource):
    def __init__(self, transport: AsyncTransport, chat: AsyncChat) -> None:
        super().__init__(transport)
        self._chat = chat

    async def create(
        self,
        *,
        model: str | None = None,
        title: str = "",
        system_prompt: str | None = None,
        params: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> AsyncSession:
        """See :meth:`Sessions.create` (``async with await client.sessions.create(…)``)."""
        body = _create_body(title, model, system_prompt, params, metadata)
        info = SessionInfo.model_validate(await self._t.json("POST", ROOT, body=body))
        return self._wrap(info)

    async def resume(self, session_id: str) -> AsyncSession:
        return self._wrap(await self.retrieve(session_id))

    def _wrap(self, info: SessionInfo) -> AsyncSession:
        from plugai_client.session import AsyncSession

        return AsyncSession(self, self._chat, info)

    async def list(
        self, *, limit: int = 20, after: str | None = None, q: str | None = None
    ) -> SessionPage:
        params = {"limit": limit, "after": after, "q": q}
        return SessionPage.model_validate(await self._t.json("GET", ROOT, params=params))

    async def iterate(
        self, *, q: str | None = None, page_size: int = 100
    ) -> AsyncIterator[SessionInfo]:
        after: str | None = None
        while True:
            page = await self.list(limit=page_size, after=after, q=q)
            for item in page.data:
                yield item
            if not page.has_more or page.next_cursor is None:
                return
            after = page.next_cursor

    async def retrieve(self, session_id: str) -> SessionInfo:
        detail = await self.get(session_id, limit=1)
        return SessionInfo.model_validate(detail.model_dump(exclude={"messages"}))

    async def get(self, session_id: str, *, limit: int = 200, after: int = 0) -> SessionDetail:
        params = {"limit": limit, "after": after}
        return SessionDetail.model_validate(
            await self._t.json("GET", _path(session_id), params=params)
        )

    async def update(
        self,
        session_id: str,
        *,
        title: str | None = _UNSET,
        model: str | None = _UNSET,
        system_prompt: str | None = _UNSET,
        params: dict[str, Any] | None = _UNSET,
        metadata: dict[str, Any] | None = _UNSET,
    ) -> SessionInfo:
        body = update_body(
            title=title, model=model, system_prompt=system_prompt, params=params, metadata=metadata
        )
        return SessionInfo.model_validate(await self._t.json("PATCH", _path(session_id), body=body))

    async def close(self, session_id: str) -> SessionInfo:
        return SessionInfo.model_validate(await self._t.json("POST", _path(session_id, "/close")))

    async def delete(self, session_id: str) -> Deleted:
        return Deleted.model_validate(await self._t.json("DELETE", _path(session_id)))

    async def messages(self, session_id: str, *, page_size: int = 1000) -> History:
        out: History = []
        after = 0
        while True:
            page = (await self.get(session_id, limit=page_size, after=after)).messages
            out += page.data
            if not page.has_more or not page.data:
                return out
            after = page.data[-1].seq
