"""Errors of the local runner, in PlugAI's one error tree (all 503 ``UpstreamUnavailable``).

None of them is retryable on the same model: a worker that crashed on a request would most
likely crash again (out of memory), and a full queue stays full for a while. The router
still falls back to another deployment when a route has one.
"""

from __future__ import annotations

from plugai.core.errors import UpstreamUnavailable


class WorkerCrashed(UpstreamUnavailable):
    code = "local_worker_crashed"
    retryable = False


class ModelUnloaded(UpstreamUnavailable):
    code = "local_model_unloaded"
    retryable = False


class ModelLoadFailed(UpstreamUnavailable):
    code = "local_model_load_failed"
    retryable = False


class Overloaded(UpstreamUnavailable):
    """The model's queue is full (or every loaded model is busy): come back later."""

    code = "local_queue_full"
    retryable = False

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, round(retry_after)))})
        self.retry_after = retry_after


class OverBudget(UpstreamUnavailable):
    """The model alone needs more memory than ``local.memory_budget`` allows."""

    code = "local_memory_budget"
    retryable = False
