"""Shared benchmark plumbing: pinned subprocesses that are always cleaned up, /proc readers
(CPU time and RSS of a process and its children) and percentiles. Linux only."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType

BENCH = Path(__file__).resolve().parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in task.read_text().split()]
    return found


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    pids, i = [pid], 0
    while i < len(pids) and i < 1000:
        pids += _children(pids[i])
        i += 1
    return pids


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and its live descendants, in seconds."""
    ticks = 0
    for p in tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
            ticks += int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)
    return ticks / CLK_TCK


def rss_mb(pid: int) -> float:
    """VmRSS of ``pid`` and its descendants, in MB."""
    kb = 0
    for p in tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    kb += int(line.split()[1])
    return kb / 1024


def run_delay(pid: int) -> float:
    """Seconds the main thread of ``pid`` was ready to run but waited for a core
    (``/proc/PID/schedstat``): for a one-thread process alone on its core, the time that
    other work took from it."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    return 0.0


def busy_seconds(cores: set[int]) -> float:
    """CPU time spent on ``cores`` by anything (``/proc/stat``): set against what our own
    processes used, it shows how much other work ran beside a measurement."""
    ticks = 0
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cores:
            user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
            ticks += user + nice + system + irq + softirq + steal
    return ticks / CLK_TCK


def pct(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` (nearest rank), or NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def pin(cpu: int) -> None:
    """Pin this process to one core."""
    os.sched_setaffinity(0, {cpu})


class Processes:
    """Starts pinned subprocesses in their own process groups; ``close`` (also run on
    SIGTERM, Ctrl-C and errors when used as a context manager) ends every one of them."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(
        self, cmd: Sequence[str], cpu: int, log: Path, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            proc = subprocess.Popen(
                ["taskset", "-c", str(cpu), *cmd],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def upstream(
        self, cpu: int, log: Path, pace_ms: float = 0.0
    ) -> tuple[subprocess.Popen[bytes], int]:
        """The fake OpenAI upstream (``fake_upstream.py``), ready to answer."""
        port = free_port()
        cmd = [sys.executable, str(BENCH / "fake_upstream.py"), "--port", str(port)]
        proc = self.start([*cmd, "--pace", str(pace_ms)], cpu, log)
        wait_port(port, proc)
        return proc, port

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)

    def close(self) -> None:
        while self.procs:
            self.stop(self.procs.pop())

    def __enter__(self) -> Processes:
        signal.signal(signal.SIGTERM, _exit_on_signal)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """Progress on stderr, so the table on stdout stays clean."""
    started = time.perf_counter()
    print(f"  {name} …", end="", file=sys.stderr, flush=True)
    try:
        yield
    finally:
        print(f" {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
