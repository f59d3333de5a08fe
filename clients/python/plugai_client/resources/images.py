"""``client.images``: generate images from a prompt, or from an image (image-to-image).

image = client.images.generate(model="openai/dall-e-3", prompt="a red cube").data[0]
png = image.data()  # bytes, when sent inline; else client.artifacts.download(image.url)

job = client.images.submit(model="stability/core", prompt="a fox")  # "async": true
result = client.jobs.wait(job.id).images()
"""

from __future__ import annotations

from typing import Any, Literal

from plugai_client.resources._base import AsyncResource, SyncResource
from plugai_client.resources._inputs import ImageInput, image_input
from plugai_client.types.artifacts import Job
from plugai_client.types.images import ImagesResponse

PATH = "/v1/images/generations"
Format = Literal["url", "b64_json"]


def _body(
    model: str,
    prompt: str,
    n: int,
    fmt: Format,
    image: ImageInput | None,
    params: dict[str, Any],
    *,
    submit: bool = False,
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "prompt": prompt, "n": n, "response_format": fmt}
    if image is not None:
        body["image"] = image_input(image)
    body.update(params)
    if submit:
        body["async"] = True
    return body


class Images(SyncResource):
    def generate(
        self,
        *,
        model: str,
        prompt: str,
        n: int = 1,
        response_format: Format = "url",
        image: ImageInput | None = None,
        **params: Any,
    ) -> ImagesResponse:
        """``n`` images for ``prompt``; ``params`` such as ``size`` go to the model.

        ``image`` starts from an image (image-to-image): a file path or bytes (sent as a
        ``data:`` URL), an http(s) URL, or the id of one of your artifacts (``art_…``)."""
        body = _body(model, prompt, n, response_format, image, params)
        return ImagesResponse.model_validate(self._t.json("POST", PATH, body=body))

    def submit(
        self,
        *,
        model: str,
        prompt: str,
        n: int = 1,
        response_format: Format = "url",
        image: ImageInput | None = None,
        **params: Any,
    ) -> Job:
        """Like :meth:`generate`, as a background job (``"async": true``): returns the
        queued job at once; follow it with ``client.jobs.wait(job.id)``."""
        body = _body(model, prompt, n, response_format, image, params, submit=True)
        return Job.model_validate(self._t.json("POST", PATH, body=body))


class AsyncImages(AsyncResource):
    async def generate(
        self,
        *,
        model: str,
        prompt: str,
        n: int = 1,
        response_format: Format = "url",
        image: ImageInput | None = None,
        **params: Any,
    ) -> ImagesResponse:
        """See :meth:`Images.generate`."""
        body = _body(model, prompt, n, response_format, image, params)
        return ImagesResponse.model_validate(await self._t.json("POST", PATH, body=body))

    async def submit(
        self,
        *,
        model: str,
        prompt: str,
        n: int = 1,
        response_format: Format = "url",
        image: ImageInput | None = None,
        **params: Any,
    ) -> Job:
        """See :meth:`Images.submit`."""
        body = _body(model, prompt, n, response_format, image, params, submit=True)
        return Job.model_validate(await self._t.json("POST", PATH, body=body))
