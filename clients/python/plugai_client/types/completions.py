"""Legacy text completions (``POST /v1/completions``)."""

from __future__ import annotations

from typing import Any, Literal

from plugai_client.types._base import Model
from plugai_client.types.chat import Usage


class CompletionChoice(Model):
    index: int
    text: str
    finish_reason: str | None = None
    logprobs: dict[str, Any] | None = None


class Completion(Model):
    """A whole completion or one streamed piece (same shape; ``text`` is then a delta)."""

    id: str
    object: Literal["text_completion"]
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None

    @property
    def text(self) -> str:
        return self.choices[0].text if self.choices else ""
