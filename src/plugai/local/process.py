"""The gateway's handle on one worker process: start it, stream jobs through its pipes,
notice its death, stop it.

Reading the worker's stdout is the only thing the gateway does for a generation, on its
event loop, without blocking. When the pipe ends (crash, OOM kill, unload), every request
still waiting on this worker fails at once with a 503 that says why — nothing hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import sys
import time
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import Any

import orjson
import structlog

from plugai.core.errors import InvalidRequest, PlugAIError, UpstreamProtocolError
from plugai.local.engines.base import Job, ModelSpec, Output
from plugai.local.errors import ModelLoadFailed, ModelUnloaded, WorkerCrashed

log = structlog.get_logger("plugai.local")
_PIPE_LIMIT = 64 * 1024 * 1024  # one line may hold a batch of embeddings


def rss_bytes(pid: int) -> int | None:
    """Resident memory of ``pid`` (Linux ``/proc``; None elsewhere)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


class WorkerProcess:
    """One running worker. ``on_exit`` is called once when the process is gone."""

    def __init__(self, spec: ModelSpec, on_exit: Callable[[WorkerProcess], None]) -> None:
        self.spec = spec
        self.info: dict[str, Any] = {}
        self.loaded_at = 0.0  # wall clock
        self._on_exit = on_exit
        self._proc: asyncio.subprocess.Process | None = None
        self._pending: dict[int, asyncio.Queue[dict[str, Any] | PlugAIError]] = {}
        self._ids = itertools.count(1)
        self._reader: asyncio.Task[None] | None = None
        self._stopping: str | None = None  # why we are ending it, when we are
        self.exited = asyncio.Event()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and not self.exited.is_set()

    @property
    def busy(self) -> int:
        return len(self._pending)

    # --- start / stop -------------------------------------------------------------------
    async def start(self, load_timeout: float) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "plugai.local.worker",
            orjson.dumps(self.spec.to_json()).decode(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            limit=_PIPE_LIMIT,
        )
        assert self._proc.stdout is not None
        try:
            line = await asyncio.wait_for(self._proc.stdout.readline(), load_timeout)
        except TimeoutError:
            await self._kill()
            raise ModelLoadFailed(
                f"local/{self.spec.name} did not load within {load_timeout:.0f} s."
            ) from None
        message: dict[str, Any] = {"event": "failed", "error": "it exited"}
        if line.strip():
            message = orjson.loads(line)
        if message.get("event") != "ready":
            await self._kill()
            raise ModelLoadFailed(f"local/{self.spec.name} failed to load: {message.get('error')}")
        self.info = dict(message.get("info") or {})
        self.loaded_at = time.time()
        self._reader = asyncio.create_task(self._read(), name=f"worker-{self.spec.name}")
        log.info("model_loaded", model=self.spec.name, pid=self.pid, **self._public_info())

    def _public_info(self) -> dict[str, Any]:
        return {k: v for k, v in self.info.items() if k in ("device", "n_ctx", "engine")}

    async def stop(self, reason: str, grace: float = 5.0) -> None:
        """End the worker; requests still running on it fail with ``reason``."""
        if self._proc is None or self.exited.is_set():
            return
        self._stopping = reason
        if self._proc.stdin is not None:
            self._proc.stdin.close()  # the worker exits at end of input
        try:
            await asyncio.wait_for(self.exited.wait(), grace)
        except TimeoutError:
            await self._kill()
            await self.exited.wait()

    async def _kill(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            await self._proc.wait()
        if self._reader is None:
            self.exited.set()

    # --- the pipe -----------------------------------------------------------------------
    async def _read(self) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        try:
            async for line in self._proc.stdout:
                message = orjson.loads(line)
                target = self._pending.get(int(message.get("id", 0)))
                if target is not None:
                    target.put_nowait(message)
        except (ValueError, orjson.JSONDecodeError):
            log.exception("worker_protocol_error", model=self.spec.name)
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
        finally:
            code = await self._proc.wait()
            self.exited.set()
            error = self._exit_error(code)
            for target in self._pending.values():
                target.put_nowait(error)
            if self._stopping is None:
                log.warning("worker_died", model=self.spec.name, pid=self.pid, code=code)
            self._on_exit(self)

    def _exit_error(self, code: int | None) -> PlugAIError:
        name = f"local/{self.spec.name}"
        if self._stopping is not None:
            return ModelUnloaded(f"{name} was unloaded while this request ran ({self._stopping}).")
        return WorkerCrashed(
            f"The worker process of {name} stopped during this request ({_exit_text(code)}); "
            "the next request starts a fresh one."
        )

    async def run(self, job: Job) -> AsyncGenerator[Output, None]:
        """The outputs of ``job``. Leaving early (client gone) cancels it in the worker."""
        if not self.alive or self._proc is None or self._proc.stdin is None:
            raise self._exit_error(self._proc.returncode if self._proc else None)
        job_id = next(self._ids)
        inbox: asyncio.Queue[dict[str, Any] | PlugAIError] = asyncio.Queue()
        self._pending[job_id] = inbox
        finished = False
        try:
            self._send({"op": "run", "id": job_id, "job": job.to_json()})
            while True:
                message = await inbox.get()
                if isinstance(message, PlugAIError):
                    finished = True
                    raise message
                event = message.get("event")
                if event == "item":
                    yield message["data"]
                elif event == "done":
                    finished = True
                    return
                elif event == "error":
                    finished = True
                    if message.get("invalid"):
                        raise InvalidRequest(str(message.get("error")))
                    raise UpstreamProtocolError(
                        f"local/{self.spec.name} failed: {message.get('error')}"
                    )
        finally:
            self._pending.pop(job_id, None)
            if not finished and self.alive:
                self._send({"op": "cancel", "id": job_id})

    def _send(self, message: dict[str, Any]) -> None:
        assert self._proc is not None
        assert self._proc.stdin is not None
        # A dead worker is noticed by the reader, which fails the request.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, RuntimeError):
            self._proc.stdin.write(orjson.dumps(message) + b"\n")
