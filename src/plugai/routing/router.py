"""The request router: model id → route, then retries with backoff and fallbacks.

Retries stay on one deployment while the error is retryable and the wait fits the time
budget; any ProviderError then moves on to the next deployment of the step (balancing)
and then to the next step (fallback). Errors caused by the request itself (4xx) never
retry or fall back. A stream falls back only until its first chunk has arrived.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import structlog

from plugai.core.errors import ConfigError, ModelNotFound, ProviderError, UpstreamUnavailable
from plugai.observability.metrics import Metrics
from plugai.providers.base import Provider
from plugai.routing.deployments import Deployment, Route, Step
from plugai.settings import ModelSettings, RoutingSettings

T = TypeVar("T")
log = structlog.get_logger("plugai.router")


class Router:
    def __init__(
        self,
        providers: Mapping[str, Provider],
        models: list[ModelSettings],
        settings: RoutingSettings,
        metrics: Metrics,
        rng: random.Random | None = None,
    ) -> None:
        self.providers = dict(providers)
        self.settings = settings
        self.metrics = metrics
        self.rng = rng or random.Random()
        self._deployments: dict[str, Deployment] = {}
        self._routes: dict[str, Route] = {}
        self._aliases: dict[str, str] = {}
        configs = {m.id: m for m in models}
        self._configured = list(configs)
        for m in models:
            self._routes[m.id] = self._build(m, configs, seen=set())
            for alias in m.aliases:
                if alias in configs or alias in self._aliases:
                    raise ConfigError(f"models: {m.id}: alias {alias!r} is already taken")
                self._aliases[alias] = m.id

    # --- building -----------------------------------------------------------------------
    def _deployment(self, target: str, weight: int = 1, limit: int | None = None) -> Deployment:
        provider_name, sep, model = target.partition("/")
        provider = self.providers.get(provider_name)
        if not sep or not model or provider is None:
            known = ", ".join(sorted(self.providers)) or "none configured"
            raise ConfigError(
                f"models: target {target!r} must be provider/model with a configured "
                f"provider (known: {known})"
            )
        dep = self._deployments.get(target)
        if dep is None:
            dep = Deployment(provider, model, weight=weight, max_concurrency=limit)
            self._deployments[target] = dep
        return dep

    def _build(self, m: ModelSettings, configs: dict[str, ModelSettings], seen: set[str]) -> Route:
        if m.id in seen:
            raise ConfigError(f"models: {m.id}: its route refers back to itself")
        seen = seen | {m.id}
        steps: list[Step] = []
        if m.deployments:
            group = [self._deployment(d.target, d.weight, d.max_concurrency) for d in m.deployments]
            steps.append(Step(group, m.balance))
        elif m.provider:
            steps.append(Step([self._deployment(f"{m.provider}/{m.model or m.id}")]))
        for target in m.route:
            if target in configs:
                steps.extend(self._build(configs[target], configs, seen).steps)
            else:
                steps.append(Step([self._deployment(target)]))
        return Route(m.id, steps, dict(m.params), m.context_length)

    # --- lookup -------------------------------------------------------------------------
    def resolve(self, model_id: str) -> Route:
        """A configured id or alias, else any ``provider/model`` of a configured provider."""
        name = self._aliases.get(model_id, model_id)
        route = self._routes.get(name)
        if route is not None:
            return route
        provider_name, sep, model = model_id.partition("/")
        if sep and model and provider_name in self.providers:
            route = Route(model_id, [Step([self._deployment(model_id)])])
            self._routes[model_id] = route
            return route
        raise ModelNotFound(
            f"The model '{model_id}' does not exist or you do not have access to it.",
            param="model",
        )

    def configured(self) -> list[Route]:
        """The routes the config names (not the ad-hoc ``provider/model`` ones)."""
        return [self._routes[model_id] for model_id in self._configured]

    def aliases_of(self, model_id: str) -> list[str]:
        return [a for a, target in self._aliases.items() if target == model_id]

    # --- execution ----------------------------------------------------------------------
    def _candidates(self, route: Route) -> list[tuple[int, Deployment]]:
        return [(i, d) for i, step in enumerate(route.steps) for d in step.order(self.rng)]

    def _backoff(self, attempt: int, exc: ProviderError) -> float:
        if exc.retry_after is not None:
            return float(exc.retry_after)
        base = self.settings.backoff_base * (2**attempt)
        return float(min(self.settings.backoff_max, base) * (0.5 + self.rng.random() / 2))

    def _record_failure(self, route: Route, dep: Deployment, exc: ProviderError) -> None:
        self.metrics.upstream_errors.labels(dep.provider.name, exc.code or "error").inc()
        dep.failed(
            threshold=self.settings.failures_before_cooldown,
            cooldown=self.settings.cooldown,
            now=time.monotonic(),
        )
        log.warning(
            "upstream_failed",
            model=route.model_id,
            deployment=dep.key,
            error=exc.message,
            kind=exc.code,
        )

    async def run(self, route: Route, call: Callable[[Deployment, int], Awaitable[T]]) -> T:
        """``call(deployment, step_index)`` with retries, balancing and fallbacks."""
        deadline = time.monotonic() + self.settings.max_total_time
        last: ProviderError | None = None
        for n, (step, dep) in enumerate(self._candidates(route)):
            if n:
                self.metrics.fallbacks.labels(route.model_id).inc()
            for attempt in range(self.settings.retries + 1):
                dep.in_flight += 1
                try:
                    result = await call(dep, step)
                except ProviderError as exc:
                    last = exc
                    self._record_failure(route, dep, exc)
                    delay = self._backoff(attempt, exc)
                    if (
                        not exc.retryable
                        or attempt == self.settings.retries
                        or delay > self.settings.backoff_max
                        or time.monotonic() + delay > deadline
                    ):
                        break
                    await asyncio.sleep(delay)
                    continue
                finally:
                    dep.in_flight -= 1
                dep.succeeded()
                return result
            if time.monotonic() > deadline:
                break
        raise last or UpstreamUnavailable(f"No deployment of {route.model_id} is available.")

    async def open_stream(
        self, route: Route, first_item: Callable[[Deployment, int], Awaitable[T]]
    ) -> T:
        """:meth:`run` for a stream: ``first_item(deployment, step)`` opens it and waits for
        its first item, so fallback applies until that has arrived. The deployment then
        stays counted busy (balancing, concurrency limits) until :meth:`release`."""

        async def call(dep: Deployment, step: int) -> T:
            opened = await first_item(dep, step)
            dep.in_flight += 1
            return opened

        return await self.run(route, call)

    @staticmethod
    def release(dep: Deployment) -> None:
        """The stream that :meth:`open_stream` opened on ``dep`` has ended."""
        dep.in_flight -= 1
