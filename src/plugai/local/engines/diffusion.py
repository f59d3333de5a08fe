"""Text-to-image and image-to-image with any diffusers pipeline folder (SD 1.x/2.x, SD-Turbo,
SDXL and SDXL-Turbo, SD3, FLUX where memory allows): CUDA in half precision when there is a
GPU, else the CPU in fp32.

Image i of n is its own pipeline call with seed ``seed + i``, so every image is reproducible
alone (``meta.seed``, with n=1) and memory does not grow with n; progress counts the
denoising steps of all n images. The image-to-image pipeline is made from the loaded one on
first use (``AutoPipelineForImage2Image.from_pipe``: same weights, no second copy).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from plugai.core.models import Capabilities, Modality
from plugai.local.engines.base import EngineInputError, Job, ModelSpec, Output
from plugai.local.engines.diffusion_options import (
    ImageOptionsBase,
    fit_size,
    image_options,
    parse_size,
)
from plugai.local.engines.generation import (
    Emit,
    PipelineEngine,
    Steps,
    Work,
    dtype_argument,
    file_output,
    open_image,
    output_dir,
    pick_seed,
    validated,
    write_whole,
)
from plugai.local.engines.transformers import pick_device


class DiffusersImageEngine(PipelineEngine):
    name = "diffusers"
    modality = Modality.IMAGE

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self._pipe: Any = None
        self._img2img: Any = None
        self._scheduler: Any = None  # the folder's own, restored after a job that swapped it
        self._device = "cpu"

    @classmethod
    def capabilities(cls, spec: ModelSpec) -> Capabilities:
        return Capabilities(chat=False, stream=False, images=True)

    @classmethod
    def options(cls, operation: str, spec: ModelSpec | None = None) -> type[BaseModel]:
        if operation != "images":
            raise KeyError(operation)
        return ImageOptionsBase if spec is None else image_options(spec.path, spec.name)

    # --- loading --------------------------------------------------------------------------
    def load(self) -> dict[str, Any]:
        import torch
        from diffusers import AutoPipelineForText2Image, DiffusionPipeline

        if self.spec.threads:
            torch.set_num_threads(self.spec.threads)
        self._device = pick_device()
        dtype = self._dtype(torch)
        path = str(self.spec.path)
        text_to_image: Any = AutoPipelineForText2Image
        any_pipeline: Any = DiffusionPipeline
        try:
            pipe: Any = text_to_image.from_pretrained(path, **dtype_argument(dtype))
        except ValueError:  # not a family AutoPipeline knows: load the folder's own class
            pipe = any_pipeline.from_pretrained(path, **dtype_argument(dtype))
        if "callback_on_step_end" not in inspect.signature(pipe.__call__).parameters:
            raise RuntimeError(f"{type(pipe).__name__} reports no steps; it is not supported")
        pipe.set_progress_bar_config(disable=True)
        offloaded = self._place(pipe, torch)
        self._pipe, self._scheduler = pipe, pipe.scheduler
        return {
            "device": self._device,
            "engine": self.name,
            "pipeline": type(pipe).__name__,
            "dtype": str(dtype).removeprefix("torch."),
            "offloaded": offloaded,
        }

    def _dtype(self, torch: Any) -> Any:
        if self._device == "cpu":
            return torch.float32
        transformer = (Path(self.spec.path) / "transformer").is_dir()  # FLUX, SD3: bf16
        if transformer and self._device == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float16

    def _place(self, pipe: Any, torch: Any) -> bool:
        """Move to the device; a model too big for the GPU runs with its parts offloaded
        to the CPU between uses (needs ``accelerate``). True when offloaded."""
        try:
            pipe.to(self._device)
        except torch.OutOfMemoryError:
            pipe.to("cpu")
            torch.cuda.empty_cache()
            pipe.enable_model_cpu_offload()
            return True
        return False

    def unload(self) -> None:
        self._pipe = self._img2img = self._scheduler = None

    # --- running --------------------------------------------------------------------------
    def prepare(self, job: Job) -> Work:
        if job.kind != "images":
            raise EngineInputError(f"{self.spec.name} generates images, not {job.kind}.")
        opts: ImageOptionsBase = validated(self.options("images", self.spec), job.params)
        source = open_image(job.image) if job.image else None
        pipe = self._pipeline_for(source is not None)
        width, height = self._size(opts, source)
        per_image = opts.steps
        if source is not None:
            per_image = min(int(opts.steps * opts.strength), opts.steps)
            if per_image < 1:
                raise EngineInputError(
                    f"steps * strength must be at least 1 (got {opts.steps} * {opts.strength})."
                )
            source = source.resize((width, height))
        call = self._arguments(pipe, job, opts, width, height, source)
        folder = output_dir(job)

        def work(emit: Emit, stopped: Callable[[], bool]) -> None:
            import torch

            steps = Steps(opts.n * per_image, emit, stopped)
            steps.check()
            pipe.scheduler = self._scheduler_for(opts.scheduler)
            try:
                for index in range(opts.n):
                    seed = pick_seed(opts.seed, index)
                    first = index * per_image

                    def on_step(
                        p: Any, i: int, t: Any, kwargs: dict[str, Any], first: int = first
                    ) -> dict[str, Any]:
                        inner = getattr(p, "_num_timesteps", None) or per_image
                        steps.part(first, per_image, i + 1, inner)
                        return kwargs

                    with torch.inference_mode():
                        result = pipe(
                            **call,
                            generator=torch.Generator("cpu").manual_seed(seed),
                            callback_on_step_end=on_step,
                        )
                    steps.to(first + per_image)
                    emit(self._save(result, folder, index, seed))
            finally:
                pipe.scheduler = self._scheduler

        return work

    def _pipeline_for(self, image_to_image: bool) -> Any:
        if not image_to_image:
            return self._pipe
        if self._img2img is None:
            from diffusers import AutoPipelineForImage2Image

            try:
                self._img2img = AutoPipelineForImage2Image.from_pipe(self._pipe)
            except ValueError as exc:
                raise EngineInputError(
                    f"{self.spec.name} ({type(self._pipe).__name__}) does not do image-to-image."
                ) from exc
            self._img2img.set_progress_bar_config(disable=True)
        return self._img2img

    def _size(self, opts: ImageOptionsBase, source: Any) -> tuple[int, int]:
        width, height = parse_size(opts.size)
        if source is None or "size" in opts.model_fields_set:
            return width, height
        return fit_size(source.width, source.height, width * height, type(opts).size_multiple)

    def _scheduler_for(self, name: str | None) -> Any:
        if name is None or name == type(self._scheduler).__name__:
            return self._scheduler
        import diffusers

        try:
            return getattr(diffusers, name).from_config(self._scheduler.config)
        except (AttributeError, ImportError, ValueError) as exc:
            raise EngineInputError(f"The scheduler {name} cannot be used here: {exc}") from exc

    def _arguments(
        self,
        pipe: Any,
        job: Job,
        opts: ImageOptionsBase,
        width: int,
        height: int,
        source: Any,
    ) -> dict[str, Any]:
        """The pipeline's keyword arguments (those its ``__call__`` takes)."""
        accepted = inspect.signature(pipe.__call__).parameters
        call: dict[str, Any] = {
            "prompt": job.prompt or "",
            "num_inference_steps": opts.steps,
            "guidance_scale": opts.guidance_scale,
            "output_type": "pil",
        }
        if source is None:
            call |= {"width": width, "height": height}
        else:
            call |= {"image": source, "strength": opts.strength}
        if opts.negative_prompt:
            if "negative_prompt" not in accepted:
                raise EngineInputError(f"{type(pipe).__name__} takes no negative_prompt.")
            call["negative_prompt"] = opts.negative_prompt
        return {key: value for key, value in call.items() if key in accepted}

    def _save(self, result: Any, folder: Path, index: int, seed: int) -> Output:
        image = result.images[0]
        path = write_whole(folder / f"image-{index + 1}.png", lambda p: image.save(p, "PNG"))
        meta: dict[str, Any] = {"width": image.width, "height": image.height, "seed": seed}
        flagged = getattr(result, "nsfw_content_detected", None)
        if flagged and flagged[0]:
            meta["nsfw_filtered"] = True  # the model's safety checker blanked it
        return file_output(path, "image", "image/png", meta)
