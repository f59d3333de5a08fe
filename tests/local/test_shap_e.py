"""The Shap-E engine on tiny random pipelines (text → 3D and image → 3D): meshes that load
back in every format, a preview PNG, progress, cancellation, refused inputs, the parameter
schema, discovery picking the engine — in-process, and once through a worker process."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from plugai.catalog.scanner import folder_model
from plugai.catalog.serving import engine_of
from plugai.core.models import Modality
from plugai.core.parameters import parameter_schema
from plugai.db.tables import RegistryModel
from plugai.local.discovery import discover
from plugai.local.engines import engine_class
from plugai.local.engines.base import EngineInputError, Job, ModelSpec, Output
from plugai.local.engines.shap_e import ShapEEngine
from plugai.local.manager import ModelManager
from plugai.settings import LocalSettings
from tests.local.conftest import needs_diffusers
from tests.local.tiny_diffusion import write_png

pytestmark = needs_diffusers
FAST = {"steps": 2, "mesh_resolution": 32}  # the default 128³ grid takes ~13 s on a CPU


def never() -> bool:
    return False


def make(
    engine: ShapEEngine,
    out: Path,
    cancelled: Callable[[], bool] = never,
    prompt: str | None = "a chair",
    image: Path | None = None,
    **params: Any,
) -> list[Output]:
    job = Job("3d", {**FAST, **params}, prompt=prompt, output_dir=str(out))
    job.image = str(image) if image else None
    return list(engine.run(job, cancelled))


def steps_of(outputs: list[Output]) -> list[int]:
    return [o["step"] for o in outputs if o["type"] == "progress"]


def files_of(outputs: list[Output], kind: str) -> list[Output]:
    return [o for o in outputs if o["type"] == "file" and o["kind"] == kind]


def loaded_engine(folder: Path) -> ShapEEngine:
    engine = ShapEEngine(ModelSpec(folder.name, folder, "shap_e", threads=1))
    engine.load()
    return engine


@pytest.fixture(scope="module")
def text_to_3d(tiny_shap_e: Path) -> Iterator[ShapEEngine]:
    engine = loaded_engine(tiny_shap_e)
    yield engine
    engine.unload()


@pytest.fixture(scope="module")
def image_to_3d(tiny_shap_e_img2img: Path) -> Iterator[ShapEEngine]:
    engine = loaded_engine(tiny_shap_e_img2img)
    yield engine
    engine.unload()


def check_mesh(mesh_file: Output, fmt: str) -> None:
    import trimesh

    meta = mesh_file["meta"]
    assert meta["format"] == fmt and meta["faces"] > 0 and meta["vertices"] > 0
    mesh = trimesh.load(mesh_file["path"], file_type=fmt, force="mesh")
    assert len(mesh.faces) == meta["faces"]
    assert mesh.is_watertight and mesh.volume > 0  # closed, normals pointing out
    assert mesh.visual.kind == "vertex"  # the colours travel with the file
    colours = mesh.visual.vertex_colors[:, :3]
    assert len({tuple(c) for c in colours.tolist()}) > 1


def check_preview(preview: Output) -> None:
    from PIL import Image

    with Image.open(preview["path"]) as image:
        assert image.format == "PNG"
        assert image.size == (preview["meta"]["width"], preview["meta"]["height"])
        alpha = image.getchannel("A")
        assert 0 < sum(1 for a in alpha.getdata() if a) < image.width * image.height


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("glb", "model/gltf-binary"), ("obj", "model/obj"), ("ply", "application/ply")],
)
def test_text_to_3d_in_every_format(
    text_to_3d: ShapEEngine, tmp_path: Path, fmt: str, mime: str
) -> None:
    outputs = make(text_to_3d, tmp_path, format=fmt, seed=3)
    assert steps_of(outputs) == [1, 2, 3]  # two denoising steps, then decoding
    [mesh_file], [preview] = files_of(outputs, "mesh"), files_of(outputs, "preview")
    assert mesh_file["mime"] == mime and mesh_file["path"] == str(tmp_path / f"mesh.{fmt}")
    assert mesh_file["meta"]["seed"] == 3
    check_mesh(mesh_file, fmt)
    check_preview(preview)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"mesh.{fmt}", "preview.png"]


def test_serve_runs_on_the_callers_thread_and_a_preview_is_optional(
    text_to_3d: ShapEEngine, tmp_path: Path
) -> None:
    """In a worker the pipeline runs on the job's own thread (torch's CPU kernels are
    fastest on the thread that has run them before), emitting as it goes."""
    threads: set[int] = set()
    outputs: list[Output] = []

    def emit(item: Output) -> None:
        threads.add(threading.get_ident())
        outputs.append(item)

    job = Job("3d", {**FAST, "preview": False}, prompt="a chair", output_dir=str(tmp_path))
    text_to_3d.serve(job, never, emit)
    assert threads == {threading.get_ident()}
    assert steps_of(outputs) == [1, 2, 3]
    assert files_of(outputs, "preview") == []
    check_mesh(files_of(outputs, "mesh")[0], "glb")
    assert [p.name for p in tmp_path.iterdir()] == ["mesh.glb"]


def test_image_to_3d(image_to_3d: ShapEEngine, tmp_path: Path) -> None:
    picture = write_png(tmp_path / "input.png")
    outputs = make(image_to_3d, tmp_path, prompt=None, image=picture, mesh_resolution=24)
    assert steps_of(outputs) == [1, 2, 3]
    check_mesh(files_of(outputs, "mesh")[0], "glb")
    check_preview(files_of(outputs, "preview")[0])


def test_the_mesh_resolution_is_the_grid(text_to_3d: ShapEEngine, tmp_path: Path) -> None:
    coarse = make(text_to_3d, tmp_path / "a", mesh_resolution=16)
    fine = make(text_to_3d, tmp_path / "b", mesh_resolution=40)
    faces = [files_of(o, "mesh")[0]["meta"]["faces"] for o in (coarse, fine)]
    assert 0 < faces[0] < faces[1]


def test_inputs_each_pipeline_refuses(
    text_to_3d: ShapEEngine, image_to_3d: ShapEEngine, tmp_path: Path
) -> None:
    picture = write_png(tmp_path / "input.png")
    with pytest.raises(EngineInputError, match="takes no image"):
        make(text_to_3d, tmp_path, image=picture)
    with pytest.raises(EngineInputError, match="needs a prompt"):
        make(text_to_3d, tmp_path, prompt=None)
    with pytest.raises(EngineInputError, match="from an image"):
        make(image_to_3d, tmp_path)
    with pytest.raises(EngineInputError, match="'mesh_resolution'"):
        make(text_to_3d, tmp_path, mesh_resolution=8)
    with pytest.raises(EngineInputError, match="'format'"):
        make(text_to_3d, tmp_path, format="stl")
    with pytest.raises(EngineInputError, match="3D models, not images"):
        list(text_to_3d.run(Job("images", prompt="x", output_dir=str(tmp_path)), never))


def test_cancel_stops_within_a_step(text_to_3d: ShapEEngine, tmp_path: Path) -> None:
    calls = [0]

    def cancelled() -> bool:  # true at the fourth check: before the job, then between steps
        calls[0] += 1
        return calls[0] >= 4

    outputs = make(text_to_3d, tmp_path, cancelled, steps=10)
    done = steps_of(outputs)
    assert done == list(range(1, len(done) + 1)) and 0 < len(done) < 3
    assert files_of(outputs, "mesh") == [] and list(tmp_path.iterdir()) == []
    assert files_of(make(text_to_3d, tmp_path), "mesh")  # the pipeline is whole again


def test_options_and_declarations(tiny_shap_e: Path, tiny_shap_e_img2img: Path) -> None:
    text = ModelSpec("t", tiny_shap_e, "shap_e")
    image = ModelSpec("i", tiny_shap_e_img2img, "shap_e")
    schema = parameter_schema(ShapEEngine.options("3d", text))["properties"]
    resolution = schema["mesh_resolution"]
    assert (resolution["default"], resolution["minimum"], resolution["maximum"]) == (128, 16, 256)
    assert (schema["format"]["default"], schema["format"]["enum"]) == ("glb", ["glb", "obj", "ply"])
    assert {"guidance_scale", "steps", "seed", "keep_alive", "user"} <= set(schema)
    assert schema["guidance_scale"]["default"] == 15.0
    image_schema = parameter_schema(ShapEEngine.options("3d", image))["properties"]
    assert image_schema["guidance_scale"]["default"] == 3.0
    with pytest.raises(KeyError):
        ShapEEngine.options("images", text)
    caps = ShapEEngine.capabilities(text)
    assert caps.meshes and not (caps.chat or caps.stream or caps.images)
    assert ShapEEngine.modality is Modality.MESH


def test_discovery_picks_the_engine(generation_model_dir: Path) -> None:
    specs = discover(LocalSettings(model_dirs=[generation_model_dir]))
    assert {name: spec.engine for name, spec in specs.items()} == {
        "tiny-sd": "diffusers",
        "tiny-shap-e": "shap_e",
        "tiny-shap-e-img": "shap_e",
    }
    modalities = {}
    for name in specs:
        found = folder_model(generation_model_dir / name, name)
        assert found is not None
        modalities[name] = found.modality
        row = RegistryModel(id=name, format=found.format, meta=found.meta, state="ready")
        assert engine_of(row) == specs[name].engine
        assert engine_class(specs[name].engine).modality.value == found.modality
    assert modalities == {"tiny-sd": "image", "tiny-shap-e": "3d", "tiny-shap-e-img": "3d"}


async def test_through_a_worker_process(generation_model_dir: Path, tmp_path: Path) -> None:
    import trimesh

    manager = ModelManager(LocalSettings(model_dirs=[generation_model_dir], threads=1))
    job = Job("3d", {**FAST, "format": "ply"}, prompt="a lamp", output_dir=str(tmp_path))
    try:
        outputs = [item async for item in manager.run("tiny-shap-e", job)]
        [row] = manager.loaded()
    finally:
        await manager.aclose()
    assert row.engine == "shap_e"
    assert steps_of(outputs) == [1, 2, 3]
    [mesh_file] = files_of(outputs, "mesh")
    assert len(trimesh.load(mesh_file["path"], force="mesh").faces) == mesh_file["meta"]["faces"]
    assert files_of(outputs, "preview")
