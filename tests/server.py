"""Runs a real `plugai serve` process for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    url: str
    proc: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")


@contextmanager
def run_server(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 30.0
) -> Iterator[ServerProcess]:
    port = free_port()
    logs = data_dir.parent / f"logs-{port}"
    logs.mkdir(parents=True, exist_ok=True)
    out, err = logs / "stdout.txt", logs / "stderr.txt"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGAI_")}
    full_env.update(env or {})
    cmd = [
        sys.executable,
        "-m",
        "plugai",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    with out.open("wb") as fo, err.open("wb") as fe:
        proc = subprocess.Popen([*cmd, *args], stdout=fo, stderr=fe, env=full_env)
    server = ServerProcess(f"http://127.0.0.1:{port}", proc, out, err)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{server.output()}")
            try:
                if httpx.get(server.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not become healthy:\n{server.output()}")
            time.sleep(0.05)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
