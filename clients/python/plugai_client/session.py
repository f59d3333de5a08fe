"""A stored conversation as an object: send turns, read the history, rename, close.

session = client.sessions.create(model="openai/gpt-4o-mini", title="notes")
with session:                                  # closes the session on exit
    session.send("Remember: the code is 42.")
    print(session.send("What is the code?").text)
    for chunk in session.send("Again, streamed", stream=True):
        print(chunk.text, end="")
print([m.content for m in session.history()])
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, overload

from plugai_client.resources._base import Messages
from plugai_client.streaming import AsyncStream, Stream
from plugai_client.types.chat import ChatCompletion, ChatCompletionChunk
from plugai_client.types.common import Deleted
from plugai_client.types.sessions import SessionInfo, SessionMessage

if TYPE_CHECKING:
    from plugai_client.resources.chat import AsyncChat, Chat
    from plugai_client.resources.sessions import AsyncSessions, Sessions


def _model(info: SessionInfo, model: str | None) -> str:
    chosen = model or info.model
    if not chosen:
        raise ValueError(
            f"Session {info.id} has no default model: pass model=… to send() or set one "
            "with update(model=…)."
        )
    return chosen


class Session:
    """A session of one client; ``info`` holds its fields as last seen."""

    def __init__(self, sessions: Sessions, chat: Chat, info: SessionInfo) -> None:
        self._sessions = sessions
        self._chat = chat
        self.info = info
        self._deleted = False

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def model(self) -> str | None:
        return self.info.model

    def __repr__(self) -> str:
        return f"Session(id={self.id!r}, title={self.info.title!r}, model={self.model!r})"

    @overload
    def send(
        self,
        messages: Messages,
        *,
        stream: Literal[False] = False,
        model: str | None = None,
        **params: Any,
    ) -> ChatCompletion: ...
    @overload
    def send(
        self, messages: Messages, *, stream: Literal[True], model: str | None = None, **params: Any
    ) -> Stream[ChatCompletionChunk]: ...
    def send(
        self, messages: Messages, *, stream: bool = False, model: str | None = None, **params: Any
    ) -> ChatCompletion | Stream[ChatCompletionChunk]:
        """Continue the conversation: the server prepends the stored history and stores the
        new messages and the answer. ``model`` overrides the session's default for this
        turn; ``params`` are the model's parameters."""
        chosen = _model(self.info, model)
        if stream:
            return self._chat.create(
                model=chosen, messages=messages, stream=True, session_id=self.id, **params
            )
        answer: ChatCompletion = self._chat.create(
            model=chosen, messages=messages, session_id=self.id, **params
        )
        return answer

    def history(self) -> list[SessionMessage]:
        """Every stored message, oldest first."""
        return self._sessions.messages(self.id)

    def refresh(self) -> SessionInfo:
        self.info = self._sessions.retrieve(self.id)
        return self.info

    def rename(self, title: str) -> SessionInfo:
        self.info = self._sessions.update(self.id, title=title)
        return self.info

    def update(self, **fields: Any) -> SessionInfo:
        """Change ``title``, ``model``, ``system_prompt``, ``params`` or ``metadata``."""
        self.info = self._sessions.update(self.id, **fields)
        return self.info

    def close(self) -> SessionInfo:
        """Close it (read-only afterwards); closing twice is harmless."""
        if not self.info.closed and not self._deleted:
            self.info = self._sessions.close(self.id)
        return self.info

    def delete(self) -> Deleted:
        """Delete it with its messages (leaving a ``with`` block then closes nothing)."""
        deleted = self._sessions.delete(self.id)
        self._deleted = True
        return deleted

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncSession:
    """The asyncio twin of :class:`Session` (``async with``, ``await session.send(…)``)."""

    def __init__(self, sessions: AsyncSessions, chat: AsyncChat, info: SessionInfo) -> None:
        self._sessions = sessions
        self._chat = chat
        self.info = info
        self._deleted = False

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def model(self) -> str | None:
        return self.info.model

    def __repr__(self) -> str:
        return f"AsyncSession(id={self.id!r}, title={self.info.title!r}, model={self.model!r})"

    @overload
    async def send(
        self,
        messages: Messages,
        *,
        stream: Literal[False] = False,
        model: str | None = None,
        **params: Any,
    ) -> ChatCompletion: ...
    @overload
    async def send(
        self, messages: Messages, *, stream: Literal[True], model: str | None = None, **params: Any
    ) -> AsyncStream[ChatCompletionChunk]: ...
    async def send(
        self, messages: Messages, *, stream: bool = False, model: str | None = None, **params: Any
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        """See :meth:`Session.send`."""
        chosen = _model(self.info, model)
        if stream:
            return await self._chat.create(
                model=chosen, messages=messages, stream=True, session_id=self.id, **params
            )
        answer: ChatCompletion = await self._chat.create(
            model=chosen, messages=messages, session_id=self.id, **params
        )
        return answer

    async def history(self) -> list[SessionMessage]:
        return await self._sessions.messages(self.id)

    async def refresh(self) -> SessionInfo:
        self.info = await self._sessions.retrieve(self.id)
        return self.info

    async def rename(self, title: str) -> SessionInfo:
        self.info = await self._sessions.update(self.id, title=title)
        return self.info

    async def update(self, **fields: Any) -> SessionInfo:
        self.info = await self._sessions.update(self.id, **fields)
        return self.info

    async def close(self) -> SessionInfo:
        if not self.info.closed and not self._deleted:
            self.info = await self._sessions.close(self.id)
        return self.info

    async def delete(self) -> Deleted:
        deleted = await self._sessions.delete(self.id)
        self._deleted = True
        return deleted

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
