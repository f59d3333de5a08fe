#!/usr/bin/env bash
# The GPU check of issues 4 and 8, short and bounded (~8 minutes in all): sets up, then runs
#   bench/local_text.py  - GGUF chat through PlugAI vs llama.cpp directly, with GPU offload
#   bench/generation.py  - images and meshes through PlugAI vs diffusers directly, on CUDA
# each under `timeout`, and prints their tables. Without CUDA it says so and runs the same
# benchmarks small, on the CPU (a dry run of this script anywhere).
#
#   bench/gpu_check.sh          # from anywhere; works in the repository root
#   bench/gpu_check.sh fetch    # here, before: wheels for an offline GPU machine, into .whl/
#
# Environment:
#   PLUGAI_GPU_SETUP   how to get a Python with PlugAI (default auto):
#     venv    scripts/setup.sh dev,local (needs a package index). Its torch is pinned to the
#             CPU build (PLUGAI_TORCH_VERSION, 2.13.0): set PLUGAI_TORCH_VERSION to a CUDA
#             build (e.g. 2.13.0+cu128) and PLUGAI_TORCH_INDEX to the index holding it (e.g.
#             https://download.pytorch.org/whl/cu128). With nvcc on the PATH, llama-cpp-python
#             is compiled with CUDA (CMAKE_ARGS), which takes minutes the first time.
#     system  the machine's python3 and its CUDA torch (an offline machine: this workplace's
#             GPU machines have torch, transformers, accelerate but no diffusers or FastAPI);
#             PlugAI runs from src/, the rest comes from the wheels in .whl/ (`fetch` first,
#             and carry .whl). llama-cpp-python from a wheel is CPU-only: local_text then says
#             "no GPU offload" (PLUGAI_LLAMA_CUDA=1 compiles it from a carried sdist instead).
#     none    use $PYTHON as it is.
#     auto    none when .venv already has PlugAI and diffusers; else system when .whl/ exists;
#             else venv.
#   PYTHON             the interpreter for "none" (default .venv/bin/python) and "system"
#                      (default python3).
#   SETUP_S, TEXT_S, GENERATION_S   the time limits of the three parts (180, 120, 180 s).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
SETUP_S="${SETUP_S:-180}"
TEXT_S="${TEXT_S:-120}"
GENERATION_S="${GENERATION_S:-180}"
export PYTHONUNBUFFERED=1

# Packages the GPU image already has (its torch stack); everything else PlugAI needs is fetched.
IMAGE_HAS="torch triton numpy transformers tokenizers safetensors huggingface-hub accelerate \
pillow pyyaml httpx httpcore anyio h11 idna certifi sniffio psutil typer click rich \
filelock fsspec jinja2 markupsafe networkx sympy mpmath packaging regex requests tqdm \
typing-extensions urllib3 charset-normalizer setuptools scipy"

fetch() {
  # Wheels (CPython 3.12, manylinux x86-64) of the versions installed here, minus the image's.
  local py="${PYTHON:-.venv/bin/python}"
  mkdir -p .whl
  grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >>.git/info/exclude
  "$py" - "$IMAGE_HAS" <<'EOF' >/tmp/plugai-wheels.txt
import re, sys
from importlib import metadata

skip = set(sys.argv[1].split())
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
want, todo = {}, ["plugai[local]"]
while todo:
    req = todo.pop()
    name = norm(re.split(r"[\[<>=!~ ;]", req, maxsplit=1)[0])
    extras = set(re.findall(r"\[([^\]]*)\]", req.split(";")[0])[:1] or [""])
    extras = {e.strip() for x in extras for e in x.split(",") if e.strip()}
    if name in want or name in skip or name.startswith("nvidia-") or name == "plugai" and want:
        continue
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        continue
    if name != "plugai":
        want[name] = dist.version
    for r in dist.requires or []:
        marker = r.split(";", 1)[1] if ";" in r else ""
        if "extra" in marker and not any(f'"{e}"' in marker for e in extras):
            continue
        if "sys_platform" in marker and "linux" not in marker and "!=" not in marker:
            continue
        todo.append(r)
for name, version in sorted(want.items()):
    if name != "llama-cpp-python":
        print(f"{name}=={version}")
EOF
  local plat="--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64"
  plat="$plat --platform manylinux2014_x86_64 --platform manylinux1_x86_64"
  local failed=0
  while read -r spec; do
    # shellcheck disable=SC2086
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
      --implementation cp $plat -d .whl "$spec" 2>/dev/null ||
      python3 -m pip download -q --no-deps --only-binary=:all: -d .whl "$spec" 2>/dev/null ||
      { echo "no wheel for $spec" >&2; failed=1; }
  done </tmp/plugai-wheels.txt
  if [ "${PLUGAI_LLAMA_CUDA:-0}" = 1 ]; then
    python3 -m pip download -q --no-deps --no-binary=:all: -d .whl \
      "llama-cpp-python==$("$py" -c 'import llama_cpp; print(llama_cpp.__version__)')" \
      scikit-build-core pathspec || failed=1
  fi
  du -sh .whl
  echo "carry .whl (at most 64 MiB travel in all); then run bench/gpu_check.sh there" >&2
  return $failed
}

setup() {
  local mode="${PLUGAI_GPU_SETUP:-auto}"
  if [ "$mode" = auto ]; then
    if .venv/bin/python -c 'import plugai, diffusers' 2>/dev/null; then
      mode=none
    elif [ -d .whl ]; then
      mode=system
    else
      mode=venv
    fi
  fi
  echo "== setup: $mode"
  case "$mode" in
    none) PY="${PYTHON:-.venv/bin/python}" ;;
    venv)
      if [ -n "${PLUGAI_TORCH_INDEX:-}" ]; then
        export PIP_EXTRA_INDEX_URL="$PLUGAI_TORCH_INDEX ${PIP_EXTRA_INDEX_URL:-}"
      fi
      if command -v nvcc >/dev/null; then
        export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_CUDA=on -DGGML_NATIVE=OFF}"
      fi
      timeout "$SETUP_S" scripts/setup.sh dev,local || {
        echo "setup failed or passed ${SETUP_S}s" >&2
        return 1
      }
      PY=.venv/bin/python
      ;;
    system)
      PY="${PYTHON:-python3}"
      local site=/tmp/plugai-site
      if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
        timeout "$SETUP_S" "$PY" -m pip install -q --no-index --no-deps --no-compile \
          --no-cache-dir --upgrade --target "$site" .whl/*.whl || return 1
      fi
      if [ "${PLUGAI_LLAMA_CUDA:-0}" = 1 ] && ls .whl/llama_cpp_python-*.tar.gz >/dev/null 2>&1; then
        CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=native" timeout "$SETUP_S" \
          "$PY" -m pip install -q --no-index --no-deps --no-build-isolation \
          --find-links .whl --target "$site" .whl/llama_cpp_python-*.tar.gz ||
          echo "llama-cpp-python with CUDA did not build in time: local_text will be skipped" >&2
      fi
      export PYTHONPATH="$ROOT/src:$ROOT:$site${PYTHONPATH:+:$PYTHONPATH}"
      ;;
    *)
      echo "PLUGAI_GPU_SETUP must be auto, venv, system or none (got $mode)" >&2
      return 1
      ;;
  esac
  "$PY" -c 'import plugai, diffusers, torch' || {
    echo "$PY cannot import plugai, diffusers and torch" >&2
    return 1
  }
}

[ "${1:-}" = fetch ] && { fetch; exit $?; }
started=$SECONDS
setup || exit 1
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version \
  --format=csv,noheader
CUDA="$("$PY" -c 'import torch; print(int(torch.cuda.is_available()))' 2>/dev/null || echo 0)"
status=0
if [ "$CUDA" = 1 ]; then
  echo "== CUDA: $("$PY" -c 'import torch; print(torch.__version__, torch.cuda.get_device_name())')"
  TEXT_ARGS=(--layers 16 --width 1024 --tokens 256 --runs 3)
  GEN_ARGS=(--device cuda --width 128 --size 512x512 --steps 20 --runs 5 --mesh-steps 64
    --mesh-resolution 128)
else
  echo "== no CUDA here ($("$PY" -c 'import torch; print(torch.__version__)')):" \
    "running the CPU equivalents, small (figures are not the GPU's)"
  TEXT_ARGS=(--layers 2 --width 256 --tokens 32 --runs 2)
  GEN_ARGS=(--device cpu --width 32 --size 128x128 --steps 4 --runs 2 --mesh-steps 4
    --mesh-resolution 32)
fi

echo "== bench/local_text.py ${TEXT_ARGS[*]} (limit ${TEXT_S}s)"
if "$PY" -c 'import llama_cpp' 2>/dev/null; then
  timeout "$TEXT_S" "$PY" bench/local_text.py "${TEXT_ARGS[@]}" 2>/tmp/plugai-local-text.err ||
    { status=1; echo "local_text failed or passed ${TEXT_S}s:" >&2; tail -5 /tmp/plugai-local-text.err >&2; }
else
  echo "llama_cpp is not installed: skipped"
fi

echo "== bench/generation.py ${GEN_ARGS[*]} (limit ${GENERATION_S}s)"
timeout "$GENERATION_S" "$PY" bench/generation.py "${GEN_ARGS[@]}" 2>/tmp/plugai-generation.err ||
  { status=1; echo "generation failed or passed ${GENERATION_S}s:" >&2; tail -5 /tmp/plugai-generation.err >&2; }

echo "== done in $((SECONDS - started)) s (status $status)"
exit $status
