"""Keeps secrets out of logs: known secret values, key-like strings and secret-named fields."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[REDACTED]"
_SECRET_FIELD = re.compile(
    r"(authorization|api[_-]?key|secret|password|passphrase|credential|token$)", re.I
)
_SECRET_TEXT = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._~+/=\-]{8,}|hf_[A-Za-z0-9]{8,}|AIza[0-9A-Za-z_\-]{20,})"
)


class Redactor:
    """A structlog processor; ``add`` registers exact secret values seen at start-up."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._known: set[str] = set()
        for s in secrets:
            self.add(s)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 6:
            self._known.add(secret)

    def scrub_text(self, text: str) -> str:
        for secret in self._known:
            if secret in text:
                text = text.replace(secret, MASK)
        return _SECRET_TEXT.sub(MASK, text)

    def scrub(self, value: Any, key: str = "") -> Any:
        if key and _SECRET_FIELD.search(key) and value not in (None, "", False):
            return MASK
        if isinstance(value, str):
            return self.scrub_text(value)
        if isinstance(value, Mapping):
            return {k: self.scrub(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub(v) for v in value]
        return value

    # Values PlugAI itself produces in a fixed shape; no caller text reaches them.
    TRUSTED = frozenset(
        {
            "trace_id",
            "user_id",
            "method",
            "route",
            "status",
            "latency_ms",
            "ttft_ms",
            "level",
            "logger",
            "timestamp",
            "prompt_tokens",
            "completion_tokens",
        }
    )

    def __call__(self, _logger: Any, _method: str, event_dict: Any) -> Any:
        trusted = self.TRUSTED
        return {
            k: v if k in trusted else self.scrub(v, k) if k != "event" else self.scrub(v)
            for k, v in event_dict.items()
        }
