"""Image and 3D generation end to end: read the input image, run the model through the
gateway (provider or local engine), keep every output as the caller's artifact, and answer
with signed URLs (or the bytes). The same call serves the synchronous endpoints and the
``"async": true`` jobs, which pass a progress callback.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from plugai.artifacts.store import ArtifactStore
from plugai.core.chat import now
from plugai.core.errors import AuthenticationFailed, InvalidRequest
from plugai.core.images import ImageRequest, InputImage, Progress
from plugai.core.meshes import GeneratedFile, MeshFormat, MeshRequest
from plugai.generation.inputs import check_reference, read_image, sniff
from plugai.jobs.metrics import GenerationMetrics
from plugai.routing.gateway import CallContext, Gateway

UrlOf = Callable[[str], str]  # artifact id → signed absolute URL
# The request fields that are not the model's parameters.
IMAGE_FIELDS = ("model", "prompt", "n", "response_format", "image", "async")
MESH_FIELDS = ("model", "prompt", "image", "format", "async")


@dataclass(slots=True)
class _Steps:
    """Counts progress so that steps/s can be observed after the run."""

    forward: Progress | None
    steps: int = 0

    def __call__(self, step: int, steps: int) -> None:
        self.steps = max(self.steps, step)
        if self.forward is not None:
            self.forward(step, steps)


class GenerationService:
    def __init__(
        self, gateway: Gateway, artifacts: ArtifactStore, metrics: GenerationMetrics
    ) -> None:
        self.gateway = gateway
        self.artifacts = artifacts
        self.metrics = metrics

    def check(self, operation: Literal["images", "3d"], body: dict[str, Any]) -> None:
        """What can be refused before a job is queued: the model, its parameters and the
        form of the input image reference."""
        own = IMAGE_FIELDS if operation == "images" else MESH_FIELDS
        inputs = self.gateway.check(body["model"], operation, _params(body, own))
        if body.get("image") is not None:
            check_reference(str(body["image"]))
        if operation == "3d":
            model = body["model"]
            if body.get("image") is None and "text" not in inputs:
                raise InvalidRequest(
                    f"{model} builds a mesh from an image: give 'image'.", param="image"
                )
            if body.get("image") is not None and "image" not in inputs:
                raise InvalidRequest(
                    f"{model} builds a mesh from text: give 'prompt' only.", param="image"
                )
            if body.get("prompt") is None and "text" in inputs and "image" not in inputs:
                raise InvalidRequest(f"{model} needs a 'prompt'.", param="prompt")

    # --- images -------------------------------------------------------------------------
    async def images(
        self,
        body: dict[str, Any],
        ctx: CallContext,
        url_of: UrlOf,
        progress: Progress | None = None,
        job_id: str | None = None,
    ) -> dict[str, Any]:
        """``body`` is a validated ImageGenerationRequest dumped by alias (it outlives the
        HTTP request when run as a job)."""
        user_id = _user(ctx)
        model: str = body["model"]
        image = await self._input(body.get("image"), user_id)
        params = _params(body, IMAGE_FIELDS)
        staging = self.artifacts.staging_dir()
        steps = _Steps(progress)
        started = time.perf_counter()
        try:
            request = ImageRequest(
                model, body["prompt"], int(body.get("n") or 1), params, image, staging, steps
            )
            result = await self.gateway.generate_images(request, ctx)
            self.metrics.observe(model, "image", time.perf_counter() - started, steps.steps)
            data = []
            for item in result.images:
                entry: dict[str, Any] = {}
                if item.revised_prompt:
                    entry["revised_prompt"] = item.revised_prompt
                if item.path is None and item.b64_json is None:
                    entry["url"] = item.url  # an upstream that only gives a URL
                    data.append(entry)
                    continue
                raw = None if item.path else base64.b64decode(item.b64_json or "")
                meta = {**item.meta, "prompt": item.revised_prompt or body["prompt"]}
                stored = await self._keep(
                    user_id,
                    GeneratedFile(item.mime, item.path, raw, meta),
                    kind="image",
                    model=model,
                    job_id=job_id,
                )
                entry["artifact_id"] = stored.id
                if body.get("response_format") == "b64_json":
                    entry["b64_json"] = (
                        item.b64_json
                        or base64.b64encode(await self.artifacts.read_bytes(stored)).decode()
                    )
                else:
                    entry["url"] = url_of(stored.id)
                data.append(entry)
            return {"created": result.created or now(), "data": data}
        finally:
            self.artifacts.discard(staging)

    # --- 3D -----------------------------------------------------------------------------
    async def meshes(
        self,
        body: dict[str, Any],
        ctx: CallContext,
        url_of: UrlOf,
        progress: Progress | None = None,
        job_id: str | None = None,
    ) -> dict[str, Any]:
        user_id = _user(ctx)
        model: str = body["model"]
        image = await self._input(body.get("image"), user_id)
        fmt: MeshFormat = body.get("format") or "glb"
        params = _params(body, MESH_FIELDS)
        staging = self.artifacts.staging_dir()
        steps = _Steps(progress)
        started = time.perf_counter()
        try:
            request = MeshRequest(model, body.get("prompt"), image, fmt, params, staging, steps)
            result = await self.gateway.generate_3d(request, ctx)
            self.metrics.observe(model, "3d", time.perf_counter() - started, steps.steps)
            data = []
            for item in result.meshes:
                preview = None
                if item.preview is not None:
                    shown = await self._keep(
                        user_id, item.preview, kind="preview", model=model, job_id=job_id
                    )
                    preview = _ref(shown, url_of)
                item.mesh.meta.setdefault("format", fmt)
                if body.get("prompt"):
                    item.mesh.meta["prompt"] = body["prompt"]
                if preview is not None:
                    item.mesh.meta["preview_id"] = preview["artifact_id"]
                mesh = await self._keep(user_id, item.mesh, kind="mesh", model=model, job_id=job_id)
                meta = item.mesh.meta
                data.append(
                    {
                        **_ref(mesh, url_of),
                        "format": meta.get("format", fmt),
                        "vertices": meta.get("vertices"),
                        "faces": meta.get("faces"),
                        "preview": preview,
                    }
                )
            return {"created": result.created or now(), "model": model, "data": data}
        finally:
            self.artifacts.discard(staging)

    # --- helpers ------------------------------------------------------------------------
    async def _input(self, ref: Any, user_id: str) -> InputImage | None:
        if ref is None:
            return None
        return await read_image(str(ref), user_id, self.artifacts)

    async def _keep(
        self, user_id: str, file: GeneratedFile, *, kind: str, model: str, job_id: str | None
    ) -> Any:
        meta = dict(file.meta)
        if file.path is not None:
            return await self.artifacts.adopt(
                user_id,
                Path(file.path),
                kind=kind,
                mime=file.mime,
                meta=meta,
                model=model,
                job_id=job_id,
            )
        data = file.data or b""
        mime = file.mime
        if kind != "mesh" and mime.startswith("image/"):
            mime = sniff(data, "image")  # trust the bytes over the upstream's label
        return await self.artifacts.save_bytes(
            user_id, data, kind=kind, mime=mime, meta=meta, model=model, job_id=job_id
        )


def _user(ctx: CallContext) -> str:
    if ctx.principal is None:
        raise AuthenticationFailed("Generation needs an API key: artifacts have an owner.")
    return ctx.principal.user_id


def _params(body: dict[str, Any], own: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in own}


def _ref(stored: Any, url_of: UrlOf) -> dict[str, Any]:
    return {
        "artifact_id": stored.id,
        "url": url_of(stored.id),
        "mime_type": stored.mime,
        "bytes": stored.bytes,
    }
