"""``client.chat``: chat completions, whole or streamed.

answer = client.chat.create(model="openai/gpt-4o-mini", messages="Say hi")
print(answer.text)
for chunk in client.chat.create(model="openai/gpt-4o-mini", messages="Hi", stream=True):
    print(chunk.text, end="")
"""

from __future__ import annotations

from typing import Any, Literal, overload

from plugai_client.resources._base import AsyncResource, Messages, SyncResource, as_messages
from plugai_client.streaming import AsyncStream, Stream
from plugai_client.types.chat import ChatCompletion, ChatCompletionChunk

PATH = "/v1/chat/completions"


def _body(
    model: str, messages: Messages, stream: bool, session_id: str | None, params: dict[str, Any]
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": as_messages(messages), **params}
    if stream:
        body["stream"] = True
    if session_id is not None:
        body["session_id"] = session_id
    return body


class Chat(SyncResource):
    @overload
    def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: Literal[False] = False,
        session_id: str | None = None,
        **params: Any,
    ) -> ChatCompletion: ...
    @overload
    def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: Literal[True],
        session_id: str | None = None,
        **params: Any,
    ) -> Stream[ChatCompletionChunk]: ...
    def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: bool = False,
        session_id: str | None = None,
        **params: Any,
    ) -> ChatCompletion | Stream[ChatCompletionChunk]:
        """Answer ``messages`` (a string is one user message) with ``model``.

        ``params`` are the model's parameters (``temperature``, ``max_tokens``, ``tools``…;
        see ``client.models.parameters(model)``). ``session_id`` continues a stored session
        (prefer :meth:`Session.send`). ``stream=True`` returns a :class:`Stream` of chunks.
        """
        body = _body(model, messages, stream, session_id, params)
        if stream:
            response, events = self._t.events(PATH, body)
            return Stream(response, events, ChatCompletionChunk.model_validate)
        return ChatCompletion.model_validate(self._t.json("POST", PATH, body=body))


class AsyncChat(AsyncResource):
    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: Literal[False] = False,
        session_id: str | None = None,
        **params: Any,
    ) -> ChatCompletion: ...
    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: Literal[True],
        session_id: str | None = None,
        **params: Any,
    ) -> AsyncStream[ChatCompletionChunk]: ...
    async def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: bool = False,
        session_id: str | None = None,
        **params: Any,
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        """See :meth:`Chat.create`; a stream is iterated with ``async for``."""
        body = _body(model, messages, stream, session_id, params)
        if stream:
            response, events = await self._t.events(PATH, body)
            return AsyncStream(response, events, ChatCompletionChunk.model_validate)
        return ChatCompletion.model_validate(await self._t.json("POST", PATH, body=body))
