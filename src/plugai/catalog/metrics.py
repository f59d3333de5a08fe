"""Prometheus metrics of downloads and storage, registered on the app's own registry
(``Metrics.registry``) so that they appear on ``/metrics`` with the rest."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200)


class RegistryMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry or CollectorRegistry()
        self.download_bytes = Counter(
            "plugai_download_bytes_total",
            "Bytes received by model downloads (resumed bytes are not counted twice).",
            registry=registry,
        )
        self.downloads = Counter(
            "plugai_downloads_total",
            "Download jobs that ended, by final state (done, failed, cancelled).",
            ["state"],
            registry=registry,
        )
        self.download_duration = Histogram(
            "plugai_download_duration_seconds",
            "Wall time of a download job run, from claim to its end.",
            ["state"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.storage_used = Gauge(
            "plugai_storage_used_bytes",
            "Bytes used by kind (models; reserved = downloads in progress).",
            ["kind"],
            registry=registry,
            multiprocess_mode="max",
        )
        self.evictions = Counter(
            "plugai_storage_evictions_total",
            "Models evicted to make room.",
            registry=registry,
        )
        self.evicted_bytes = Counter(
            "plugai_storage_evicted_bytes_total",
            "Bytes freed by evictions.",
            registry=registry,
        )
