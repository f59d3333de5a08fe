"""Prometheus metrics, each app with its own registry (tests build many apps per process).

With several worker processes (``PROMETHEUS_MULTIPROC_DIR`` set by ``plugai serve``)
``/metrics`` aggregates every worker's values.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "plugai_http_requests_total",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "plugai_http_request_duration_seconds",
            "Time from request start to the last byte of the response.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.http_in_flight = Gauge(
            "plugai_http_in_flight",
            "Requests being served right now.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )

        self.requests = Counter(
            "plugai_requests_total",
            "Model requests, by model asked for, provider that answered and status.",
            ["model", "provider", "status"],
            registry=self.registry,
        )
        self.upstream_latency = Histogram(
            "plugai_upstream_latency_seconds",
            "Time an upstream took to answer (to the first chunk when streaming).",
            ["provider"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ttft = Histogram(
            "plugai_time_to_first_token_seconds",
            "From request start to the first streamed chunk sent to the client.",
            ["model", "provider"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "plugai_tokens_total",
            "Tokens by model and direction (prompt or completion).",
            ["model", "direction"],
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "plugai_upstream_errors_total",
            "Upstream failures by provider and kind.",
            ["provider", "kind"],
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "plugai_fallbacks_total",
            "Times a request moved on to another deployment.",
            ["model"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return generate_latest(merged)
        return generate_latest(self.registry)
