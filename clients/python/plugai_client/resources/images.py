"""``client.images``: generate images from a prompt.

image = client.images.generate(model="openai/dall-e-3", prompt="a red cube").data[0]
png = image.data()  # bytes, when sent inline
"""

from __future__ import annotations

from typing import Any, Literal

from plugai_client.resources._base import AsyncResource, SyncResource
from plugai_client.types.images import ImagesResponse

PATH = "/v1/images/generations"
Format = Literal["url", "b64_json"]


def _body(model: str, prompt: str, n: int, fmt: Format, params: dict[str, Any]) -> dict[str, Any]:
    return {"model": model, "prompt": prompt, "n": n, "response_format": fmt, **params}


class Images(SyncResource):
    def generate(
        self, *, model: str, prompt: str, n: int = 1, response_format: Format = "url", **params: Any
    ) -> ImagesResponse:
        """``n`` images for ``prompt``; ``params`` such as ``size`` go to the model."""
        body = _body(model, prompt, n, response_format, params)
        return ImagesResponse.model_validate(self._t.json("POST", PATH, body=body))


class AsyncImages(AsyncResource):
    async def generate(
        self, *, model: str, prompt: str, n: int = 1, response_format: Format = "url", **params: Any
    ) -> ImagesResponse:
        """See :meth:`Images.generate`."""
        body = _body(model, prompt, n, response_format, params)
        return ImagesResponse.model_validate(await self._t.json("POST", PATH, body=body))
