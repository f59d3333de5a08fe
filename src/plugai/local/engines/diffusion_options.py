"""The parameters of a diffusers image model, read from its folder's JSON configs (never the
weights, never diffusers: the gateway builds model cards without the ``local`` extra).

Defaults follow the pipeline: the size the denoiser was trained at (its ``sample_size``
times the VAE's scale factor), few steps and no guidance for distilled models (Turbo,
Lightning, Hyper, FLUX schnell), and the schedulers diffusers can swap in for the folder's
own one.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from plugai.local.engines.generation import SEED_MAX
from plugai.local.options import KEEP_ALIVE_DOC

SIZE_MIN, SIZE_MAX = 64, 2048
STEPS_MAX = 150
SIZE = re.compile(r"^(\d{2,4})x(\d{2,4})$")
DISTILLED = ("turbo", "lightning", "hyper", "schnell")

# diffusers' KarrasDiffusionSchedulers: interchangeable for the UNet pipelines (SD 1.x/2.x,
# SDXL); two of them need an optional package.
KARRAS = (
    "DDIMScheduler",
    "DDPMScheduler",
    "PNDMScheduler",
    "LMSDiscreteScheduler",
    "EulerDiscreteScheduler",
    "EulerAncestralDiscreteScheduler",
    "HeunDiscreteScheduler",
    "DPMSolverMultistepScheduler",
    "DPMSolverSinglestepScheduler",
    "DPMSolverSDEScheduler",
    "KDPM2DiscreteScheduler",
    "KDPM2AncestralDiscreteScheduler",
    "DEISMultistepScheduler",
    "UniPCMultistepScheduler",
)
NEEDS = {"LMSDiscreteScheduler": "scipy", "DPMSolverSDEScheduler": "torchsde"}


@dataclass(frozen=True, slots=True)
class PipelineFacts:
    """What the folder says about generating with it."""

    pipeline: str  # model_index.json's _class_name
    width: int
    height: int
    multiple: int  # sizes must be multiples of this
    steps: int
    guidance: float
    scheduler: str | None  # the folder's own scheduler class
    schedulers: tuple[str, ...]  # what the ``scheduler`` parameter may name


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def pipeline_class(folder: Path) -> str | None:
    """``_class_name`` of the folder's ``model_index.json`` (None when unreadable)."""
    name = _json(folder / "model_index.json").get("_class_name")
    return name if isinstance(name, str) else None


def _guidance(pipeline: str) -> float:
    for family, scale in (("XL", 5.0), ("Flux", 3.5), ("StableDiffusion3", 7.0)):
        if family in pipeline:
            return scale
    return 7.5


def _native_size(folder: Path, index: dict[str, Any], multiple: int) -> int:
    denoiser = "transformer" if "transformer" in index else "unet"
    sample = _json(folder / denoiser / "config.json").get("sample_size")
    blocks = _json(folder / "vae" / "config.json").get("block_out_channels")
    scale = 2 ** (len(blocks) - 1) if isinstance(blocks, list) and blocks else 8
    if isinstance(sample, list) and sample:
        sample = sample[0]
    if not isinstance(sample, int) or sample <= 0:
        return 512
    size = sample * scale
    return min(SIZE_MAX, max(SIZE_MIN, size - size % multiple))


def _schedulers(own: str | None) -> tuple[str, ...]:
    if own not in KARRAS:
        return (own,) if own else ()
    return tuple(s for s in KARRAS if s not in NEEDS or importlib.util.find_spec(NEEDS[s]))


def read_facts(folder: Path, name: str) -> PipelineFacts:
    """The facts of a diffusers folder; missing or odd configs give the SD 1.5 defaults."""
    index = _json(folder / "model_index.json")
    pipeline = str(index.get("_class_name") or "DiffusionPipeline")
    scheduler = _json(folder / "scheduler" / "scheduler_config.json").get("_class_name")
    own = scheduler if isinstance(scheduler, str) else None
    multiple = 16 if "transformer" in index else 8
    size = _native_size(folder, index, multiple)
    label = f"{name} {folder.name}".lower()
    distilled = any(word in label for word in DISTILLED) or own == "LCMScheduler"
    return PipelineFacts(
        pipeline=pipeline,
        width=size,
        height=size,
        multiple=multiple,
        steps=4 if distilled else 30,
        guidance=0.0 if distilled else _guidance(pipeline),
        scheduler=own,
        schedulers=_schedulers(own),
    )


def parse_size(size: str) -> tuple[int, int]:
    match = SIZE.match(size)
    if match is None:
        raise ValueError(f"size must be WIDTHxHEIGHT in pixels, not {size!r}")
    return int(match[1]), int(match[2])


class GenerationOptions(BaseModel):
    """The base of image and 3D parameter models (each ends with keep_alive and user)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _null_is_default(cls, data: Any) -> Any:
        """An explicit null means "the default" (forms and some clients send them)."""
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


class ImageOptionsBase(GenerationOptions):
    """The fields every diffusers image model takes; ``image_options`` adds the ones whose
    defaults and bounds come from the folder."""

    model_config = ConfigDict(extra="forbid", title="LocalImageParameters")

    size_multiple: ClassVar[int] = 8
    scheduler_names: ClassVar[tuple[str, ...]] = ()

    n: int = Field(1, ge=1, le=8, description="How many images (each with its own seed).")
    size: str = Field("512x512", description="WIDTHxHEIGHT in pixels.")
    negative_prompt: str | None = Field(None, max_length=10000, description="What to avoid.")
    steps: int = Field(30, ge=1, le=STEPS_MAX, description="Denoising steps.")
    guidance_scale: float = Field(7.5, ge=0, le=30, description="How strictly to follow.")
    seed: int | None = Field(
        None, ge=0, le=SEED_MAX, description="Absent: random. Image i of n uses seed + i."
    )
    scheduler: str | None = Field(None, description="Absent: the model's own scheduler.")
    strength: float = Field(
        0.8, gt=0, le=1, description="Image-to-image: how much of the input image to redo."
    )
    response_format: Literal["url", "b64_json"] = Field("url", description="How images return.")
    keep_alive: float | str | None = Field(None, description=KEEP_ALIVE_DOC)
    user: str | None = Field(None, description="An id for the end user.")

    @field_validator("size")
    @classmethod
    def _check_size(cls, size: str) -> str:
        for side in parse_size(size):
            if not SIZE_MIN <= side <= SIZE_MAX or side % cls.size_multiple:
                raise ValueError(
                    f"each side must be a multiple of {cls.size_multiple} "
                    f"from {SIZE_MIN} to {SIZE_MAX}, not {size}"
                )
        return size

    @field_validator("scheduler")
    @classmethod
    def _check_scheduler(cls, scheduler: str | None) -> str | None:
        if scheduler is not None and scheduler not in cls.scheduler_names:
            raise ValueError(f"{scheduler} is not one of {', '.join(cls.scheduler_names)}")
        return scheduler


@lru_cache(maxsize=256)
def image_options(folder: Path, name: str) -> type[ImageOptionsBase]:
    """The parameter model of one folder (cached: a model's configs do not change)."""
    facts = read_facts(folder, name)

    class LocalImageOptions(ImageOptionsBase):
        size_multiple: ClassVar[int] = facts.multiple
        scheduler_names: ClassVar[tuple[str, ...]] = facts.schedulers

        size: str = Field(
            f"{facts.width}x{facts.height}",
            pattern=SIZE.pattern,
            description=(
                f"WIDTHxHEIGHT in pixels, each a multiple of {facts.multiple} from {SIZE_MIN} "
                f"to {SIZE_MAX}. Image-to-image without a size keeps the input's aspect."
            ),
        )
        steps: int = Field(facts.steps, ge=1, le=STEPS_MAX, description="Denoising steps.")
        guidance_scale: float = Field(
            facts.guidance, ge=0, le=30, description="How strictly to follow the prompt."
        )
        scheduler: str | None = Field(
            None,
            description=f"Absent: the model's own ({facts.scheduler or 'unknown'}).",
            json_schema_extra={"enum": list(facts.schedulers)},
        )

    return LocalImageOptions


def fit_size(width: int, height: int, area: int, multiple: int) -> tuple[int, int]:
    """An input picture's aspect at about ``area`` pixels, within the allowed sides (a very
    long or tall picture gets more pixels rather than a side below the minimum)."""
    scale = math.sqrt(area / max(1, width * height))
    scale = max(scale, SIZE_MIN / max(1, min(width, height)))
    scale = min(scale, SIZE_MAX / max(1, width, height))
    low = math.ceil(SIZE_MIN / multiple) * multiple
    high = SIZE_MAX - SIZE_MAX % multiple

    def side(value: float) -> int:
        return min(high, max(low, round(value / multiple) * multiple))

    return side(width * scale), side(height * scale)
