"""Chat completions (``POST /v1/chat/completions``), whole and streamed."""

from __future__ import annotations

from typing import Any, Literal

from plugai_client.types._base import Model


class Usage(Model):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class FunctionCall(Model):
    name: str
    arguments: str


class ToolCall(Model):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class AssistantMessage(Model):
    role: Literal["assistant"]
    content: str | None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None


class Choice(Model):
    index: int
    message: AssistantMessage
    finish_reason: str | None
    logprobs: dict[str, Any] | None = None


class ChatCompletion(Model):
    """A whole answer; ``completion.text`` is the first choice's content."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: Usage | None = None

    @property
    def text(self) -> str:
        return (self.choices[0].message.content or "") if self.choices else ""


class FunctionCallDelta(Model):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(Model):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: FunctionCallDelta | None = None


class Delta(Model):
    role: Literal["assistant"] | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(Model):
    index: int
    delta: Delta
    finish_reason: str | None = None
    logprobs: dict[str, Any] | None = None


class ChatCompletionChunk(Model):
    """One streamed piece; ``chunk.text`` is the first choice's content delta."""

    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None

    @property
    def text(self) -> str:
        return (self.choices[0].delta.content or "") if self.choices else ""
