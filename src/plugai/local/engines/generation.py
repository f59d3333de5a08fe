"""What the image and 3D engines share: a blocking pipeline call turned into progress
outputs as it goes, cancellation between denoising steps, output files written whole, and
the small parts of a job around them (options, seeds, the input image).

A pipeline reports its steps through a callback on the thread that runs it. In a worker the
job's ``Work`` runs on the worker's job thread and hands each output straight to the pipe
(``PipelineEngine.serve``); no thread is started per job. That matters for speed: torch's
CPU kernels run on the OpenMP team of the thread that calls them, and on a fresh thread
convolutions use fewer cores than on the thread that has run them before (measured: a UNet
step ~15 % slower). ``run`` (an iterator, for use in one process) runs the same work on a
thread of its own and hands outputs over a queue. Stopping is cooperative: once the job is
cancelled (or its reader went away) the next step check raises ``Cancelled``, which ends
the call quietly.
"""

from __future__ import annotations

import contextlib
import os
import queue
import secrets
import threading
from abc import abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from plugai.local.engines.base import Engine, EngineInputError, Job, Output

SEED_MAX = 2**32 - 1
Emit = Callable[[Output], None]
# A job made ready to run: ``work(emit, stopped)`` makes the outputs and emits them.
Work = Callable[[Emit, Callable[[], bool]], None]


class Cancelled(Exception):
    """Raised inside a step callback to stop the pipeline at once."""


class Steps:
    """The job-wide step counter: ``{"type": "progress", "step": i, "steps": n}`` with i
    strictly increasing up to n. A pipeline's inner iterations (Heun takes 2n-1 for n
    steps, image-to-image fewer than asked) are mapped onto the job's steps."""

    def __init__(self, total: int, emit: Emit, stopped: Callable[[], bool]) -> None:
        self.total = max(1, total)
        self.done = 0
        self._emit = emit
        self._stopped = stopped

    def check(self) -> None:
        if self._stopped():
            raise Cancelled

    def to(self, step: int) -> None:
        """Step ``step`` of the job is done (ignored unless it moves on); then stop here
        when the job was cancelled."""
        step = min(step, self.total)
        if step > self.done:
            self.done = step
            self._emit({"type": "progress", "step": step, "steps": self.total})
        self.check()

    def part(self, first: int, count: int, done: int, of: int) -> None:
        """``done`` of ``of`` inner iterations of the part that covers job steps
        ``first + 1 .. first + count``."""
        self.to(first + (done * count) // max(1, of))


def stream(work: Work, cancelled: Callable[[], bool]) -> Iterator[Output]:
    """Run ``work(emit, stopped)`` on a thread and yield what it emits, as it emits it.

    ``stopped()`` turns true when the job is cancelled or this iterator is closed; ``work``
    then raises ``Cancelled`` at its next step check, which ends the stream without error.
    Any other exception of ``work`` is raised here.
    """
    items: queue.Queue[tuple[str, Any]] = queue.Queue()
    closed = threading.Event()

    def stopped() -> bool:
        return closed.is_set() or cancelled()

    def target() -> None:
        try:
            work(lambda item: items.put(("item", item)), stopped)
        except Cancelled:
            pass
        except BaseException as exc:  # noqa: BLE001 - re-raised in the reading thread
            items.put(("error", exc))
            return
        items.put(("end", None))

    thread = threading.Thread(target=target, name="generation", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = items.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        closed.set()
        thread.join()


class PipelineEngine(Engine):
    """An engine whose job is one blocking call that reports as it goes (images, 3D)."""

    @abstractmethod
    def prepare(self, job: Job) -> Work:
        """Check ``job`` (EngineInputError for the caller's mistakes) and return its work."""

    def run(self, job: Job, cancelled: Callable[[], bool]) -> Iterator[Output]:
        yield from stream(self.prepare(job), cancelled)

    def serve(self, job: Job, cancelled: Callable[[], bool], emit: Emit) -> None:
        work = self.prepare(job)
        with contextlib.suppress(Cancelled):
            work(emit, cancelled)


def output_dir(job: Job) -> Path:
    """The job's staging folder (the gateway makes one for every image and 3D job)."""
    if not job.output_dir:
        raise ValueError(f"a {job.kind} job needs an output_dir")
    folder = Path(job.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_whole(path: Path, write: Callable[[Path], None]) -> Path:
    """Write through a hidden temporary name, then rename: a file is never seen half-done."""
    partial = path.with_name(f".{path.name}.part")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def file_output(path: Path, kind: str, mime: str, meta: dict[str, Any]) -> Output:
    return {"type": "file", "path": str(path), "kind": kind, "mime": mime, "meta": meta}


def pick_seed(seed: int | None, offset: int = 0) -> int:
    """The seed to use: the asked one (+ offset, for image i of n), else a random one."""
    if seed is None:
        return secrets.randbelow(SEED_MAX + 1)
    return (seed + offset) % (SEED_MAX + 1)


def validated(model: type[BaseModel], params: dict[str, Any]) -> Any:
    """``params`` through the engine's own options (defaults filled in); a bad value is the
    caller's mistake."""
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or "parameters"
        if err["type"] == "extra_forbidden":
            raise EngineInputError(f"Unsupported parameter: '{name}'.") from exc
        raise EngineInputError(f"Invalid value for '{name}': {err['msg']}") from exc


def open_image(path: str | None) -> Any:
    """The job's input image as RGB, or a clear 400 when it cannot be read."""
    from PIL import Image, UnidentifiedImageError

    if not path:
        raise EngineInputError("This model needs an input image.")
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise EngineInputError(f"The input image could not be read: {exc}") from exc


def dtype_argument(dtype: Any) -> dict[str, Any]:
    """diffusers renamed ``torch_dtype`` to ``dtype`` (the old name warns, and will fail)."""
    from diffusers.utils import deprecation_utils

    renamed = hasattr(deprecation_utils, "_resolve_dtype")
    return {"dtype" if renamed else "torch_dtype": dtype}
