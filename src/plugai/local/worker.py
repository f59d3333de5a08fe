"""A model's worker process: ``python -m plugai.local.worker '<ModelSpec JSON>'``.

It loads one model and serves jobs over its stdin/stdout as JSON lines, so a crash or an
out-of-memory kill takes down this process only, and unloading frees memory for certain.

Protocol (one JSON object per line):
- worker → gateway: ``{"event": "ready", "info": {...}}`` or ``{"event": "failed", ...}``
  once; then per job ``{"id", "event": "item", "data"}`` …, ending in ``{"id", "event":
  "done"}`` or ``{"id", "event": "error", "error", "invalid"}``.
- gateway → worker: ``{"op": "run", "id", "job"}``, ``{"op": "cancel", "id"}``.
  End of stdin (the gateway closed it, or died) ends the worker.

Jobs run one at a time on the main thread, the one that loaded the model (``Engine.serve``:
no thread per job). That is measurably faster for torch on a CPU: the same Shap-E job took
3.3 s on a second thread and 2.2 s, like a plain script, on the loading thread. A reader
thread takes stdin, so that a cancel arrives while a job runs. Stray prints of libraries go
to stderr, never into the protocol.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import traceback
from typing import IO, Any

import orjson

from plugai.local.engines import engine_class
from plugai.local.engines.base import Engine, EngineInputError, Job, ModelSpec


class _Channel:
    """Writes protocol lines from two threads without interleaving them."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        line = orjson.dumps(message, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n"
        with self._lock:
            self._out.write(line)
            self._out.flush()


def _serve_one(engine: Engine, job_id: int, job: Job, cancelled: set[int], ch: _Channel) -> None:
    engine.serve(
        job,
        lambda: job_id in cancelled,
        lambda item: ch.send({"id": job_id, "event": "item", "data": item}),
    )


def _serve_jobs(engine: Engine, jobs: queue.Queue[Any], cancelled: set[int], ch: _Channel) -> None:
    while True:
        message = jobs.get()
        job_id = int(message["id"])
        try:
            _serve_one(engine, job_id, Job.from_json(message["job"]), cancelled, ch)
        except EngineInputError as exc:
            ch.send({"id": job_id, "event": "error", "error": str(exc), "invalid": True})
        except Exception as exc:  # noqa: BLE001 - reported to the gateway, worker lives on
            error = f"{type(exc).__name__}: {exc}"
            ch.send({"id": job_id, "event": "error", "error": error, "invalid": False})
        else:
            ch.send({"id": job_id, "event": "done"})
        finally:
            cancelled.discard(job_id)


def main(argv: list[str]) -> int:
    protocol_fd = os.dup(1)
    os.dup2(2, 1)  # print() and C-level stdout of libraries now land on stderr
    ch = _Channel(os.fdopen(protocol_fd, "wb", buffering=0))
    spec = ModelSpec.from_json(orjson.loads(argv[1]))
    engine = engine_class(spec.engine)(spec)
    try:
        info = engine.load()
    except Exception as exc:  # noqa: BLE001 - the gateway turns it into a 503
        ch.send({"event": "failed", "error": f"{type(exc).__name__}: {exc}"})
        return 1
    info["pid"] = os.getpid()
    ch.send({"event": "ready", "info": info})
    jobs: queue.Queue[Any] = queue.Queue()
    cancelled: set[int] = set()

    def read() -> None:
        code = 0
        try:
            for line in sys.stdin.buffer:
                message = orjson.loads(line)
                if message.get("op") == "run":
                    jobs.put(message)
                elif message.get("op") == "cancel":
                    cancelled.add(int(message["id"]))
        except BaseException:  # noqa: BLE001 - a broken pipe protocol ends the worker
            traceback.print_exc()
            code = 1
        # End of stdin: the gateway is done with us (unload) or gone. Exiting at once frees
        # the memory for certain; a job inside native code must not delay it.
        os._exit(code)

    threading.Thread(target=read, name="stdin", daemon=True).start()
    _serve_jobs(engine, jobs, cancelled, ch)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
