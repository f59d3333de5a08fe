"""The diffusers image engine on a tiny random Stable Diffusion pipeline: real PNGs at the
asked size, seeds that reproduce, image-to-image, progress, cancellation, bad input, the
parameter schema read from the folder — in-process, and once through a worker process."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from plugai.core.parameters import parameter_schema
from plugai.local.engines.base import EngineInputError, Job, ModelSpec, Output
from plugai.local.engines.diffusion import DiffusersImageEngine
from plugai.local.manager import ModelManager
from plugai.settings import LocalSettings
from tests.local.conftest import needs_diffusers
from tests.local.tiny_diffusion import write_png

pytestmark = needs_diffusers
PROMPT = "a red fox in the snow"


def never() -> bool:
    return False


def cancel_on_call(n: int) -> Callable[[], bool]:
    """A ``cancelled`` that turns true on its n-th check (the engine checks before it
    starts and after every step), so a test knows exactly where the job stops."""
    calls = [0]

    def cancelled() -> bool:
        calls[0] += 1
        return calls[0] >= n

    return cancelled


def generate(
    engine: DiffusersImageEngine,
    out: Path,
    cancelled: Callable[[], bool] = never,
    image: Path | None = None,
    **params: Any,
) -> list[Output]:
    job = Job("images", params, prompt=PROMPT, output_dir=str(out), image=image and str(image))
    return list(engine.run(job, cancelled))


def steps_of(outputs: list[Output]) -> list[int]:
    return [o["step"] for o in outputs if o["type"] == "progress"]


def files_of(outputs: list[Output]) -> list[Output]:
    return [o for o in outputs if o["type"] == "file"]


def pixels(path: str | Path) -> bytes:
    from PIL import Image

    with Image.open(path) as image:
        return image.convert("RGB").tobytes()


@pytest.fixture(scope="module")
def engine(tiny_sd: Path) -> Iterator[DiffusersImageEngine]:
    loaded = DiffusersImageEngine(ModelSpec("tiny-sd", tiny_sd, "diffusers", threads=1))
    info = loaded.load()
    assert info["device"] == "cpu" and info["pipeline"] == "StableDiffusionPipeline"
    yield loaded
    loaded.unload()


def test_text_to_image_writes_n_pngs_at_the_asked_size(
    engine: DiffusersImageEngine, tmp_path: Path
) -> None:
    from PIL import Image

    outputs = generate(engine, tmp_path, n=2, size="72x64", steps=2, seed=11)
    files = files_of(outputs)
    assert steps_of(outputs) == [1, 2, 3, 4]  # both images' steps, in one count
    assert {o["steps"] for o in outputs if o["type"] == "progress"} == {4}
    assert [f["meta"]["seed"] for f in files] == [11, 12]
    for f in files:
        assert (f["kind"], f["mime"]) == ("image", "image/png")
        assert Path(f["path"]).parent == tmp_path
        with Image.open(f["path"]) as image:
            assert image.format == "PNG" and image.size == (72, 64)
        assert (f["meta"]["width"], f["meta"]["height"]) == (72, 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image-1.png", "image-2.png"]


def test_a_seed_reproduces_its_image(engine: DiffusersImageEngine, tmp_path: Path) -> None:
    pair = files_of(generate(engine, tmp_path / "pair", n=2, steps=2, seed=40))
    again = files_of(generate(engine, tmp_path / "again", steps=2, seed=41))
    other = files_of(generate(engine, tmp_path / "other", steps=2, seed=99))
    random = files_of(generate(engine, tmp_path / "random", steps=2))
    assert pixels(pair[1]["path"]) == pixels(again[0]["path"])  # image i of n: seed + i
    assert pixels(pair[0]["path"]) != pixels(pair[1]["path"])
    assert pixels(other[0]["path"]) != pixels(again[0]["path"])
    seed = random[0]["meta"]["seed"]  # a random seed is reported, and reproduces too
    replay = files_of(generate(engine, tmp_path / "replay", steps=2, seed=seed))
    assert pixels(replay[0]["path"]) == pixels(random[0]["path"])


def test_image_to_image(engine: DiffusersImageEngine, tmp_path: Path) -> None:
    source = write_png(tmp_path / "in.png", (96, 48))
    kept = generate(engine, tmp_path / "a", image=source, steps=4, strength=0.5, seed=1)
    sized = generate(engine, tmp_path / "b", image=source, size="64x64", steps=4, seed=1)
    [kept_file], [sized_file] = files_of(kept), files_of(sized)
    assert steps_of(kept) == [1, 2]  # strength 0.5 of 4 steps
    assert steps_of(sized) == [1, 2, 3]  # the default strength, 0.8
    width, height = kept_file["meta"]["width"], kept_file["meta"]["height"]
    assert width == 2 * height and width % 8 == 0  # the input's aspect, at about 64x64
    assert (sized_file["meta"]["width"], sized_file["meta"]["height"]) == (64, 64)
    text_only = files_of(generate(engine, tmp_path / "c", size="64x64", steps=3, seed=1))
    assert pixels(sized_file["path"]) != pixels(text_only[0]["path"])


def test_another_scheduler_keeps_progress_one_per_step(
    engine: DiffusersImageEngine, tmp_path: Path
) -> None:
    # Heun evaluates the model 2n-1 times for n steps; progress still counts n.
    heun = generate(engine, tmp_path / "h", steps=3, scheduler="HeunDiscreteScheduler", seed=3)
    plain = generate(engine, tmp_path / "p", steps=3, seed=3)
    assert steps_of(heun) == steps_of(plain) == [1, 2, 3]
    assert pixels(files_of(heun)[0]["path"]) != pixels(files_of(plain)[0]["path"])
    again = generate(engine, tmp_path / "a", steps=3, seed=3)  # the folder's own is back
    assert pixels(files_of(again)[0]["path"]) == pixels(files_of(plain)[0]["path"])


def test_cancel_stops_within_a_step(engine: DiffusersImageEngine, tmp_path: Path) -> None:
    outputs = generate(engine, tmp_path, cancel_on_call(3), n=2, steps=20)
    assert steps_of(outputs) == [1, 2]
    assert files_of(outputs) == [] and list(tmp_path.iterdir()) == []
    assert generate(engine, tmp_path, cancel_on_call(1), steps=20) == []


def test_closing_the_stream_stops_the_job(engine: DiffusersImageEngine, tmp_path: Path) -> None:
    job = Job("images", {"steps": 50}, prompt=PROMPT, output_dir=str(tmp_path))
    outputs = engine.run(job, never)
    assert next(outputs)["step"] == 1
    outputs.close()  # what the worker does when a job is cancelled: the thread ends
    assert files_of(generate(engine, tmp_path, steps=1))  # and the engine serves on


@pytest.mark.parametrize(
    ("params", "image", "message"),
    [
        ({"size": "100x100"}, None, "multiple of 8"),
        ({"size": "4096x64"}, None, "from 64 to 2048"),
        ({"size": "big"}, None, "'size'"),
        ({"n": 9}, None, "'n'"),
        ({"scheduler": "NoSuchScheduler"}, None, "not one of"),
        ({"steps": 2, "strength": 0.2}, "in.png", "steps \\* strength"),
        ({}, "broken.png", "could not be read"),
        ({}, "missing.png", "could not be read"),
        ({"quality": "hd"}, None, "'quality'"),
    ],
)
def test_bad_input_is_the_callers_mistake(
    engine: DiffusersImageEngine,
    tmp_path: Path,
    params: dict[str, Any],
    image: str | None,
    message: str,
) -> None:
    write_png(tmp_path / "in.png")
    (tmp_path / "broken.png").write_bytes(b"not a picture")
    with pytest.raises(EngineInputError, match=message):
        generate(engine, tmp_path / "out", image=image and tmp_path / image, **params)


def test_options_come_from_the_folder(tiny_sd: Path) -> None:
    spec = ModelSpec("tiny-sd", tiny_sd, "diffusers")
    options = DiffusersImageEngine.options("images", spec)
    schema = parameter_schema(options)["properties"]
    assert schema["size"]["default"] == "64x64"  # unet sample_size 32 x VAE factor 2
    assert (schema["steps"]["default"], schema["guidance_scale"]["default"]) == (30, 7.5)
    assert {"EulerDiscreteScheduler", "DDIMScheduler"} <= set(schema["scheduler"]["enum"])
    assert (schema["n"]["minimum"], schema["n"]["maximum"]) == (1, 8)
    assert {"prompt", "quality", "style"}.isdisjoint(schema)
    assert {"keep_alive", "user", "response_format", "negative_prompt"} <= set(schema)
    assert options.model_validate({"size": None, "n": None}).n == 1  # null means default
    with pytest.raises(ValidationError):
        options.model_validate({"strength": 0})
    with pytest.raises(KeyError):
        DiffusersImageEngine.options("chat", spec)
    caps = DiffusersImageEngine.capabilities(spec)
    assert caps.images and not (caps.chat or caps.stream or caps.meshes)


def _configs(folder: Path, pipeline: str, scheduler: str, denoiser: str, sample: int) -> Path:
    """Only the JSON files of a pipeline folder (options never read weights)."""
    for sub, data in (
        (".", {"_class_name": pipeline, denoiser: ["diffusers", "X"]}),
        ("scheduler", {"_class_name": scheduler}),
        (denoiser, {"sample_size": sample}),
        ("vae", {"block_out_channels": [128, 256, 512, 512]}),
    ):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        name = "model_index.json" if sub == "." else "config.json"
        if sub == "scheduler":
            name = "scheduler_config.json"
        (folder / sub / name).write_text(json.dumps(data))
    return folder


@pytest.mark.parametrize(
    ("name", "pipeline", "scheduler", "denoiser", "sample", "expected"),
    [
        ("sd15", "StableDiffusionPipeline", "PNDMScheduler", "unet", 64, ("512x512", 30, 7.5)),
        (
            "sdxl",
            "StableDiffusionXLPipeline",
            "EulerDiscreteScheduler",
            "unet",
            128,
            ("1024x1024", 30, 5.0),
        ),
        (
            "sdxl-turbo",
            "StableDiffusionXLPipeline",
            "EulerAncestralDiscreteScheduler",
            "unet",
            64,
            ("512x512", 4, 0.0),
        ),
        (
            "flux-dev",
            "FluxPipeline",
            "FlowMatchEulerDiscreteScheduler",
            "transformer",
            128,
            ("1024x1024", 30, 3.5),
        ),
        (
            "FLUX.1-schnell",
            "FluxPipeline",
            "FlowMatchEulerDiscreteScheduler",
            "transformer",
            128,
            ("1024x1024", 4, 0.0),
        ),
    ],
)
def test_defaults_follow_the_pipeline(
    tmp_path: Path,
    name: str,
    pipeline: str,
    scheduler: str,
    denoiser: str,
    sample: int,
    expected: tuple[str, int, float],
) -> None:
    folder = _configs(tmp_path / name, pipeline, scheduler, denoiser, sample)
    options = DiffusersImageEngine.options("images", ModelSpec(name, folder, "diffusers"))
    schema = parameter_schema(options)["properties"]
    got = (schema["size"]["default"], schema["steps"]["default"])
    assert (*got, schema["guidance_scale"]["default"]) == expected
    if denoiser == "transformer":  # DiT pipelines: sides in multiples of 16, own scheduler
        assert schema["scheduler"]["enum"] == [scheduler]
        with pytest.raises(ValidationError, match="multiple of 16"):
            options.model_validate({"size": "1024x1000"})
    else:
        assert scheduler in schema["scheduler"]["enum"]
        assert "UniPCMultistepScheduler" in schema["scheduler"]["enum"]


async def test_through_a_worker_process(generation_model_dir: Path, tmp_path: Path) -> None:
    manager = ModelManager(LocalSettings(model_dirs=[generation_model_dir], threads=1))
    job = Job("images", {"size": "64x72", "steps": 2, "seed": 5}, prompt=PROMPT)
    job.output_dir = str(tmp_path)
    try:
        outputs = [item async for item in manager.run("tiny-sd", job)]
        [row] = manager.loaded()
    finally:
        await manager.aclose()
    assert row.engine == "diffusers"
    assert steps_of(outputs) == [1, 2]
    [f] = files_of(outputs)
    assert f["meta"] == {"width": 64, "height": 72, "seed": 5}
    assert len(pixels(f["path"])) == 64 * 72 * 3
