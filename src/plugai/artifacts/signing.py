"""Signed artifact URLs: ``?expires=<unix time>&signature=<HMAC-SHA256>`` lets a browser
(``<img src>``) or a plain download fetch one artifact without an API key until it expires.

The key is derived from the master key, so URLs survive restarts and every worker of a
deployment accepts the others' URLs; rotating the master key invalidates them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlencode

Clock = Callable[[], datetime]


class UrlSigner:
    def __init__(self, secret: bytes, clock: Clock) -> None:
        if len(secret) < 16:
            raise ValueError("the URL signing key must be at least 16 bytes")
        self._secret = secret
        self._clock = clock

    def _mac(self, artifact_id: str, expires: int) -> str:
        message = f"plugai-artifact:v1:{artifact_id}:{expires}".encode()
        mac = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def sign(self, artifact_id: str, ttl: float) -> str:
        """The query string (no leading ``?``) that grants access for ``ttl`` seconds."""
        expires = int(self._clock().timestamp() + ttl)
        return urlencode({"expires": expires, "signature": self._mac(artifact_id, expires)})

    def verify(self, artifact_id: str, expires: str | int | None, signature: str | None) -> bool:
        if expires is None or not signature:
            return False
        try:
            when = int(expires)
        except (TypeError, ValueError):
            return False
        if when < self._clock().timestamp():
            return False
        return hmac.compare_digest(self._mac(artifact_id, when), signature)
