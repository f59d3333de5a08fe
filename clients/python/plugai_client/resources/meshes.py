"""``client.meshes``: generate 3D models (GLB, OBJ or PLY) from a prompt or an image.

image = client.images.generate(model="stability/core", prompt="a chair").data[0]
mesh = client.meshes.generate(
    model="stability/stable-fast-3d", image=image.artifact_id
).data[0]
glb = client.artifacts.download(mesh.artifact_id, path="chair.glb")

job = client.meshes.submit(model="local/shap-e", prompt="a red chair")  # "async": true
mesh = client.jobs.wait(job.id, on_progress=print).meshes().data[0]
"""

from __future__ import annotations

from typing import Any, Literal

from plugai_client.resources._base import AsyncResource, SyncResource
from plugai_client.resources._inputs import ImageInput, image_input
from plugai_client.types.artifacts import Job
from plugai_client.types.generation import MeshesResponse

PATH = "/v1/3d/generations"
MeshFormat = Literal["glb", "obj", "ply"]


def _body(
    model: str,
    prompt: str | None,
    image: ImageInput | None,
    fmt: MeshFormat,
    params: dict[str, Any],
    *,
    submit: bool = False,
) -> dict[str, Any]:
    if prompt is None and image is None:
        raise ValueError("Give a prompt or an image.")
    body: dict[str, Any] = {"model": model, "format": fmt}
    if prompt is not None:
        body["prompt"] = prompt
    if image is not None:
        body["image"] = image_input(image)
    body.update(params)
    if submit:
        body["async"] = True
    return body


class Meshes(SyncResource):
    def generate(
        self,
        *,
        model: str,
        prompt: str | None = None,
        image: ImageInput | None = None,
        format: MeshFormat = "glb",
        **params: Any,
    ) -> MeshesResponse:
        """A mesh from ``prompt`` (text-to-3D) or ``image``: a file path or bytes (sent as
        a ``data:`` URL), an http(s) URL, or the id of one of your artifacts (``art_…``).
        ``params`` (``seed``, ``guidance_scale``, ``foreground_ratio``, …) go to the model;
        see ``client.models.parameters(model)``."""
        body = _body(model, prompt, image, format, params)
        return MeshesResponse.model_validate(self._t.json("POST", PATH, body=body))

    def submit(
        self,
        *,
        model: str,
        prompt: str | None = None,
        image: ImageInput | None = None,
        format: MeshFormat = "glb",
        **params: Any,
    ) -> Job:
        """Like :meth:`generate`, as a background job (``"async": true``): returns the
        queued job at once; follow it with ``client.jobs.wait(job.id)``."""
        body = _body(model, prompt, image, format, params, submit=True)
        return Job.model_validate(self._t.json("POST", PATH, body=body))


class AsyncMeshes(AsyncResource):
    async def generate(
        self,
        *,
        model: str,
        prompt: str | None = None,
        image: ImageInput | None = None,
        format: MeshFormat = "glb",
        **params: Any,
    ) -> MeshesResponse:
        """See :meth:`Meshes.generate`."""
        body = _body(model, prompt, image, format, params)
        return MeshesResponse.model_validate(await self._t.json("POST", PATH, body=body))

    async def submit(
        self,
        *,
        model: str,
        prompt: str | None = None,
        image: ImageInput | None = None,
        format: MeshFormat = "glb",
        **params: Any,
    ) -> Job:
        """See :meth:`Meshes.submit`."""
        body = _body(model, prompt, image, format, params, submit=True)
        return Job.model_validate(await self._t.json("POST", PATH, body=body))
