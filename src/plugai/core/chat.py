"""Canonical chat types.

The canonical shapes are the OpenAI chat-completion shapes, as typed dicts: it is the
lingua franca that most upstreams (OpenAI and every compatible server, vLLM, llama.cpp,
Ollama's /v1) already speak, so the most common path relays a chunk with no conversion,
and other adapters convert to it once. Typed dicts cost nothing per chunk, which matters
on the streaming hot path.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]


class FunctionCall(TypedDict):
    name: str
    arguments: str


class ToolCall(TypedDict):
    id: str
    type: Literal["function"]
    function: FunctionCall


class FunctionCallDelta(TypedDict, total=False):
    name: str
    arguments: str


class ToolCallDelta(TypedDict):
    index: int
    id: NotRequired[str]
    type: NotRequired[Literal["function"]]
    function: NotRequired[FunctionCallDelta]


class Delta(TypedDict, total=False):
    role: Literal["assistant"]
    content: str | None
    refusal: str | None
    tool_calls: list[ToolCallDelta]


class ChunkChoice(TypedDict):
    index: int
    delta: Delta
    finish_reason: FinishReason | None
    logprobs: NotRequired[dict[str, Any] | None]


class Usage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatChunk(TypedDict):
    """One ``chat.completion.chunk``; the last one may carry ``usage`` and no choices."""

    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: NotRequired[Usage | None]
    system_fingerprint: NotRequired[str | None]


class AssistantMessage(TypedDict):
    role: Literal["assistant"]
    content: str | None
    refusal: NotRequired[str | None]
    tool_calls: NotRequired[list[ToolCall]]


class Choice(TypedDict):
    index: int
    message: AssistantMessage
    finish_reason: FinishReason | None
    logprobs: NotRequired[dict[str, Any] | None]


class ChatCompletion(TypedDict):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: NotRequired[Usage | None]
    system_fingerprint: NotRequired[str | None]


@dataclass(slots=True)
class ChatRequest:
    """What an adapter receives. ``messages`` are OpenAI-shaped (content as text or parts,
    ``tool_calls``, ``tool_call_id``); ``params`` are the validated OpenAI-named parameters
    the caller set (``temperature``, ``max_tokens``, ``tools``, ``response_format``, …)."""

    model: str
    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    include_usage: bool = False


def usage(prompt: int, completion: int) -> Usage:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def now() -> int:
    return int(time.time())


def chunk(
    id_: str,
    model: str,
    created: int,
    *,
    index: int = 0,
    delta: Delta | None = None,
    finish_reason: FinishReason | None = None,
) -> ChatChunk:
    return {
        "id": id_,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": index, "delta": delta or {}, "finish_reason": finish_reason}],
    }


class ChoiceAccumulator:
    """Folds one choice's deltas into a message (tool-call pieces joined by index)."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.content: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: dict[int, ToolCall] = {}
        self.finish_reason: FinishReason | None = None
        self.logprobs: list[dict[str, Any]] = []

    def add(self, choice: ChunkChoice) -> None:
        delta = choice.get("delta") or {}
        if delta.get("content"):
            self.content.append(delta["content"] or "")
        if delta.get("refusal"):
            self.refusal.append(delta["refusal"] or "")
        for tc in delta.get("tool_calls") or []:
            slot = self.tool_calls.setdefault(
                tc["index"],
                {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
            )
            if tc.get("id"):
                slot["id"] = tc["id"]
            fn = tc.get("function") or {}
            slot["function"]["name"] += fn.get("name") or ""
            slot["function"]["arguments"] += fn.get("arguments") or ""
        if choice.get("finish_reason"):
            self.finish_reason = choice["finish_reason"]
        lp = choice.get("logprobs")
        if lp:
            self.logprobs.append(lp)

    def message(self) -> AssistantMessage:
        msg: AssistantMessage = {"role": "assistant", "content": "".join(self.content) or None}
        if self.refusal:
            msg["refusal"] = "".join(self.refusal)
        if self.tool_calls:
            msg["tool_calls"] = [self.tool_calls[i] for i in sorted(self.tool_calls)]
        return msg

    def choice(self) -> Choice:
        out: Choice = {
            "index": self.index,
            "message": self.message(),
            "finish_reason": self.finish_reason,
        }
        if self.logprobs:
            content = [t for lp in self.logprobs for t in (lp.get("content") or [])]
            out["logprobs"] = {"content": content}
        return out


async def collect(chunks: AsyncIterator[ChatChunk]) -> ChatCompletion:
    """A whole completion from a stream of chunks (for adapters whose upstream only streams)."""
    first: ChatChunk | None = None
    choices: dict[int, ChoiceAccumulator] = {}
    final_usage: Usage | None = None
    async for c in chunks:
        first = first or c
        for ch in c["choices"]:
            choices.setdefault(ch["index"], ChoiceAccumulator(ch["index"])).add(ch)
        if c.get("usage"):
            final_usage = c["usage"]
    if first is None:
        raise ValueError("empty stream")
    result: ChatCompletion = {
        "id": first["id"],
        "object": "chat.completion",
        "created": first["created"],
        "model": first["model"],
        "choices": [choices[i].choice() for i in sorted(choices)],
    }
    if final_usage is not None:
        result["usage"] = final_usage
    return result
