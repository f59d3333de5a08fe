#!/usr/bin/env bash
# Creates .venv and installs PlugAI with the given extras (e.g. "dev,local"), only when
# pyproject.toml changed since the last install of that set: fast when already set up.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
EXTRAS="${1:-}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
# The `local` extra (llama.cpp, transformers) wants torch first: the pinned CPU build, so that
# pip never pulls a multi-GB CUDA build; llama-cpp-python compiles portable code (pip caches
# the built wheel, so only the first install pays the ~4 minutes).
TORCH_VERSION="${PLUGAI_TORCH_VERSION:-2.13.0}"
if [[ ",$EXTRAS," == *",local,"* ]]; then
  torch_stamp="$VENV/.installed-torch"
  if [ ! -f "$torch_stamp" ] || [ "$(cat "$torch_stamp")" != "$TORCH_VERSION" ]; then
    echo "installing torch==$TORCH_VERSION in $VENV" >&2
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "torch==$TORCH_VERSION" 2>&1 \
      | { grep -v "is ignored: it is neither a file nor a directory" || true; } >&2
    echo "$TORCH_VERSION" > "$torch_stamp"
  fi
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
fi
stamp="$VENV/.installed-${EXTRAS:-base}"
want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setting up PlugAI in $VENV ${EXTRAS:+(extras: $EXTRAS)}" >&2
  spec="$ROOT"
  [ -n "$EXTRAS" ] && spec="$ROOT[$EXTRAS]"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$spec" 2>&1 \
    | { grep -v "is ignored: it is neither a file nor a directory" || true; } >&2
  echo "$want" > "$stamp"
fi
