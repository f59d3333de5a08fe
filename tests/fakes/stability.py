"""Fake Stability AI Stable Image API: ``POST /v2beta/stable-image/generate/{core,ultra,sd3}``,
and the 3D API: ``POST /v2beta/3d/{stable-fast-3d,stable-point-aware-3d}`` (multipart with an
``image`` file; the answer is a binary glTF, ``model/gltf-binary``).

Multipart form in; ``Accept: application/json`` gives ``{"image", "finish_reason", "seed"}``,
anything else (the API's default is ``image/*``) gives the image bytes with ``finish-reason``
and ``seed`` headers.  Errors are ``{"id", "name", "errors": [...]}``.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any, ClassVar

from aiohttp import web

from .base import Error, FakeServer, dumps, status_text, tiny_png

__all__ = ["FakeStability", "stability_error_body"]

# A 1x1 lossless WebP (Modernizr's feature probe) and a minimal 1x1 JPEG.
TINY_WEBP = base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
TINY_JPEG = (
    base64.b64decode(
        "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////"
        "////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAA"
        "AAAAAP/aAAgBAQABPxA="
    )
    + b"\xff\xd9"
)

_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    402: "payment_required",
    403: "content_moderation",
    404: "not_found",
    413: "payload_too_large",
    422: "invalid_language",
    429: "rate_limit_exceeded",
    500: "internal_error",
}
_MESSAGES = {
    401: "authorization: invalid or missing API key",
    402: "You lack sufficient credits to make this request.",
    403: "Your request was flagged by our content moderation system, as a result your request "
    "was denied and you were not charged.",
    429: "You have exceeded the rate limit of 150 requests within a 10 second period.",
    500: "An unexpected server error has occurred, please try again later.",
}
_FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


def stability_error_body(err: Error) -> dict[str, Any]:
    """``{"id": "<hex>", "name": "<snake_case>", "errors": ["<message>"]}``."""
    name = err.type or _NAMES.get(err.status, "internal_error" if err.status >= 500 else "error")
    message = err.message or _MESSAGES.get(err.status) or status_text(err.status)
    return {"id": uuid.uuid4().hex, "name": name, "errors": [message]}


class FakeStability(FakeServer):
    """Fake ``api.stability.ai``; ``fake.url`` is the API root.

    Requires ``Authorization: Bearer <key>`` (any non-empty key unless ``api_key`` is set).
    ``Reply.finish_reason`` may be ``"CONTENT_FILTERED"``.
    """

    default_models: ClassVar[tuple[str, ...]] = ("core", "ultra", "sd3")

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_post("/v2beta/stable-image/generate/{model}", self.generate_image)
        app.router.add_post("/v2beta/3d/{model}", self.generate_mesh)

    async def _error(self, request: web.Request, err: Error) -> web.StreamResponse:
        return await self.send_error(
            request, err, stability_error_body, {"x-request-id": uuid.uuid4().hex}
        )

    async def not_found(self, request: web.Request) -> web.StreamResponse:
        return await self._error(request, Error(404, f"{request.path}: not found"))

    async def generate_image(self, request: web.Request) -> web.StreamResponse:
        rec = await self.record(request)
        model = request.match_info["model"]
        if model not in ("core", "ultra", "sd3"):
            return await self.not_found(request)
        auth = request.headers.get("Authorization", "")
        key = auth[7:].strip() if auth.startswith("Bearer ") else ""
        if not key or (self.api_key is not None and key != self.api_key):
            return await self._error(request, Error(401))
        if rec.form is None or request.content_type != "multipart/form-data":
            msg = "content-type: must be multipart/form-data"
            return await self._error(request, Error(400, msg))
        prompt = rec.form.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return await self._error(request, Error(400, "prompt: cannot be empty"))
        fmt = str(rec.form.get("output_format") or "png")
        if fmt not in _FORMATS:
            msg = "output_format: must be one of png, jpeg, webp"
            return await self._error(request, Error(400, msg))
        behaviour = self.next_behaviour(request.path)
        if isinstance(behaviour, Error):
            return await self._error(request, behaviour)
        reply = self.reply_for(behaviour)
        raw_seed = rec.form.get("seed")
        seed = int(raw_seed) if isinstance(raw_seed, str) and raw_seed.isdigit() else 0
        if seed == 0:
            seed = int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16) % 4294967294 + 1
        image = {"png": tiny_png(f"{prompt}#{seed}"), "jpeg": TINY_JPEG, "webp": TINY_WEBP}[fmt]
        finish = reply.finish_reason or "SUCCESS"
        headers = {"x-request-id": uuid.uuid4().hex}
        if request.headers.get("Accept", "").startswith("application/json"):
            body = {
                "image": base64.b64encode(image).decode(),
                "finish_reason": finish,
                "seed": seed,
            }
            return await self.send_json(
                request,
                reply,
                dumps(body).encode(),
                headers=headers,
                content_type=f"application/json; type={_FORMATS[fmt]}",
            )
        headers.update({"finish-reason": finish, "seed": str(seed)})
        return await self.send_json(
            request, reply, image, headers=headers, content_type=_FORMATS[fmt]
        )

    async def generate_mesh(self, request: web.Request) -> web.StreamResponse:
        """Stable Fast 3D / SPAR3D: the image must be a real image file; the answer is a GLB
        box whose size follows ``foreground_ratio`` (so tests can see it arrived)."""
        model = request.match_info["model"]
        if model not in ("stable-fast-3d", "stable-point-aware-3d"):
            return await self.not_found(request)
        rec = await self.record(request)
        auth = request.headers.get("Authorization", "")
        key = auth[7:].strip() if auth.startswith("Bearer ") else ""
        if not key or (self.api_key is not None and key != self.api_key):
            return await self._error(request, Error(401))
        if rec.form is None or request.content_type != "multipart/form-data":
            msg = "content-type: must be multipart/form-data"
            return await self._error(request, Error(400, msg))
        image = rec.form.get("image")
        if not isinstance(image, bytes):
            return await self._error(request, Error(400, "image: required"))
        if not image.startswith((b"\x89PNG", b"\xff\xd8\xff", b"RIFF")):
            return await self._error(request, Error(400, "image: unsupported format"))
        texture = str(rec.form.get("texture_resolution") or "1024")
        if texture not in ("512", "1024", "2048"):
            msg = "texture_resolution: must be one of 512, 1024, 2048"
            return await self._error(request, Error(400, msg))
        behaviour = self.next_behaviour(request.path)
        if isinstance(behaviour, Error):
            return await self._error(request, behaviour)
        reply = self.reply_for(behaviour)
        ratio = float(str(rec.form.get("foreground_ratio") or "0.85"))
        glb = _box_glb(ratio)
        return await self.send_json(
            request,
            reply,
            glb,
            headers={"x-request-id": uuid.uuid4().hex},
            content_type="model/gltf-binary",
        )


def _box_glb(extent: float) -> bytes:
    import trimesh

    data = trimesh.creation.box(extents=(extent, extent, extent)).export(file_type="glb")
    return bytes(data)
