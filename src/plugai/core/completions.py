"""Canonical legacy text-completion types (OpenAI ``/v1/completions`` shapes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict

from plugai.core.chat import Usage


class CompletionChoice(TypedDict):
    index: int
    text: str
    finish_reason: Literal["stop", "length", "content_filter"] | None
    logprobs: NotRequired[dict[str, Any] | None]


class TextCompletion(TypedDict):
    """A whole completion, or one streamed piece of it (same shape, ``text`` a delta)."""

    id: str
    object: Literal["text_completion"]
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: NotRequired[Usage | None]


@dataclass(slots=True)
class CompletionRequest:
    model: str
    prompt: str | list[str] | list[int] | list[list[int]]
    params: dict[str, Any] = field(default_factory=dict)
    include_usage: bool = False
