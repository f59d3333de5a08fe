"""Prometheus metrics of image and 3D generation and its job queue, registered on the app's
own registry (``Metrics.registry``) so that they appear on ``/metrics`` with the rest.

``observe`` is the one call for a finished generation, synchronous or run as a job.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

SECONDS_BUCKETS = (0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600)
RATE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200)


class GenerationMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry or CollectorRegistry()
        self.seconds = Histogram(
            "plugai_generation_seconds",
            "Wall time of one image or 3D generation request, by model and modality.",
            ["model", "modality"],
            buckets=SECONDS_BUCKETS,
            registry=registry,
        )
        self.steps_per_second = Histogram(
            "plugai_generation_steps_per_second",
            "Denoising (or sampling) steps per second of a generation, by model.",
            ["model"],
            buckets=RATE_BUCKETS,
            registry=registry,
        )
        self.queue_length = Gauge(
            "plugai_generation_queue_length",
            "Generation jobs waiting for a free slot.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.running = Gauge(
            "plugai_generation_jobs_running",
            "Generation jobs running now.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.jobs = Counter(
            "plugai_generation_jobs_total",
            "Generation jobs that ended, by kind (images, 3d) and status.",
            ["kind", "status"],
            registry=registry,
        )

    def observe(self, model: str, modality: str, seconds: float, steps: int = 0) -> None:
        """A finished generation: its time, and its step rate when it reported steps."""
        self.seconds.labels(model, modality).observe(seconds)
        if steps > 0 and seconds > 0:
            self.steps_per_second.labels(model).observe(steps / seconds)
