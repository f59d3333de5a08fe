"""Image generation (``POST /v1/images/generations``)."""

from __future__ import annotations

import base64

from plugai_client.types._base import Model


class Image(Model):
    b64_json: str | None = None
    url: str | None = None
    revised_prompt: str | None = None
    artifact_id: str | None = None  # the stored image (``client.artifacts``)

    def data(self) -> bytes | None:
        """The image bytes when they came inline (``b64_json`` or a ``data:`` URL)."""
        if self.b64_json:
            return base64.b64decode(self.b64_json)
        if self.url and self.url.startswith("data:") and ";base64," in self.url:
            return base64.b64decode(self.url.split(";base64,", 1)[1])
        return None


class ImagesResponse(Model):
    created: int
    data: list[Image]
