"""Stability AI's v2beta API: text-to-image with Core, Ultra and SD3.x, and image-to-3D
with Stable Fast 3D and SPAR3D (``/v2beta/3d/…``: an image in, a GLB file out).

Stability answers one image per call as a multipart-form request, so ``n`` images are
``n`` concurrent calls, and OpenAI's ``size`` becomes the nearest aspect ratio it offers.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine, Sequence
from typing import Any, Literal, TypeVar, get_args

import aiohttp
from pydantic import BaseModel, ConfigDict, Field

from plugai.core.credentials import Credentials
from plugai.core.errors import (
    InvalidRequest,
    ModelNotFound,
    ProviderError,
    UpstreamAuthError,
    UpstreamProtocolError,
)
from plugai.core.images import GeneratedImage, ImageRequest, ImageResult
from plugai.core.meshes import GeneratedMesh, MeshRequest, MeshResult
from plugai.core.models import Capabilities, Modality, ModelCard
from plugai.providers._mesh_files import mesh_file
from plugai.providers.base import Operation, Provider
from plugai.providers.http import HttpUpstream, Timeouts
from plugai.settings import ProviderSettings

T = TypeVar("T")

AspectRatio = Literal["21:9", "16:9", "3:2", "5:4", "1:1", "4:5", "2:3", "9:16", "9:21"]
StylePreset = Literal[
    "3d-model",
    "analog-film",
    "anime",
    "cinematic",
    "comic-book",
    "digital-art",
    "enhance",
    "fantasy-art",
    "isometric",
    "line-art",
    "low-poly",
    "modeling-compound",
    "neon-punk",
    "origami",
    "photographic",
    "pixel-art",
    "tile-texture",
]
DEFAULT_BASE_URL = "https://api.stability.ai"
SEED_MAX = 4294967294
MODELS = ("core", "ultra", "sd3.5-large", "sd3.5-large-turbo", "sd3.5-medium")
MESH_MODELS = ("stable-fast-3d", "stable-point-aware-3d")
_GENERATE = "/v2beta/stable-image/generate"
_3D = "/v2beta/3d"
_RATIO_LOGS: dict[str, float] = {
    ratio: math.log(int(w) / int(h))
    for ratio in get_args(AspectRatio)
    for w, h in [ratio.split(":")]
}


class StabilityOptions(BaseModel):
    """Core and Ultra parameters (Stability's names; ``size`` kept for OpenAI clients)."""

    model_config = ConfigDict(extra="forbid", title="StabilityImageParameters")

    size: str | None = Field(
        None,
        pattern=r"^[1-9]\d{1,4}x[1-9]\d{1,4}$|^auto$",
        description="WxH, sent as the nearest supported aspect_ratio.",
    )
    aspect_ratio: AspectRatio | None = Field(None, description="Wins over size; default 1:1.")
    negative_prompt: str | None = Field(None, max_length=10000, description="What to avoid.")
    seed: int | None = Field(
        None, ge=0, le=SEED_MAX, description="0 or absent: random; image i of n uses seed + i."
    )
    style_preset: StylePreset | None = Field(None, description="Guides the style.")
    output_format: Literal["png", "jpeg", "webp"] | None = Field(None, description="Default png.")


class SD3Options(StabilityOptions):
    """SD3.x parameters: no webp, plus the prompt-adherence scale."""

    model_config = ConfigDict(extra="forbid", title="StabilitySD3Parameters")

    output_format: Literal["png", "jpeg"] | None = Field(None, description="Default png.")
    cfg_scale: float | None = Field(None, ge=1, le=10, description="How strictly to follow.")


TextureResolution = Literal["512", "1024", "2048"]


class FastMeshOptions(BaseModel):
    """Stable Fast 3D: one image → a textured GLB (PlugAI converts to OBJ/PLY)."""

    model_config = ConfigDict(extra="forbid", title="StableFast3DParameters")

    texture_resolution: TextureResolution | None = Field(None, description="Default 1024.")
    foreground_ratio: float | None = Field(
        None, ge=0.1, le=1, description="How much of the frame the object fills (0.85)."
    )
    remesh: Literal["none", "triangle", "quad"] | None = Field(None, description="Default none.")
    vertex_count: int | None = Field(
        None, ge=-1, le=20000, description="Target vertices (-1: no reduction)."
    )


class PointAwareMeshOptions(BaseModel):
    """SPAR3D (stable-point-aware-3d): point-cloud guided image → GLB."""

    model_config = ConfigDict(extra="forbid", title="StablePointAware3DParameters")

    texture_resolution: TextureResolution | None = Field(None, description="Default 1024.")
    foreground_ratio: float | None = Field(
        None, ge=1, le=2, description="Padding around the object (1.3)."
    )
    remesh: Literal["none", "triangle", "quad"] | None = Field(None, description="Default none.")
    target_type: Literal["none", "vertex", "face"] | None = Field(
        None, description="What target_count counts."
    )
    target_count: int | None = Field(None, ge=100, le=20000, description="Default 1000.")
    guidance_scale: float | None = Field(None, ge=1, le=10, description="Default 3.")
    seed: int | None = Field(None, ge=0, le=SEED_MAX, description="0: random.")


def aspect_ratio_for(size: str) -> str | None:
    """The supported ratio nearest to ``WxH`` on a log scale (None for "auto": upstream's
    default), so 1792x1024 → 16:9 and 1024x1536 → 2:3."""
    if size == "auto":
        return None
    width, _, height = size.partition("x")
    target = math.log(int(width) / int(height))
    return min(_RATIO_LOGS, key=lambda ratio: abs(_RATIO_LOGS[ratio] - target))


def error_message(body: Any) -> str | None:
    """Stability: ``{"id", "name", "errors": [...]}``; the name says what kind of refusal."""
    if not isinstance(body, dict):
        return None
    errors, name = body.get("errors"), body.get("name")
    if isinstance(errors, list) and errors:
        text = "; ".join(str(e) for e in errors)
        return f"{name}: {text}" if isinstance(name, str) and name else text
    for key in ("message", "detail"):
        if isinstance(body.get(key), str):
            return str(body[key])
    return None


def _content_filtered(provider: str, why: str) -> InvalidRequest:
    return InvalidRequest(f"{provider}: {why}", param="prompt", code="content_filter")


async def _all(calls: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """Every result, or the first failure with the other calls cancelled."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(call) for call in calls]
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0]  # noqa: B904 - the call's own error, already mapped
    return [task.result() for task in tasks]


class StabilityProvider(Provider):
    adapter = "stability"
    default_base_url = DEFAULT_BASE_URL

    def __init__(self, config: ProviderSettings) -> None:
        super().__init__(config)
        self.http = HttpUpstream(
            self.name,
            config.base_url or DEFAULT_BASE_URL,
            timeouts=Timeouts(config.connect_timeout, config.read_timeout, config.timeout),
            max_connections=config.max_connections,
            headers=config.headers,
            message_of=error_message,
        )

    # --- declarations -------------------------------------------------------------------
    def capabilities(self, model: str) -> Capabilities:
        if _short(model) in MESH_MODELS:
            return Capabilities(chat=False, stream=False, meshes=True)
        return Capabilities(chat=False, stream=False, images=True)

    def options(self, model: str, operation: Operation = "images") -> type[BaseModel]:
        name = _short(model)
        if operation == "3d" and name in MESH_MODELS:
            return FastMeshOptions if name == "stable-fast-3d" else PointAwareMeshOptions
        if operation != "images" or name in MESH_MODELS:
            return super().options(model, operation)
        return _options_of(model)

    def card(self, model: str) -> ModelCard:
        card = super().card(model)
        if _short(model) in MESH_MODELS:
            card.input_modalities = [Modality.IMAGE]
            card.output_modalities = [Modality.MESH]
        else:
            card.output_modalities = [Modality.IMAGE]
        return card

    async def list_models(self, creds: Credentials) -> list[ModelCard]:
        """The known models: Stability has no listing endpoint."""
        return [self.card(model) for model in (*MODELS, *MESH_MODELS)]

    # --- plumbing -----------------------------------------------------------------------
    def _endpoint(self, model: str) -> tuple[str, str | None]:
        """The path for ``model`` and the ``model`` form field the SD3 endpoint wants."""
        name = _short(model)
        if name in ("core", "ultra"):
            return f"{_GENERATE}/{name}", None
        if name.startswith("sd3"):
            return f"{_GENERATE}/sd3", None if name == "sd3" else name
        raise ModelNotFound(
            f"{self.name}: unknown model '{model}' (core, ultra or sd3.*).", param="model"
        )

    def _headers(self, creds: Credentials) -> dict[str, str]:
        if not creds.api_key:
            raise UpstreamAuthError(f"{self.name}: no API key configured for this provider")
        return {"Authorization": f"Bearer {creds.api_key}", "Accept": "application/json"}

    async def _one(
        self, path: str, fields: dict[str, str], headers: dict[str, str]
    ) -> GeneratedImage:
        form = aiohttp.FormData(fields, default_to_multipart=True)  # one use: built per call
        try:
            data = await self.http.json("POST", path, data=form, headers=headers)
        except UpstreamAuthError as exc:  # Stability refuses flagged prompts with a 403
            if "content_moderation" in exc.message:
                raise _content_filtered(self.name, exc.message.split(": ", 1)[-1]) from exc
            raise
        if not isinstance(data, dict):
            raise UpstreamProtocolError(f"{self.name}: image answer is not an object")
        finish = data.get("finish_reason")
        if finish == "CONTENT_FILTERED":
            raise _content_filtered(self.name, "the image was withheld by the content filter.")
        if finish not in (None, "SUCCESS"):
            raise ProviderError(f"{self.name}: generation finished with {finish}")
        image = data.get("image")
        if not isinstance(image, str) or not image:
            raise UpstreamProtocolError(f"{self.name}: image answer without an image")
        return GeneratedImage(b64_json=image)

    # --- operations ---------------------------------------------------------------------
    async def generate_images(self, request: ImageRequest, creds: Credentials) -> ImageResult:
        path, model = self._endpoint(request.model)
        opts = _options_of(request.model).model_validate(request.params)
        headers = self._headers(creds)
        base = _form_fields(request.prompt, model, opts)
        seed = opts.seed or 0
        calls = []
        for i in range(max(request.n, 1)):
            fields = dict(base)
            if seed:  # distinct but reproducible images: seed, seed + 1, … within 1..SEED_MAX
                fields["seed"] = str((seed - 1 + i) % SEED_MAX + 1)
            calls.append(self._one(path, fields, headers))
        return ImageResult(images=await _all(calls))

    async def generate_3d(self, request: MeshRequest, creds: Credentials) -> MeshResult:
        name = _short(request.model)
        if name not in MESH_MODELS:
            raise ModelNotFound(
                f"{self.name}: unknown 3D model '{request.model}' ({', '.join(MESH_MODELS)}).",
                param="model",
            )
        if request.image is None:
            raise InvalidRequest(
                f"{self.name}/{request.model} builds a mesh from an image: give 'image'.",
                param="image",
            )
        opts = self.options(request.model, "3d").model_validate(request.params)
        form = aiohttp.FormData()
        suffix = request.image.mime.rpartition("/")[2]
        form.add_field(
            "image",
            request.image.data,
            filename=f"image.{suffix}",
            content_type=request.image.mime,
        )
        for key, value in opts.model_dump(exclude_none=True).items():
            form.add_field(key, str(value))
        headers = {**self._headers(creds), "Accept": "model/gltf-binary"}
        if request.progress is not None:
            request.progress(0, 1)
        async with self.http.request("POST", f"{_3D}/{name}", data=form, headers=headers) as resp:
            data = await resp.read()
        if request.progress is not None:
            request.progress(1, 1)
        mesh = mesh_file(data, "glb", request.format, self.name)
        return MeshResult(meshes=[GeneratedMesh(mesh)])

    async def aclose(self) -> None:
        await self.http.aclose()


def _options_of(model: str) -> type[StabilityOptions]:
    return SD3Options if _short(model).startswith("sd3") else StabilityOptions


def _form_fields(prompt: str, model: str | None, opts: StabilityOptions) -> dict[str, str]:
    """The form fields every one of the ``n`` calls shares (all but the seed)."""
    fields = {"prompt": prompt}
    if model:
        fields["model"] = model
    ratio = opts.aspect_ratio or aspect_ratio_for(opts.size or "auto")
    if ratio:
        fields["aspect_ratio"] = ratio
    rest = opts.model_dump(exclude_none=True, exclude={"size", "aspect_ratio", "seed"})
    fields.update({key: str(value) for key, value in rest.items()})
    return fields


def _short(model: str) -> str:
    """``stable-image-core`` (another gateway's spelling) is ``core``."""
    return model.lower().removeprefix("stable-image-")
