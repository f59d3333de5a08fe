"""``client.completions``: legacy text completions, whole or streamed.

print(client.completions.create(model="openai/gpt-3.5-turbo-instruct", prompt="1, 2,").text)
"""

from __future__ import annotations

from typing import Any, Literal, overload

from plugai_client.resources._base import AsyncResource, SyncResource
from plugai_client.streaming import AsyncStream, Stream
from plugai_client.types.completions import Completion

PATH = "/v1/completions"
Prompt = str | list[str] | list[int] | list[list[int]]


def _body(model: str, prompt: Prompt, stream: bool, params: dict[str, Any]) -> dict[str, Any]:
    return {"model": model, "prompt": prompt, **params} | ({"stream": True} if stream else {})


class Completions(SyncResource):
    @overload
    def create(
        self, *, model: str, prompt: Prompt, stream: Literal[False] = False, **params: Any
    ) -> Completion: ...
    @overload
    def create(
        self, *, model: str, prompt: Prompt, stream: Literal[True], **params: Any
    ) -> Stream[Completion]: ...
    def create(
        self, *, model: str, prompt: Prompt, stream: bool = False, **params: Any
    ) -> Completion | Stream[Completion]:
        """Continue ``prompt``; ``stream=True`` returns a :class:`Stream` of pieces."""
        body = _body(model, prompt, stream, params)
        if stream:
            response, events = self._t.events(PATH, body)
            return Stream(response, events, Completion.model_validate)
        return Completion.model_validate(self._t.json("POST", PATH, body=body))


class AsyncCompletions(AsyncResource):
    @overload
    async def create(
        self, *, model: str, prompt: Prompt, stream: Literal[False] = False, **params: Any
    ) -> Completion: ...
    @overload
    async def create(
        self, *, model: str, prompt: Prompt, stream: Literal[True], **params: Any
    ) -> AsyncStream[Completion]: ...
    async def create(
        self, *, model: str, prompt: Prompt, stream: bool = False, **params: Any
    ) -> Completion | AsyncStream[Completion]:
        """See :meth:`Completions.create`."""
        body = _body(model, prompt, stream, params)
        if stream:
            response, events = await self._t.events(PATH, body)
            return AsyncStream(response, events, Completion.model_validate)
        return Completion.model_validate(await self._t.json("POST", PATH, body=body))
