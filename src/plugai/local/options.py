"""Parameter schemas of local models: the samplers llama.cpp and transformers share, plus
``keep_alive`` (how long the model stays loaded after this request, Ollama-style)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from plugai.core.parameters import Stop
from plugai.settings import parse_duration

KEEP_ALIVE_DOC = (
    "How long the model stays loaded after this request (seconds or 30s/5m/1h; -1 keeps it, "
    "0 unloads at once). The server's local.keep_alive is the most a request gets."
)


class _Common(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keep_alive: float | str | None = Field(None, description=KEEP_ALIVE_DOC)


class _Sampling(_Common):
    temperature: float | None = Field(0.8, ge=0, le=2, description="Sampling temperature.")
    top_p: float | None = Field(0.95, ge=0, le=1, description="Nucleus sampling mass.")
    top_k: int | None = Field(40, ge=0, description="Sample from the k likeliest tokens (0: all).")
    min_p: float | None = Field(0.05, ge=0, le=1, description="Drop tokens below p times the best.")
    repeat_penalty: float | None = Field(1.0, ge=0, le=2, description="Penalty for repeats.")
    seed: int | None = Field(None, description="Deterministic sampling.")
    max_tokens: int | None = Field(None, ge=1, description="Most tokens to generate.")
    stop: Stop | None = Field(None, description="Up to 4 sequences where generation stops.")
    n: int | None = Field(1, ge=1, le=1, description="Local models generate one choice.")


class LocalChatOptions(_Sampling):
    model_config = ConfigDict(extra="forbid", title="LocalChatParameters")

    max_completion_tokens: int | None = Field(None, ge=1, description="Most tokens to generate.")
    presence_penalty: float | None = Field(0.0, ge=-2, le=2, description="Penalty for new topics.")
    frequency_penalty: float | None = Field(0.0, ge=-2, le=2, description="Penalty for repeats.")
    logit_bias: dict[str, float] | None = Field(None, description="Token id → bias (-100..100).")
    response_format: dict[str, Any] | None = Field(
        None, description="text, json_object or json_schema (grammar-constrained)."
    )


class PlainChatOptions(_Sampling):
    """For engines without constrained decoding."""

    model_config = ConfigDict(extra="forbid", title="LocalChatParameters")

    max_completion_tokens: int | None = Field(None, ge=1, description="Most tokens to generate.")


class LocalCompletionOptions(_Sampling):
    model_config = ConfigDict(extra="forbid", title="LocalCompletionParameters")

    max_tokens: int | None = Field(16, ge=1, description="Most tokens to generate.")


class LocalEmbeddingOptions(_Common):
    model_config = ConfigDict(extra="forbid", title="LocalEmbeddingParameters")

    user: str | None = None


def keep_alive_seconds(value: Any) -> float | None:
    """A request's ``keep_alive`` in seconds (``None`` when not given)."""
    if value is None:
        return None
    seconds = float(parse_duration(value))
    return -1.0 if seconds < 0 else seconds


def max_tokens(params: dict[str, Any], default: int) -> int:
    value = params.get("max_completion_tokens") or params.get("max_tokens")
    return int(value) if value else default


def stops(params: dict[str, Any]) -> list[str]:
    stop = params.get("stop")
    if not stop:
        return []
    return [stop] if isinstance(stop, str) else list(stop)
