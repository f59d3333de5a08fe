"""3D models from Shap-E through diffusers: ``ShapEPipeline`` (text → 3D) or
``ShapEImg2ImgPipeline`` (image → 3D), whichever the folder holds.

The prior denoises latents (``output_type="latent"``); the renderer decodes them to a mesh
on a ``mesh_resolution``³ grid (marching cubes on its signed distance field), coloured per
vertex, exported through trimesh, with a preview PNG. Shap-E's pipeline has no step
callback, so steps are observed (and cancelled) through its progress-bar hook.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from plugai.core.meshes import MESH_MIME
from plugai.core.models import Capabilities, Modality
from plugai.local.engines.base import EngineInputError, Job, ModelSpec, Output
from plugai.local.engines.diffusion_options import GenerationOptions, pipeline_class
from plugai.local.engines.generation import (
    SEED_MAX,
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
from plugai.local.engines.meshes import PREVIEW_SIZE, colored_mesh, export_mesh, write_preview
from plugai.local.engines.transformers import pick_device
from plugai.local.options import KEEP_ALIVE_DOC

if TYPE_CHECKING:
    import numpy as np

TEXT_TO_3D = "ShapEPipeline"
IMAGE_TO_3D = "ShapEImg2ImgPipeline"
PIPELINES = (TEXT_TO_3D, IMAGE_TO_3D)


class MeshOptionsBase(GenerationOptions):
    model_config = ConfigDict(extra="forbid", title="LocalMeshParameters")

    guidance_scale: float = Field(15.0, ge=0, le=50, description="How strictly to follow.")
    steps: int = Field(64, ge=1, le=500, description="Denoising steps.")
    seed: int | None = Field(None, ge=0, le=SEED_MAX, description="Absent: random.")
    mesh_resolution: int = Field(
        128, ge=16, le=256, description="Grid the mesh is extracted on (cells per side)."
    )
    format: Literal["glb", "obj", "ply"] = Field("glb", description="Mesh file format.")
    preview: bool = Field(True, description="Also draw a preview PNG of the mesh.")
    keep_alive: float | str | None = Field(None, description=KEEP_ALIVE_DOC)
    user: str | None = Field(None, description="An id for the end user.")


@lru_cache(maxsize=2)
def mesh_options(image_to_3d: bool) -> type[MeshOptionsBase]:
    """Shap-E's own defaults: guidance 15 from text, 3 from an image."""
    if not image_to_3d:
        return MeshOptionsBase

    class LocalImageTo3DOptions(MeshOptionsBase):
        guidance_scale: float = Field(3.0, ge=0, le=50, description="How strictly to follow.")

    return LocalImageTo3DOptions


class ShapEEngine(PipelineEngine):
    name = "shap_e"
    modality = Modality.MESH

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self._pipe: Any = None
        self._device = "cpu"
        self._from_image = False

    @classmethod
    def capabilities(cls, spec: ModelSpec) -> Capabilities:
        return Capabilities(chat=False, stream=False, meshes=True)

    @classmethod
    def options(cls, operation: str, spec: ModelSpec | None = None) -> type[BaseModel]:
        if operation != "3d":
            raise KeyError(operation)
        return mesh_options(spec is not None and pipeline_class(spec.path) == IMAGE_TO_3D)

    def load(self) -> dict[str, Any]:
        import torch
        from diffusers import ShapEImg2ImgPipeline, ShapEPipeline

        if self.spec.threads:
            torch.set_num_threads(self.spec.threads)
        found = pipeline_class(self.spec.path)
        if found not in PIPELINES:
            raise RuntimeError(f"{self.spec.path} holds {found}, not a Shap-E pipeline")
        self._from_image = found == IMAGE_TO_3D
        self._device = pick_device()
        dtype = torch.float16 if self._device == "cuda" else torch.float32
        kind: Any = ShapEImg2ImgPipeline if self._from_image else ShapEPipeline
        self._pipe = kind.from_pretrained(str(self.spec.path), **dtype_argument(dtype)).to(
            self._device
        )
        return {
            "device": self._device,
            "engine": self.name,
            "pipeline": found,
            "dtype": str(dtype).removeprefix("torch."),
        }

    def unload(self) -> None:
        self._pipe = None

    def prepare(self, job: Job) -> Work:
        if job.kind != "3d":
            raise EngineInputError(f"{self.spec.name} generates 3D models, not {job.kind}.")
        opts: MeshOptionsBase = validated(self.options("3d", self.spec), job.params)
        if self._from_image:
            if not job.image:
                raise EngineInputError(f"{self.spec.name} builds 3D models from an image.")
            condition: dict[str, Any] = {"image": open_image(job.image)}
        else:
            if job.image:
                raise EngineInputError(
                    f"{self.spec.name} builds 3D models from text; it takes no image."
                )
            if not job.prompt:
                raise EngineInputError(f"{self.spec.name} needs a prompt.")
            condition = {"prompt": job.prompt}
        folder = output_dir(job)
        seed = pick_seed(opts.seed)

        def work(emit: Emit, stopped: Callable[[], bool]) -> None:
            import torch

            steps = Steps(opts.steps + 1, emit, stopped)  # + decoding and export
            steps.check()
            pipe = self._pipe

            def observed(
                iterable: Iterable[Any] | None = None, total: int | None = None
            ) -> Iterator[Any]:
                items = [] if iterable is None else list(iterable)
                for index, item in enumerate(items):
                    yield item
                    steps.part(0, opts.steps, index + 1, len(items))

            pipe.progress_bar = observed
            try:
                latents = pipe(
                    **condition,
                    num_inference_steps=opts.steps,
                    guidance_scale=opts.guidance_scale,
                    generator=torch.Generator("cpu").manual_seed(seed),
                    output_type="latent",
                ).images
            finally:
                del pipe.progress_bar  # back to diffusers' own
            steps.to(opts.steps)
            outputs = self._mesh_files(latents[0], opts, folder, seed)
            steps.to(opts.steps + 1)
            for output in outputs:
                emit(output)

        return work

    def _mesh_files(
        self, latent: Any, opts: MeshOptionsBase, folder: Path, seed: int
    ) -> list[Output]:
        import torch

        renderer = self._pipe.shap_e_renderer
        try:
            raw = renderer.decode_to_mesh(
                latent[None, :], self._device, grid_size=opts.mesh_resolution
            )
        except RuntimeError as exc:  # torch.cat of nothing: the field has no surface
            raise RuntimeError(f"the model produced no surface to mesh ({exc})") from exc
        channels = raw.vertex_channels or {}
        colors = None
        if all(c in channels for c in "RGB"):
            colors = _array(torch.stack([channels[c].float() for c in "RGB"], dim=1))
        mesh = colored_mesh(_array(raw.verts.float()), _array(raw.faces), colors)
        if not len(mesh.faces):
            raise RuntimeError("the model produced an empty mesh")
        fmt = opts.format
        path = write_whole(folder / f"mesh.{fmt}", lambda p: export_mesh(mesh, p, fmt))
        meta = {
            "format": fmt,
            "vertices": len(mesh.vertices),
            "faces": len(mesh.faces),
            "seed": seed,
        }
        files = [file_output(path, "mesh", MESH_MIME[fmt], meta)]
        if opts.preview:
            preview = write_whole(folder / "preview.png", lambda p: write_preview(mesh, p))
            square = {"width": PREVIEW_SIZE, "height": PREVIEW_SIZE}
            files.append(file_output(preview, "preview", "image/png", square))
        return files


def _array(tensor: Any) -> np.ndarray:
    array: np.ndarray = tensor.detach().cpu().numpy()
    return array
