"""A deployment is one provider serving one model; a step is a balanced group of them;
a route is the fallback chain of steps behind one model id."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from plugai.providers.base import Provider


@dataclass(eq=False)
class Deployment:
    provider: Provider
    model: str  # the provider's own name for the model
    weight: int = 1
    max_concurrency: int | None = None
    in_flight: int = 0
    failures: int = 0
    cooldown_until: float = 0.0

    @property
    def key(self) -> str:
        return f"{self.provider.name}/{self.model}"

    def available(self, now: float) -> bool:
        if self.cooldown_until > now:
            return False
        return self.max_concurrency is None or self.in_flight < self.max_concurrency

    def succeeded(self) -> None:
        self.failures = 0
        self.cooldown_until = 0.0

    def failed(self, *, threshold: int, cooldown: float, now: float) -> None:
        self.failures += 1
        if self.failures >= threshold and cooldown > 0:
            self.cooldown_until = now + cooldown
            self.failures = 0


@dataclass
class Step:
    deployments: list[Deployment]
    balance: Literal["weighted", "least_busy"] = "weighted"

    def order(self, rng: random.Random) -> list[Deployment]:
        """Deployments to try, best first; resting or saturated ones go last."""
        now = time.monotonic()
        ready = [d for d in self.deployments if d.available(now)]
        resting = [d for d in self.deployments if not d.available(now)]
        if self.balance == "least_busy":
            ready.sort(key=lambda d: (d.in_flight / d.weight, rng.random()))
        else:  # weighted random order without replacement
            ready.sort(key=lambda d: rng.random() ** (1.0 / d.weight), reverse=True)
        return ready + sorted(resting, key=lambda d: d.cooldown_until)


@dataclass
class Route:
    model_id: str
    steps: list[Step]
    defaults: dict[str, Any] = field(default_factory=dict)
    context_length: int | None = None

    @property
    def primary(self) -> Deployment:
        return self.steps[0].deployments[0]
