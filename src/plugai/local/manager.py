"""``ModelManager``: which local models are loaded, and for how long.

A model loads on first use, in its own worker process. Requests to one model run one at a
time (one slot per model) behind a bounded queue; a full queue answers 503 + Retry-After.
After a request the model stays loaded for its keep-alive (the server's ``local.keep_alive``
is the most a request may ask for; -1 pins, 0 unloads at once); loading beyond
``max_loaded`` — or beyond ``memory_budget`` (each loaded model counts its worker's resident
memory, a model about to load counts the size of its weights) — first unloads the least
recently used idle models. Everything runs on the gateway's event loop; the only blocking
work happens in the workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from plugai.core.errors import ModelNotFound
from plugai.local.discovery import discover
from plugai.local.engines.base import Job, ModelSpec, Output
from plugai.local.errors import OverBudget, Overloaded
from plugai.local.process import WorkerProcess, rss_bytes
from plugai.settings import LocalSettings

log = structlog.get_logger("plugai.local")
PINNED = -1.0


def effective_keep_alive(requested: float | None, server: float) -> float:
    """The keep-alive a request gets: what it asks for, up to the server's maximum."""
    if requested is None:
        return server
    if server < 0:
        return requested
    if requested < 0:
        return server
    return min(requested, server)


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """One row of ``/v1/registry/loaded`` and ``plugai models ps``."""

    model: str
    engine: str
    pid: int | None
    device: str | None
    memory_bytes: int | None
    loaded_at: float  # unix time
    expires_at: float | None  # unix time; None while pinned or busy
    busy: int  # requests running or waiting
    context_length: int | None


@dataclass(eq=False)
class _Slot:
    spec: ModelSpec
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    worker: WorkerProcess | None = None
    waiting: int = 0  # requests running or queued
    last_used: float = 0.0
    keep_alive: float = 0.0
    expires_at: float | None = None  # monotonic
    timer: asyncio.TimerHandle | None = None

    @property
    def loaded(self) -> bool:
        return self.worker is not None and self.worker.alive


def weights_size(path: Path) -> int:
    """Bytes of a model's files: what loading it will roughly add to memory."""
    try:
        if path.is_file():
            return path.stat().st_size
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    except OSError:
        return 0


def _in_use(slots: list[_Slot]) -> int:
    """Resident memory of loaded models (their weights' size where /proc cannot say)."""
    total = 0
    for slot in slots:
        pid = slot.worker.pid if slot.worker is not None else None
        total += (rss_bytes(pid) if pid else None) or weights_size(slot.spec.path)
    return total


class ModelManager:
    def __init__(
        self,
        settings: LocalSettings,
        specs: dict[str, ModelSpec] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._slots: dict[str, _Slot] = {}
        self._load_lock = asyncio.Lock()  # one load (and its evictions) at a time
        self._stopping: set[asyncio.Task[None]] = set()
        # Told the model's name after each request (the registry records last use from it).
        self.on_used: Callable[[str], None] | None = None
        self.rescan(specs)

    # --- the models -----------------------------------------------------------------------
    def rescan(self, specs: dict[str, ModelSpec] | None = None) -> None:
        """Pick up models added to the folders (loaded ones stay as they are)."""
        found = discover(self.settings) if specs is None else specs
        for name, spec in found.items():
            if name not in self._slots:
                self._slots[name] = _Slot(spec)

    def specs(self) -> list[ModelSpec]:
        return [slot.spec for slot in self._slots.values()]

    def spec(self, name: str) -> ModelSpec:
        return self._slot(name).spec

    def _slot(self, name: str) -> _Slot:
        slot = self._slots.get(name)
        if slot is None:
            raise ModelNotFound(f"The model 'local/{name}' does not exist.", param="model")
        return slot

    # --- serving ----------------------------------------------------------------------------
    async def run(
        self, name: str, job: Job, keep_alive: float | None = None
    ) -> AsyncGenerator[Output, None]:
        """The outputs of ``job`` on model ``name``, loading it first when needed."""
        slot = self._slot(name)
        if slot.waiting >= 1 + self.settings.queue_size:
            raise Overloaded(
                f"local/{name} has {slot.waiting - 1} requests waiting already; try again later.",
                retry_after=5,
            )
        slot.waiting += 1
        self._cancel_timer(slot)
        try:
            async with slot.lock:
                worker = await self._ensure_loaded(slot)
                async with contextlib.aclosing(worker.run(job)) as outputs:
                    async for item in outputs:
                        yield item
        finally:
            slot.waiting -= 1
            slot.last_used = self._clock()
            if slot.waiting == 0:
                self._keep(slot, effective_keep_alive(keep_alive, self.settings.keep_alive))
            if self.on_used is not None:
                self.on_used(name)

    async def load(self, name: str, keep_alive: float | None = None) -> LoadedModel:
        """Load ``name`` now (no-op when loaded) and restart its keep-alive."""
        slot = self._slot(name)
        slot.waiting += 1
        self._cancel_timer(slot)
        try:
            if not slot.loaded:
                async with slot.lock:
                    await self._ensure_loaded(slot)
        finally:
            slot.waiting -= 1
            slot.last_used = self._clock()
        if slot.waiting == 0:
            self._keep(slot, effective_keep_alive(keep_alive, self.settings.keep_alive))
        state = self._state(slot)
        assert state is not None
        return state

    async def unload(self, name: str, reason: str = "unloaded by an admin") -> bool:
        """Stop ``name``'s worker now, even mid-request (those requests get a 503)."""
        slot = self._slot(name)
        self._cancel_timer(slot)
        worker, slot.worker = slot.worker, None
        if worker is None or not worker.alive:
            return False
        await worker.stop(reason)
        log.info("model_unloaded", model=name, reason=reason)
        return True

    def forget(self, name: str) -> None:
        """Stop offering a model whose files are gone (deleted, evicted or missing); a
        loaded copy is stopped in the background (its in-flight requests get a 503)."""
        slot = self._slots.pop(name, None)
        if slot is None:
            return
        self._cancel_timer(slot)
        worker, slot.worker = slot.worker, None
        if worker is not None and worker.alive:
            task = asyncio.create_task(worker.stop("its files were removed"))
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    def loaded(self) -> list[LoadedModel]:
        rows = [self._state(slot) for slot in self._slots.values()]
        return sorted((r for r in rows if r is not None), key=lambda r: r.model)

    async def aclose(self) -> None:
        await asyncio.gather(
            *(self.unload(name, "shutting down") for name, s in self._slots.items() if s.loaded)
        )
        for task in list(self._stopping):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- internals --------------------------------------------------------------------------
    async def _ensure_loaded(self, slot: _Slot) -> WorkerProcess:
        if slot.worker is not None and slot.worker.alive:
            return slot.worker
        async with self._load_lock:
            await self._make_room(slot)
            worker = WorkerProcess(slot.spec, on_exit=lambda w: self._exited(slot, w))
            started = time.perf_counter()
            await worker.start(self.settings.load_timeout)
            log.info("model_load_time", model=slot.spec.name, seconds=time.perf_counter() - started)
            slot.worker = worker
            return worker

    async def _make_room(self, wanted: _Slot) -> None:
        loaded = [s for s in self._slots.values() if s.loaded and s is not wanted]
        budget = self.settings.memory_budget
        need = weights_size(wanted.spec.path) if budget is not None else 0
        if budget is not None and need > budget:
            raise OverBudget(
                f"local/{wanted.spec.name} needs about {need} bytes, more than "
                f"local.memory_budget ({budget} bytes) allows."
            )
        while True:
            over_count = len(loaded) >= self.settings.max_loaded
            over_memory = budget is not None and _in_use(loaded) + need > budget
            if not (over_count or over_memory):
                return
            idle = [s for s in loaded if s.waiting == 0 and s.keep_alive != PINNED]
            if not idle:
                why = (
                    f"local.max_loaded={self.settings.max_loaded}"
                    if over_count
                    else f"local.memory_budget={budget} bytes"
                )
                raise Overloaded(
                    f"{len(loaded)} local models are loaded and busy ({why}); try again later.",
                    retry_after=5,
                )
            victim = min(idle, key=lambda s: s.last_used)
            await self.unload(victim.spec.name, reason=f"evicted for {wanted.spec.name}")
            loaded.remove(victim)

    def _exited(self, slot: _Slot, worker: WorkerProcess) -> None:
        """A worker ended (crash or unload): forget it so the next request starts one."""
        if slot.worker is worker:
            slot.worker = None
            self._cancel_timer(slot)

    def _keep(self, slot: _Slot, keep_alive: float) -> None:
        """Schedule the spindown after the last request of a burst."""
        slot.keep_alive = keep_alive
        self._cancel_timer(slot)
        if not slot.loaded or keep_alive < 0:
            slot.expires_at = None
            return
        slot.expires_at = self._clock() + keep_alive
        loop = asyncio.get_running_loop()
        slot.timer = loop.call_later(keep_alive, self._expire, slot)

    def _expire(self, slot: _Slot) -> None:
        slot.timer = None
        if slot.waiting or not slot.loaded:
            return
        task = asyncio.create_task(self._spindown(slot.spec.name))
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def _spindown(self, name: str) -> None:
        await self.unload(name, reason="keep-alive expired")

    def _cancel_timer(self, slot: _Slot) -> None:
        if slot.timer is not None:
            slot.timer.cancel()
            slot.timer = None
        slot.expires_at = None

    def _state(self, slot: _Slot) -> LoadedModel | None:
        worker = slot.worker
        if worker is None or not worker.alive:
            return None
        expires = None
        if slot.expires_at is not None:
            expires = time.time() + (slot.expires_at - self._clock())
        pid = worker.pid
        return LoadedModel(
            model=slot.spec.name,
            engine=slot.spec.engine,
            pid=pid,
            device=worker.info.get("device"),
            memory_bytes=rss_bytes(pid) if pid else None,
            loaded_at=worker.loaded_at,
            expires_at=expires,
            busy=slot.waiting,
            context_length=worker.info.get("n_ctx"),
        )
