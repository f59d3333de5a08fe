"""Stability AI's Stable Image API (v2beta): text-to-image with Core, Ultra and SD3.x.

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
from plugai.core.models import Capabilities, Modality, ModelCard
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
_GENERATE = "/v2beta/stable-image/generate"
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
        return Capabilities(chat=False, stream=False, images=True)

    def options(self, model: str, operation: Operation = "images") -> type[BaseModel]:
        if operation != "images":
            return super().options(model, operation)
        return _options_of(model)

    def card(self, model: str) -> ModelCard:
        card = super().card(model)
        card.output_modalities = [Modality.IMAGE]
        return card

    async def list_models(self, creds: Credentials) -> list[ModelCard]:
        """The known models: Stability has no listing endpoint."""
        return [self.card(model) for model in MODELS]

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
