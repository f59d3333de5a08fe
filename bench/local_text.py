"""Local text generation through PlugAI versus the same engine called directly.

Same GGUF file, same settings, same prompt, same number of tokens (for the built model the
end token is banned, so both run to ``--tokens``): tokens/s and time to first token, in one
process with llama-cpp-python and through ``plugai serve`` (HTTP + SSE + the model's worker
process), printed side by side with their ratio, plus model load time both ways.

    .venv/bin/python bench/local_text.py                  # builds a small random model
    .venv/bin/python bench/local_text.py --model x.gguf   # or measures yours

Goal (issue 4): through PlugAI ≥ 95 % of direct tokens/s and ≤ 5 ms added TTFT.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import Processes, free_port

ADMIN_KEY = "sk-plugai-bench-admin-key-0123456789abcdef"
MESSAGES = [{"role": "user", "content": "Tell me a story about a fox."}]


def build_model(folder: Path, layers: int, width: int) -> Path:
    from tests.local.tiny_models import build_hf, write_gguf

    hf = build_hf(folder / "bench-hf", layers=layers, width=width)
    return write_gguf(hf, folder / "bench.gguf")


def banned_tokens(path: Path) -> dict[str, float]:
    """A logit bias banning the end and control tokens (so both sides generate exactly
    ``--tokens``) and, for a random model, byte pieces of multi-byte characters: invalid
    UTF-8 makes llama-cpp-python hold text back, which would hide the token stream."""
    import llama_cpp

    vocab = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    banned = {}
    for token in range(vocab.n_vocab()):
        text = vocab.detokenize([token])
        if token == vocab.token_eos() or not text or any(b >= 0x80 for b in text):
            banned[str(token)] = -100.0
    return banned


def direct(path: Path, args: argparse.Namespace, bias: dict[str, float]) -> dict[str, Any]:
    import llama_cpp

    gpu = bool(llama_cpp.llama_supports_gpu_offload())  # as PlugAI's engine: all layers
    started = time.perf_counter()
    llm = llama_cpp.Llama(
        model_path=str(path), n_ctx=args.n_ctx, n_gpu_layers=-1 if gpu else 0, verbose=False
    )
    load = time.perf_counter() - started
    runs = []
    for _ in range(args.runs):
        started = time.perf_counter()
        first = None
        for piece in llm.create_chat_completion(
            messages=MESSAGES,
            max_tokens=args.tokens,
            temperature=0,
            seed=1,
            logit_bias={int(k): v for k, v in bias.items()},
            stream=True,
        ):
            if first is None and piece["choices"][0]["delta"].get("content"):
                first = time.perf_counter()
        runs.append((first, time.perf_counter(), started))
    llm.close()
    return summarize(load, runs, args.tokens)


def through_plugai(path: Path, args: argparse.Namespace, bias: dict[str, float]) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="plugai-bench-"))
    config = tmp / "plugai.yaml"
    config.write_text(
        json.dumps({"local": {"model_dirs": [str(path.parent)], "n_ctx": args.n_ctx}})
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGAI_")}
    env["PLUGAI_ADMIN_KEY"] = ADMIN_KEY
    port = free_port()
    cmd = [sys.executable, "-m", "plugai", "serve", "--port", str(port), "--log-level", "warning"]
    cmd += ["--data-dir", str(tmp / "data"), "--config", str(config)]
    url = f"http://127.0.0.1:{port}"
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
        with httpx.Client(base_url=url, headers=headers, timeout=600) as http:
            started = time.perf_counter()
            http.post(f"/v1/registry/models/local/{path.stem}/load").raise_for_status()
            load = time.perf_counter() - started
            runs = []
            body = {
                "model": f"local/{path.stem}",
                "messages": MESSAGES,
                "max_tokens": args.tokens,
                "temperature": 0,
                "seed": 1,
                "logit_bias": bias,
                "stream": True,
            }
            for _ in range(args.runs):
                started = time.perf_counter()
                first = None
                with http.stream("POST", "/v1/chat/completions", json=body) as r:
                    r.raise_for_status()
                    for line in r.iter_lines():
                        if first is None and line.startswith("data: {"):
                            piece = json.loads(line[6:])
                            if piece["choices"] and piece["choices"][0]["delta"].get("content"):
                                first = time.perf_counter()
                runs.append((first, time.perf_counter(), started))
    return summarize(load, runs, args.tokens)


def summarize(
    load: float, runs: list[tuple[float | None, float, float]], tokens: int
) -> dict[str, Any]:
    ttft = [(f or e) - s for f, e, s in runs]
    rate = [(tokens - 1) / (e - f) for f, e, _ in runs if f is not None and e > f]
    return {
        "load_s": load,
        "ttft_ms": statistics.median(ttft) * 1000,
        "tokens_per_s": statistics.median(rate) if rate else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a GGUF file (default: build one)")
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument(
        "--cpus",
        default=f"0-{(os.cpu_count() or 1) - 1}",
        help="cores for the gateway (its model workers inherit them); default: all, like the "
        "direct run",
    )
    args = parser.parse_args()
    path = args.model or build_model(
        Path(tempfile.mkdtemp(prefix="plugai-model-")), args.layers, args.width
    )
    bias = banned_tokens(path) if args.model is None else {}
    mine = direct(path, args, bias)
    gateway = through_plugai(path, args, bias)
    import llama_cpp

    device = "GPU offload" if llama_cpp.llama_supports_gpu_offload() else "CPU (no GPU offload)"
    print(f"model {path.name}, {args.tokens} tokens, median of {args.runs} runs, {device}")
    print(f"| {'':<14} | {'direct':>9} | {'PlugAI':>9} | {'ratio / delta':>14} |")
    print(f"|{'-' * 16}|{'-' * 11}|{'-' * 11}|{'-' * 16}|")
    rate = gateway["tokens_per_s"] / mine["tokens_per_s"] if mine["tokens_per_s"] else 0
    print(
        f"| {'tokens/s':<14} | {mine['tokens_per_s']:>9.1f} | "
        f"{gateway['tokens_per_s']:>9.1f} | {rate:>13.1%} |"
    )
    print(
        f"| {'TTFT ms':<14} | {mine['ttft_ms']:>9.1f} | {gateway['ttft_ms']:>9.1f} | "
        f"{gateway['ttft_ms'] - mine['ttft_ms']:>+11.1f} ms |"
    )
    print(
        f"| {'load s':<14} | {mine['load_s']:>9.2f} | {gateway['load_s']:>9.2f} | "
        f"{gateway['load_s'] - mine['load_s']:>+12.2f} s |"
    )


if __name__ == "__main__":
    main()
