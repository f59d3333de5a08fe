"""Routing: aliases, fallbacks, retries with backoff, balancing, cool-down — against real
fake upstreams over HTTP."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import openai
import pytest

from plugai.core.errors import ConfigError, ModelNotFound
from plugai.observability.metrics import Metrics
from plugai.providers.registry import default_registry
from plugai.routing.router import Router
from plugai.settings import ModelSettings, ProviderSettings, RoutingSettings
from tests.fakes.base import Error, Reply
from tests.fakes.openai_fake import FakeOpenAI

MSG = [{"role": "user", "content": "hello there"}]
FAST = {"backoff_base": 0.01, "backoff_max": 2, "max_total_time": 10}


def provider(name: str, fake: FakeOpenAI, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "openai", "base_url": fake.url, "api_key": "sk-up", **extra}


async def test_alias_routes_to_configured_model(plugai: Callable[..., Any]) -> None:
    with FakeOpenAI() as fake:
        async with plugai(
            providers=[provider("a", fake)],
            models=[{"id": "fast", "provider": "a", "model": "gpt-4o-mini", "aliases": ["quick"]}],
        ) as h:
            r = await h.openai.chat.completions.create(model="quick", messages=MSG)
    assert r.choices[0].message.content == "echo: hello there"
    assert fake.requests[-1].body["model"] == "gpt-4o-mini"


async def test_default_params_apply_and_request_wins(plugai: Callable[..., Any]) -> None:
    with FakeOpenAI() as fake:
        async with plugai(
            providers=[provider("a", fake)],
            models=[
                {
                    "id": "m",
                    "provider": "a",
                    "model": "gpt-4o",
                    "params": {"temperature": 0.1, "seed": 7},
                }
            ],
        ) as h:
            await h.openai.chat.completions.create(model="m", messages=MSG, temperature=0.9)
    body = fake.requests[-1].body
    assert body["temperature"] == 0.9
    assert body["seed"] == 7


@pytest.mark.parametrize(
    "failure",
    [Error(status=429, retry_after=0.01), Error(status=500), Error(status=503), Error(status=529)],
)
async def test_fallback_on_upstream_trouble(plugai: Callable[..., Any], failure: Error) -> None:
    with FakeOpenAI() as a, FakeOpenAI() as b:
        a.enqueue(*[failure] * 5)
        async with plugai(
            providers=[provider("a", a), provider("b", b)],
            models=[{"id": "m", "route": ["a/gpt-4o-mini", "b/gpt-4o-mini"]}],
            routing={**FAST, "retries": 1},
        ) as h:
            r = await h.openai.chat.completions.create(model="m", messages=MSG)
            metrics = (await h.http.get("/metrics")).text
    assert r.choices[0].message.content == "echo: hello there"
    assert len(a.requests) == 2  # first try + one retry
    assert len(b.requests) == 1
    assert 'plugai_fallbacks_total{model="m"} 1.0' in metrics
    assert "plugai_upstream_errors_total" in metrics


async def test_no_fallback_on_request_errors(plugai: Callable[..., Any]) -> None:
    with FakeOpenAI() as a, FakeOpenAI() as b:
        a.enqueue(Error(status=400, message="bad tools", param="tools"))
        async with plugai(
            providers=[provider("a", a), provider("b", b)],
            models=[{"id": "m", "route": ["a/gpt-4o-mini", "b/gpt-4o-mini"]}],
            routing=FAST,
        ) as h:
            with pytest.raises(openai.BadRequestError) as info:
                await h.openai.chat.completions.create(model="m", messages=MSG)
    assert "bad tools" in str(info.value)
    assert len(a.requests) == 1
    assert len(b.requests) == 0


async def test_fallback_on_connection_error_and_timeout(plugai: Callable[..., Any]) -> None:
    with FakeOpenAI() as slow, FakeOpenAI() as good:
        slow.enqueue(Reply(delay=2.0))
        async with plugai(
            providers=[
                {
                    "name": "dead",
                    "type": "openai",
                    "base_url": "http://127.0.0.1:9/v1",
                    "api_key": "k",
                },
                provider("slow", slow, read_timeout=0.3),
                provider("good", good),
            ],
            models=[{"id": "m", "route": ["dead/x", "slow/x", "good/gpt-4o-mini"]}],
            routing={**FAST, "retries": 0},
        ) as h:
            started = time.monotonic()
            r = await h.openai.chat.completions.create(model="m", messages=MSG)
    assert r.choices[0].message.content == "echo: hello there"
    assert time.monotonic() - started < 1.5
    assert len(good.requests) == 1


async def test_retry_honours_retry_after(plugai: Callable[..., Any]) -> None:
    with FakeOpenAI() as a:
        a.enqueue(Error(status=429, retry_after=0.4))
        async with plugai(providers=[provider("a", a)], routing={**FAST, "retries": 2}) as h:
            r = await h.openai.chat.completions.create(model="a/gpt-4o-mini", messages=MSG)
    assert r.choices[0].message.content
    assert len(a.requests) == 2
    gap = a.requests[1].time - a.requests[0].time
    assert gap >= 0.35


async def test_retries_are_bounded_and_last_error_surfaces(plugai: Callable[..., Any]) -> None:
    with FakeOpenAI() as a:
        a.enqueue(*[Error(status=503)] * 10)
        async with plugai(providers=[provider("a", a)], routing={**FAST, "retries": 2}) as h:
            with pytest.raises(openai.APIStatusError) as info:
                await h.openai.chat.completions.create(model="a/gpt-4o-mini", messages=MSG)
    assert info.value.status_code == 503
    assert len(a.requests) == 3


async def test_rate_limit_without_fallback_is_429_with_retry_after(
    plugai: Callable[..., Any],
) -> None:
    with FakeOpenAI() as a:
        a.enqueue(*[Error(status=429, retry_after=30)] * 3)
        async with plugai(providers=[provider("a", a)], routing=FAST) as h:
            r = await h.http.post(
                "/v1/chat/completions", json={"model": "a/gpt-4o-mini", "messages": MSG}
            )
    assert r.status_code == 429
    assert r.headers["retry-after"] == "30"
    assert r.json()["error"]["type"] == "rate_limit_error"
    assert len(a.requests) == 1  # a 30 s wait is over budget: no retry


async def test_unknown_models_are_404(plugai: Callable[..., Any]) -> None:
    with FakeOpenAI() as a:
        async with plugai(providers=[provider("a", a)]) as h:
            for model in ("nope", "zzz/gpt-4o", "a"):
                r = await h.http.post(
                    "/v1/chat/completions", json={"model": model, "messages": MSG}
                )
                assert r.status_code == 404
                assert r.json()["error"]["code"] == "model_not_found"
                assert r.json()["error"]["param"] == "model"


def _router(models: list[dict[str, Any]], fakes: dict[str, str], **routing: Any) -> Router:
    registry = default_registry()
    providers = {
        n: registry.build(ProviderSettings(name=n, type="openai", base_url=u, api_key="k"))
        for n, u in fakes.items()
    }
    return Router(
        providers,
        [ModelSettings(**m) for m in models],
        RoutingSettings(**routing),
        Metrics(),
        rng=random.Random(1),
    )


def test_weighted_balancing_follows_weights() -> None:
    router = _router(
        [{"id": "m", "deployments": [{"target": "a/x", "weight": 3}, {"target": "b/x"}]}],
        {"a": "http://127.0.0.1:1", "b": "http://127.0.0.1:2"},
    )
    route = router.resolve("m")
    firsts = [route.steps[0].order(router.rng)[0].provider.name for _ in range(4000)]
    share = firsts.count("a") / len(firsts)
    assert 0.70 < share < 0.80


def test_least_busy_and_concurrency_limits_and_cooldown() -> None:
    router = _router(
        [
            {
                "id": "m",
                "balance": "least_busy",
                "deployments": [{"target": "a/x", "max_concurrency": 1}, {"target": "b/x"}],
            }
        ],
        {"a": "http://127.0.0.1:1", "b": "http://127.0.0.1:2"},
        cooldown=60,
        failures_before_cooldown=2,
    )
    step = router.resolve("m").steps[0]
    a, b = step.deployments
    b.in_flight = 3
    assert step.order(router.rng)[0] is a
    a.in_flight = 1  # at its limit: goes last
    assert step.order(router.rng)[0] is b
    a.in_flight = 0
    a.failed(threshold=2, cooldown=60, now=time.monotonic())
    assert step.order(router.rng)[0] is a
    a.failed(threshold=2, cooldown=60, now=time.monotonic())
    assert step.order(router.rng)[0] is b  # cooling down
    a.succeeded()
    assert a.available(time.monotonic())


def test_adhoc_provider_model_and_unknown() -> None:
    router = _router([], {"a": "http://127.0.0.1:1"})
    assert router.resolve("a/some/nested-model").primary.model == "some/nested-model"
    with pytest.raises(ModelNotFound):
        router.resolve("b/x")


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ([{"id": "m", "provider": "ghost"}], "must be provider/model with a configured provider"),
        (
            [{"id": "m", "route": ["a/x"], "aliases": ["n"]}, {"id": "n", "route": ["a/y"]}],
            "already taken",
        ),
        ([{"id": "m", "route": ["n"]}, {"id": "n", "route": ["m"]}], "refers back to itself"),
    ],
)
def test_bad_routes_are_config_errors(models: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _router(models, {"a": "http://127.0.0.1:1"})


def test_route_to_another_model_expands_its_steps() -> None:
    router = _router(
        [{"id": "small", "route": ["a/s1", "a/s2"]}, {"id": "big", "route": ["a/b1", "small"]}],
        {"a": "http://127.0.0.1:1"},
    )
    assert [s.deployments[0].model for s in router.resolve("big").steps] == ["b1", "s1", "s2"]
