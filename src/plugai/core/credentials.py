"""The key an adapter uses for one request: the user's own, else the operator's."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Credentials:
    api_key: str | None = None
    source: str = "operator"  # "user" when the caller's own key is used

    def __repr__(self) -> str:  # never print the key
        return f"Credentials(source={self.source!r}, api_key={'***' if self.api_key else None})"
