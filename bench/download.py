"""Download benchmark: PlugAI's downloader (``catalog.fetch``: Range resume, stall timeout,
inline sha256) against ``curl`` on the same file from the same loopback server, and the
time a killed ``plugai serve`` takes to resume a download after a restart.

    .venv/bin/python -m bench.download [--size-mib 256] [--runs 3]

The file server is a separate process (aiohttp ``FileResponse``: sendfile, ranges), so
neither client shares an interpreter with it. Resume: the server throttles to
``--resume-rate-mib`` MiB/s, the first ``plugai serve`` is SIGKILLed at ~30 %, and the
second one's job is timed until it receives new bytes and until it is done. A job whose
runner died is requeued once its heartbeat is 6 s old (safe with several workers or
machines on one database), so that wait is part of the resume time.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import aiohttp
import httpx

from bench.harness import free_port, wait_port
from plugai.catalog.fetch import RemoteFile, fetch

SERVER = textwrap.dedent(
    """
    import asyncio, sys
    from aiohttp import web
    path, port = sys.argv[1], int(sys.argv[2])
    rate = float(sys.argv[3]) * 1024 * 1024

    async def fast(request):
        return web.FileResponse(path)

    async def slow(request):
        data = open(path, "rb").read()
        start = int(request.headers.get("Range", "bytes=0-")[6:].split("-")[0] or 0)
        headers = {"Content-Length": str(len(data) - start), "Accept-Ranges": "bytes"}
        status = 206 if start else 200
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        resp = web.StreamResponse(status=status, headers=headers)
        await resp.prepare(request)
        if request.method == "HEAD":
            return resp
        chunk = 256 * 1024
        try:
            for i in range(start, len(data), chunk):
                await asyncio.sleep(chunk / rate)
                await resp.write(data[i:i + chunk])
        except ConnectionError:
            pass  # the client was killed: that is the point
        return resp

    app = web.Application()
    app.router.add_route("*", "/fast/model.gguf", fast)
    app.router.add_route("*", "/slow/model.gguf", slow)
    web.run_app(app, host="127.0.0.1", port=port, print=None)
    """
)
KEY = "sk-plugai-bench-admin-key-0123456789abcdef"


def make_file(path: Path, size_mib: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as f:
        for _ in range(size_mib):
            block = os.urandom(1024 * 1024)
            digest.update(block)
            f.write(block)
    return digest.hexdigest()


def curl(url: str, out: Path) -> float:
    out.unlink(missing_ok=True)
    start = time.perf_counter()
    subprocess.run(["curl", "-sS", "-o", str(out), url], check=True)
    return time.perf_counter() - start


def plugai_fetch(url: str, out: Path, size: int, sha256: str) -> float:
    out.unlink(missing_ok=True)

    async def run() -> None:
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            remote = RemoteFile(path=out.name, url=url, size=size, sha256=sha256)
            await fetch(session, remote, out, stall_timeout=30, on_bytes=lambda _n: None)

    start = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - start


def serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGAI_")}
    env |= {"PLUGAI_ADMIN_KEY": KEY, "PLUGAI_STORAGE__MIN_FREE_DISK": "0"}
    env["HF_HUB_CACHE"] = str(data_dir.parent / "empty-hf-cache")
    cmd = [sys.executable, "-m", "plugai", "serve", "--port", str(port)]
    cmd += ["--data-dir", str(data_dir)]
    log = (data_dir.parent / f"serve-{port}.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_port(port, proc, timeout=60)
    return proc


def job_state(base: str, job_id: str) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {KEY}"}
    r = httpx.get(f"{base}/v1/registry/downloads/{job_id}", headers=headers, timeout=10)
    return dict(r.json())


def resume(url: str, size: int, sha256: str, work: Path) -> dict[str, float]:
    data_dir = work / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = serve(data_dir, port)
    headers = {"Authorization": f"Bearer {KEY}"}
    body = {"source": url, "sha256": sha256}
    job = httpx.post(f"{base}/v1/registry/downloads", json=body, headers=headers).json()
    while int(job_state(base, job["id"])["bytes_done"]) < 0.3 * size:  # type: ignore[call-overload]
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    part = data_dir / "models" / ".partial" / job["id"] / "model.gguf.part"
    on_disk = part.stat().st_size
    restart = time.perf_counter()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = serve(data_dir, port)
    healthy = time.perf_counter() - restart
    resumed = 0.0
    try:
        while True:
            state = job_state(base, job["id"])
            done = int(state["bytes_done"])  # type: ignore[call-overload]
            if not resumed and state["state"] == "running" and done > on_disk:
                resumed = time.perf_counter() - restart
            if state["state"] in ("done", "failed"):
                break
            time.sleep(0.05)
        assert state["state"] == "done", state
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    return {
        "on_disk_fraction": on_disk / size,
        "restart_to_healthy_s": healthy,
        "restart_to_new_bytes_s": resumed,
        "restart_to_done_s": time.perf_counter() - restart,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--resume-size-mib", type=int, default=64)
    parser.add_argument("--resume-rate-mib", type=float, default=16.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plugai-bench-dl-") as tmp:
        work = Path(tmp)
        source = work / "model.gguf"
        sha256 = make_file(source, args.size_mib)
        size = source.stat().st_size
        port = free_port()
        cmd = [sys.executable, "-c", SERVER, str(source), str(port), str(args.resume_rate_mib)]
        server = subprocess.Popen(cmd)
        try:
            wait_port(port, server)
            url = f"http://127.0.0.1:{port}/fast/model.gguf"
            curl(url, work / "warm.bin")  # page cache
            curls, ours = [], []
            for _ in range(args.runs):
                curls.append(curl(url, work / "curl.bin"))
                ours.append(plugai_fetch(url, work / "plugai.part", size, sha256))
            best_curl, best_ours = min(curls), min(ours)
            mib = size / 1024 / 1024
            print(f"file: {mib:.0f} MiB, best of {args.runs}")
            print(f"curl:   {mib / best_curl:8.1f} MiB/s")
            print(f"plugai: {mib / best_ours:8.1f} MiB/s (sha256 verified inline)")
            print(f"ratio:  {best_curl / best_ours:8.2%} (goal >= 90%)")
            (work / "curl.bin").unlink(missing_ok=True)
            (work / "plugai.part").unlink(missing_ok=True)
            small = work / "resume" / "model.gguf"
            small.parent.mkdir()
            small_sha = make_file(small, args.resume_size_mib)
            server.send_signal(signal.SIGTERM)
            server.wait()
            cmd[3] = str(small)
            server = subprocess.Popen(cmd)
            wait_port(port, server)
            slow = f"http://127.0.0.1:{port}/slow/model.gguf"
            result = resume(slow, small.stat().st_size, small_sha, work / "resume")
            print(
                f"resume after SIGKILL at {result['on_disk_fraction']:.0%}: healthy in "
                f"{result['restart_to_healthy_s']:.1f} s, new bytes after "
                f"{result['restart_to_new_bytes_s']:.1f} s, done after "
                f"{result['restart_to_done_s']:.1f} s"
            )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait()


if __name__ == "__main__":
    main()
