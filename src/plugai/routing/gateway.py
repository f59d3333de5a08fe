"""The serving logic between the HTTP layer and the router: parameter checks against the
chosen model, default parameters, credentials, metrics and the request's log fields.
The HTTP layer calls this and never learns which provider answered."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from plugai.core.chat import ChatChunk, ChatCompletion, ChatRequest, Usage
from plugai.core.completions import CompletionRequest, TextCompletion
from plugai.core.credentials import Credentials
from plugai.core.embeddings import EmbeddingRequest, EmbeddingResult
from plugai.core.errors import CapabilityNotSupported, PlugAIError
from plugai.core.images import ImageRequest, ImageResult
from plugai.observability.metrics import Metrics
from plugai.providers.base import Operation
from plugai.routing.credentials import CredentialResolver
from plugai.routing.deployments import Deployment, Route
from plugai.routing.router import Router
from plugai.security.principal import Principal
from plugai.settings import RoutingSettings


@dataclass
class CallContext:
    """Who is calling, plus the fields this request adds to its log line."""

    principal: Principal | None
    log: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)


class Gateway:
    def __init__(
        self,
        router: Router,
        credentials: CredentialResolver,
        metrics: Metrics,
        settings: RoutingSettings,
    ) -> None:
        self.router = router
        self.credentials = credentials
        self.metrics = metrics
        self.settings = settings

    # --- shared steps -------------------------------------------------------------------
    def _route(self, model_id: str, operation: Operation, ctx: CallContext) -> Route:
        route = self.router.resolve(model_id)
        caps = route.primary.provider.capabilities(route.primary.model)
        supported = {
            "chat": caps.chat,
            "completions": caps.completions,
            "embeddings": caps.embeddings,
            "images": caps.images,
        }[operation]
        if not supported:
            raise CapabilityNotSupported(
                f"The model '{model_id}' does not support {operation}.", param="model"
            )
        ctx.log["model"] = model_id
        return route

    async def _prepare(
        self,
        route: Route,
        dep: Deployment,
        step: int,
        params: dict[str, Any],
        operation: Operation,
        ctx: CallContext,
    ) -> tuple[dict[str, Any], Credentials]:
        merged = {**route.defaults, **params} if route.defaults else params
        checked = dep.provider.validate_params(
            dep.model,
            merged,
            operation=operation,
            drop_unknown=step > 0 or self.settings.drop_unsupported_params,
        )
        creds = await self.credentials.resolve(dep.provider, ctx.principal)
        ctx.log["provider"] = dep.provider.name
        return checked, creds

    def _finish(
        self,
        route: Route,
        dep: Deployment | None,
        status: str,
        usage: Usage | None,
        ctx: CallContext,
    ) -> None:
        provider = dep.provider.name if dep else "none"
        self.metrics.requests.labels(route.model_id, provider, status).inc()
        if usage:
            prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
            self.metrics.tokens.labels(route.model_id, "prompt").inc(prompt)
            self.metrics.tokens.labels(route.model_id, "completion").inc(completion)
            ctx.log["prompt_tokens"], ctx.log["completion_tokens"] = prompt, completion

    # --- chat ---------------------------------------------------------------------------
    async def chat(
        self,
        model_id: str,
        messages: list[dict[str, Any]],
        params: dict[str, Any],
        ctx: CallContext,
    ) -> ChatCompletion:
        route = self._route(model_id, "chat", ctx)

        async def call(dep: Deployment, step: int) -> tuple[ChatCompletion, Deployment]:
            checked, creds = await self._prepare(route, dep, step, params, "chat", ctx)
            started = time.perf_counter()
            result = await dep.provider.chat(ChatRequest(dep.model, messages, checked), creds)
            self.metrics.upstream_latency.labels(dep.provider.name).observe(
                time.perf_counter() - started
            )
            return result, dep

        try:
            result, dep = await self.router.run(route, call)
        except PlugAIError as exc:
            self._finish(route, None, str(exc.status), None, ctx)
            raise
        self._finish(route, dep, "200", result.get("usage"), ctx)
        return result

    async def stream_chat(
        self,
        model_id: str,
        messages: list[dict[str, Any]],
        params: dict[str, Any],
        ctx: CallContext,
        *,
        include_usage: bool,
    ) -> AsyncIterator[ChatChunk]:
        """Chunks as the upstream sends them; the usage-only chunk only when asked for."""
        route = self._route(model_id, "chat", ctx)
        chosen: list[Deployment] = []

        def open_stream(dep: Deployment, step: int) -> AsyncIterator[ChatChunk]:
            return self._open_chat_stream(route, dep, step, messages, params, ctx, chosen)

        usage: Usage | None = None
        status = "200"
        first = True
        try:
            async for chunk in self.router.stream(route, open_stream):
                if first:
                    first = False
                    self.metrics.ttft.labels(route.model_id, chosen[-1].provider.name).observe(
                        time.perf_counter() - ctx.started
                    )
                    ctx.log["ttft_ms"] = round((time.perf_counter() - ctx.started) * 1000, 2)
                if chunk.get("usage"):
                    usage = chunk["usage"]
                    if not include_usage:
                        if not chunk["choices"]:
                            continue
                        del chunk["usage"]
                elif not include_usage and "usage" in chunk:
                    del chunk["usage"]
                yield chunk
        except PlugAIError as exc:
            status = str(exc.status)
            raise
        except BaseException:
            status = "499"  # the client went away
            raise
        finally:
            self._finish(route, chosen[-1] if chosen else None, status, usage, ctx)

    async def _open_chat_stream(
        self,
        route: Route,
        dep: Deployment,
        step: int,
        messages: list[dict[str, Any]],
        params: dict[str, Any],
        ctx: CallContext,
        chosen: list[Deployment],
    ) -> AsyncIterator[ChatChunk]:
        checked, creds = await self._prepare(route, dep, step, params, "chat", ctx)
        started = time.perf_counter()
        first = True
        async for chunk in dep.provider.stream_chat(
            ChatRequest(dep.model, messages, checked), creds
        ):
            if first:
                first = False
                chosen.append(dep)
                self.metrics.upstream_latency.labels(dep.provider.name).observe(
                    time.perf_counter() - started
                )
            yield chunk

    # --- legacy completions -------------------------------------------------------------
    async def complete(
        self, model_id: str, prompt: Any, params: dict[str, Any], ctx: CallContext
    ) -> TextCompletion:
        route = self._route(model_id, "completions", ctx)

        async def call(dep: Deployment, step: int) -> tuple[TextCompletion, Deployment]:
            checked, creds = await self._prepare(route, dep, step, params, "completions", ctx)
            return await dep.provider.complete(
                CompletionRequest(dep.model, prompt, checked), creds
            ), dep

        try:
            result, dep = await self.router.run(route, call)
        except PlugAIError as exc:
            self._finish(route, None, str(exc.status), None, ctx)
            raise
        self._finish(route, dep, "200", result.get("usage"), ctx)
        return result

    async def stream_complete(
        self,
        model_id: str,
        prompt: Any,
        params: dict[str, Any],
        ctx: CallContext,
        *,
        include_usage: bool,
    ) -> AsyncIterator[TextCompletion]:
        route = self._route(model_id, "completions", ctx)

        async def opened(dep: Deployment, step: int) -> AsyncIterator[TextCompletion]:
            checked, creds = await self._prepare(route, dep, step, params, "completions", ctx)
            async for piece in dep.provider.stream_complete(
                CompletionRequest(dep.model, prompt, checked), creds
            ):
                yield piece

        usage: Usage | None = None
        async for piece in self.router.stream(route, opened):
            if piece.get("usage"):
                usage = piece["usage"]
                if not include_usage:
                    if not piece["choices"]:
                        continue
                    del piece["usage"]
            yield piece
        self._finish(route, route.primary, "200", usage, ctx)

    # --- embeddings and images ----------------------------------------------------------
    async def embed(
        self,
        model_id: str,
        inputs: list[str] | list[list[int]],
        params: dict[str, Any],
        ctx: CallContext,
    ) -> EmbeddingResult:
        route = self._route(model_id, "embeddings", ctx)

        async def call(dep: Deployment, step: int) -> tuple[EmbeddingResult, Deployment]:
            checked, creds = await self._prepare(route, dep, step, params, "embeddings", ctx)
            return await dep.provider.embed(
                EmbeddingRequest(dep.model, inputs, checked), creds
            ), dep

        result, dep = await self.router.run(route, call)
        self._finish(
            route,
            dep,
            "200",
            {
                "prompt_tokens": result.prompt_tokens,
                "completion_tokens": 0,
                "total_tokens": result.prompt_tokens,
            },
            ctx,
        )
        return result

    async def generate_images(
        self, model_id: str, prompt: str, n: int, params: dict[str, Any], ctx: CallContext
    ) -> ImageResult:
        route = self._route(model_id, "images", ctx)

        async def call(dep: Deployment, step: int) -> tuple[ImageResult, Deployment]:
            checked, creds = await self._prepare(route, dep, step, params, "images", ctx)
            request = ImageRequest(dep.model, prompt, n, checked)
            return await dep.provider.generate_images(request, creds), dep

        result, dep = await self.router.run(route, call)
        self._finish(route, dep, "200", None, ctx)
        return result
