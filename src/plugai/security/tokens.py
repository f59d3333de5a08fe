"""API key tokens: random, shown once, stored only as a SHA-256 hash.

A token carries 256 bits of randomness, so a fast hash is safe here (no dictionary to
guess from) and keeps the key check cheap on the hot path.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "sk-plugai-"  # noqa: S105 - a public prefix, not a secret


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def display_prefix(token: str) -> str:
    """The part of a token that is safe to show in listings."""
    return token[: len(TOKEN_PREFIX) + 4]


def new_id(kind: str) -> str:
    return f"{kind}_{secrets.token_hex(10)}"
