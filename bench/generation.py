"""Local image and 3D generation through PlugAI versus the same diffusers pipeline called
directly.

Same pipeline folder, same settings (prompt, seed, steps, size, guidance, mesh resolution;
for meshes the engine's defaults, 64 steps on a 128³ grid, so a mesh takes seconds as it
does with a real model rather than the fixed costs of a request),
same thread count and device: seconds per image and per mesh in one process with diffusers,
and through ``plugai serve`` (HTTP, the generation service, the model's worker process,
artifacts), printed side by side with their ratio, plus model load time both ways. Each side
loads the model first and makes one warm-up call; then ``--runs`` rounds time the two
sides in turns (median), so that load from elsewhere on the machine touches both alike.

    .venv/bin/python bench/generation.py                       # builds random-weight models
    .venv/bin/python bench/generation.py --sd DIR --shap-e DIR # or measures yours

The direct side does what a script would: the pipeline call and the file written (a PNG; a
GLB through trimesh). PlugAI's engine also writes a mesh's preview PNG, timed apart on the
direct side, since it is work a plain script does not do: PlugAI is timed without it
(``preview: false``, the same work as direct) and with it. CUDA is used when
torch sees a GPU (``--device`` to choose), in half precision like the engines.

Goal (issue 8): through PlugAI ≥ 97 % of direct speed.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import Processes, free_port, stage

ADMIN_KEY = "sk-plugai-bench-admin-key-0123456789abcdef"
PROMPT = "a red fox"  # fits the built models' 16-token context


# --- models -------------------------------------------------------------------------------
def build_models(folder: Path, width: int) -> tuple[Path, Path]:
    """An SD-shaped pipeline (UNet levels ``width, 2w, 2w``, an 8x VAE: 256x256 images from
    32x32 latents) and the tests' tiny Shap-E, both with random weights."""
    from tests.local.tiny_diffusion import build_sd, build_shap_e

    sd = build_sd(
        folder / "bench-sd",
        unet_widths=(width, 2 * width, 2 * width),
        vae_widths=(width // 2, width, width, 2 * width),
        text_width=2 * width,
        sample_size=32,
    )
    return sd, build_shap_e(folder / "bench-shap-e")


def pick_device(asked: str) -> str:
    if asked != "auto":
        return asked
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


# --- the two sides, timed in turns ----------------------------------------------------------
@dataclass
class Side:
    """One way of making an item: its load time and a call that makes one."""

    load_s: float
    call: Callable[[], Any]
    runs: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def run_s(self) -> float:
        return statistics.median(self.runs)


def in_turns(sides: list[Side], runs: int) -> None:
    """A warm-up each, then ``runs`` rounds alternating the order of the sides, so that a
    change of load on the machine touches every side alike."""
    for side in sides:
        side.call()
    for i in range(runs):
        for side in sides if i % 2 == 0 else sides[::-1]:
            started = time.perf_counter()
            side.call()
            side.runs.append(time.perf_counter() - started)


# --- direct -------------------------------------------------------------------------------


def direct_images(path: Path, args: argparse.Namespace, out: Path) -> Side:
    import torch
    from diffusers import AutoPipelineForText2Image

    from plugai.local.engines.generation import dtype_argument

    dtype = torch.float16 if args.device == "cuda" else torch.float32
    started = time.perf_counter()
    pipe: Any = AutoPipelineForText2Image.from_pretrained(str(path), **dtype_argument(dtype))
    pipe.to(args.device)
    load = time.perf_counter() - started
    pipe.set_progress_bar_config(disable=True)
    width, height = (int(v) for v in args.size.split("x"))

    def one() -> None:
        with torch.inference_mode():
            image = pipe(
                prompt=PROMPT,
                num_inference_steps=args.steps,
                guidance_scale=args.guidance_scale,
                width=width,
                height=height,
                output_type="pil",
                generator=torch.Generator("cpu").manual_seed(args.seed),
            ).images[0]
        image.save(out / "image.png", "PNG")

    return Side(load, one)


def direct_meshes(path: Path, args: argparse.Namespace, out: Path) -> Side:
    import torch
    import trimesh
    from diffusers import ShapEPipeline

    from plugai.local.engines.generation import dtype_argument
    from plugai.local.engines.meshes import colored_mesh, write_preview

    dtype = torch.float16 if args.device == "cuda" else torch.float32
    started = time.perf_counter()
    pipe: Any = ShapEPipeline.from_pretrained(str(path), **dtype_argument(dtype))
    pipe.to(args.device)
    load = time.perf_counter() - started
    pipe.set_progress_bar_config(disable=True)
    last: list[Any] = []

    def one() -> None:
        with torch.inference_mode():
            latents = pipe(
                prompt=PROMPT,
                num_inference_steps=args.mesh_steps,
                guidance_scale=15.0,
                generator=torch.Generator("cpu").manual_seed(args.seed),
                output_type="latent",
            ).images
            raw = pipe.shap_e_renderer.decode_to_mesh(
                latents[0][None, :], args.device, grid_size=args.mesh_resolution
            )
        rgb = torch.stack([raw.vertex_channels[c].float() for c in "RGB"], dim=1)
        mesh = trimesh.Trimesh(
            vertices=raw.verts.float().cpu().numpy(),
            faces=raw.faces.cpu().numpy(),
            vertex_colors=(rgb.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy(),
            process=False,
        )
        mesh.export(file_obj=str(out / "mesh.glb"), file_type="glb")
        last[:] = [raw, rgb]

    side = Side(load, one)

    def preview() -> None:
        """Timed apart, after the runs: the preview PNG PlugAI's engine also draws."""
        raw, rgb = last
        verts, faces = raw.verts.float().cpu().numpy(), raw.faces.cpu().numpy()
        mesh = colored_mesh(verts, faces, rgb.cpu().numpy())
        started = time.perf_counter()
        write_preview(mesh, out / "preview.png")
        side.extra = {"preview_s": time.perf_counter() - started, "faces": len(mesh.faces)}

    side.extra["finish"] = preview
    return side


# --- through PlugAI -----------------------------------------------------------------------
def through_plugai(
    sd: Path | None, shap_e: Path | None, args: argparse.Namespace, direct: dict[str, Side]
) -> dict[str, Any]:
    """Start ``plugai serve`` on the models and time it in turns with the direct sides."""
    tmp = Path(tempfile.mkdtemp(prefix="plugai-bench-"))
    models = tmp / "models"  # links: the folder name is the model's name
    models.mkdir()
    for path in (sd, shap_e):
        if path is not None:
            (models / path.name).symlink_to(path.resolve())
    config = tmp / "plugai.yaml"
    local: dict[str, Any] = {"model_dirs": [str(models)], "keep_alive": -1, "scan_hf_cache": False}
    if args.threads:
        local["threads"] = args.threads
    config.write_text(json.dumps({"local": local}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGAI_")}
    env["PLUGAI_ADMIN_KEY"] = ADMIN_KEY
    if args.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""  # the engines pick CUDA whenever torch sees it
    port = free_port()
    cmd = [sys.executable, "-m", "plugai", "serve", "--port", str(port), "--log-level", "warning"]
    cmd += ["--data-dir", str(tmp / "data"), "--config", str(config)]
    url = f"http://127.0.0.1:{port}"
    found: dict[str, Any] = {}
    with Processes() as procs:
        procs.start(cmd, args.cpus, tmp / "plugai.log", env)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        with httpx.Client(base_url=url, headers=headers, timeout=900) as http:
            if sd is not None:
                body = {
                    "model": f"local/{sd.name}",
                    "prompt": PROMPT,
                    "size": args.size,
                    "steps": args.steps,
                    "guidance_scale": args.guidance_scale,
                    "seed": args.seed,
                    "response_format": "b64_json",
                }

                def image() -> None:
                    r = http.post("/v1/images/generations", json=body)
                    r.raise_for_status()
                    base64.b64decode(r.json()["data"][0]["b64_json"])

                found["images"] = Side(load_time(http, sd.name), image)
                with stage("images, direct and PlugAI in turns"):
                    in_turns([direct["images"], found["images"]], args.runs)
            if shap_e is not None:
                body = {
                    "model": f"local/{shap_e.name}",
                    "prompt": PROMPT,
                    "steps": args.mesh_steps,
                    "guidance_scale": 15.0,
                    "seed": args.seed,
                    "mesh_resolution": args.mesh_resolution,
                    "format": "glb",
                }

                def mesh(preview: bool) -> Callable[[], None]:
                    def one() -> None:
                        r = http.post("/v1/3d/generations", json={**body, "preview": preview})
                        r.raise_for_status()
                        [made] = r.json()["data"]
                        assert made["faces"], r.text
                        assert (made["preview"] is not None) == preview, r.text

                    return one

                load = load_time(http, shap_e.name)
                found["meshes"] = Side(load, mesh(preview=False))
                found["meshes+preview"] = Side(load, mesh(preview=True))
                with stage("meshes, direct and PlugAI in turns"):
                    sides = [direct["meshes"], found["meshes"], found["meshes+preview"]]
                    in_turns(sides, args.runs)
            loaded = http.get("/v1/registry/loaded").json()["data"]
            found["devices"] = sorted({str(row.get("device") or "?") for row in loaded})
    return found


def load_time(http: httpx.Client, name: str) -> float:
    started = time.perf_counter()
    http.post(f"/v1/registry/models/local/{name}/load").raise_for_status()
    return time.perf_counter() - started


# --- report -------------------------------------------------------------------------------
def row(label: str, mine: float, theirs: float, speed: bool) -> str:
    if speed:  # seconds per item: PlugAI's speed as a share of direct speed
        ratio = f"{mine / theirs:>13.1%}" if theirs else f"{'-':>13}"
    else:
        ratio = f"{theirs - mine:>+11.2f} s "
    return f"| {label:<16} | {mine:>9.3f} | {theirs:>9.3f} | {ratio} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sd", type=Path, help="a diffusers text-to-image folder")
    parser.add_argument("--shap-e", type=Path, help="a diffusers ShapEPipeline folder")
    parser.add_argument("--only", choices=["images", "meshes"], help="measure one kind")
    parser.add_argument("--width", type=int, default=128, help="built SD model: UNet width")
    parser.add_argument("--size", default="256x256")
    parser.add_argument("--steps", type=int, default=10, help="denoising steps per image")
    parser.add_argument("--guidance-scale", type=float, default=7.5)
    parser.add_argument("--mesh-steps", type=int, default=64, help="Shap-E's denoising steps")
    parser.add_argument("--mesh-resolution", type=int, default=128)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="torch threads, both sides (default: every core)",
    )
    parser.add_argument(
        "--cpus",
        default=f"0-{(os.cpu_count() or 1) - 1}",
        help="cores for the gateway (its model workers inherit them); default: all, like the "
        "direct run",
    )
    args = parser.parse_args()
    args.device = pick_device(args.device)

    import torch

    torch.set_num_threads(args.threads)
    built = Path(tempfile.mkdtemp(prefix="plugai-model-"))
    sd, shap_e = args.sd, args.shap_e
    if sd is None or shap_e is None:
        with stage("building models"):
            made_sd, made_shap_e = build_models(built, args.width)
        sd, shap_e = sd or made_sd, shap_e or made_shap_e
    if args.only == "meshes":
        sd = None
    if args.only == "images":
        shap_e = None
    out = built / "direct"
    out.mkdir()
    mine: dict[str, Side] = {}
    if sd is not None:
        with stage("direct images: loading"):
            mine["images"] = direct_images(sd, args, out)
    if shap_e is not None:
        with stage("direct meshes: loading"):
            mine["meshes"] = direct_meshes(shap_e, args, out)
    gateway = through_plugai(sd, shap_e, args, mine)
    if shap_e is not None:
        mine["meshes"].extra["finish"]()

    print(
        f"device {args.device} (PlugAI's workers: {', '.join(gateway['devices'])}), "
        f"{args.threads} threads, median of {args.runs} runs after a warm-up, "
        "the two sides in turns"
    )
    if sd is not None:
        print(f"images: {sd.name}, {args.size}, {args.steps} steps, guidance {args.guidance_scale}")
    if shap_e is not None:
        print(
            f"meshes: {shap_e.name}, {args.mesh_steps} steps, "
            f"mesh_resolution {args.mesh_resolution}, glb"
        )
    print(f"| {'':<16} | {'direct':>9} | {'PlugAI':>9} | {'speed / delta':>13} |")
    print(f"|{'-' * 18}|{'-' * 11}|{'-' * 11}|{'-' * 15}|")
    if sd is not None:
        a, b = mine["images"], gateway["images"]
        print(row("s per image", a.run_s, b.run_s, speed=True))
        print(row("image load s", a.load_s, b.load_s, speed=False))
    if shap_e is not None:
        a, b = mine["meshes"], gateway["meshes"]
        print(row("s per mesh", a.run_s, b.run_s, speed=True))
        with_preview = gateway["meshes+preview"].run_s
        print(row("  + preview PNG", a.run_s + a.extra["preview_s"], with_preview, speed=True))
        print(row("mesh load s", a.load_s, b.load_s, speed=False))
        print(
            f"(PlugAI draws a preview PNG unless asked not to (preview: false); for the "
            f"{a.extra['faces']}-face mesh it took {a.extra['preview_s']:.3f} s apart, which "
            "the direct side of the '+ preview' row adds)"
        )


if __name__ == "__main__":
    main()
