"""The serving logic between the HTTP layer and the router: parameter checks against the
chosen model, default parameters, credentials, metrics and the request's log fields.
The HTTP layer calls this and never learns which provider answered."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from plugai.core.chat import ChatChunk, ChatCompletion, ChatRequest, Usage
from plugai.core.completions import CompletionRequest, TextCompletion
from plugai.core.credentials import Credentials
from plugai.core.embeddings import EmbeddingRequest, EmbeddingResult
from plugai.core.errors import (
    CapabilityNotSupported,
    InvalidRequest,
    PlugAIError,
    UpstreamAuthError,
)
from plugai.core.images import ImageRequest, ImageResult
from plugai.core.meshes import MeshRequest, MeshResult
from plugai.observability.metrics import Metrics
from plugai.observability.usage import UsageEntry, UsageRecorder
from plugai.providers.base import Operation
from plugai.routing.credentials import CredentialResolver
from plugai.routing.deployments import Deployment, Route
from plugai.routing.router import Router
from plugai.security.principal import Principal
from plugai.settings import RoutingSettings

T = TypeVar("T")
S = TypeVar("S", ChatChunk, TextCompletion)


@dataclass
class CallContext:
    """Who is calling, plus the fields this request adds to its log line."""

    principal: Principal | None
    log: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)


def show_usage_as_asked(piece: S, include_usage: bool) -> bool:
    """Apply ``stream_options.include_usage`` to one streamed piece (PlugAI always asks the
    upstream for usage, for its own accounting). False: drop the piece (usage-only)."""
    if include_usage or "usage" not in piece:
        return True
    if piece.get("usage") and not piece["choices"]:
        return False
    del piece["usage"]
    return True


def _refused(exc: UpstreamAuthError, dep: Deployment, creds: Credentials) -> PlugAIError:
    """An upstream 401 on the caller's own key is the caller's to fix, not the operator's."""
    if creds.source != "user":
        return exc
    name = dep.provider.name
    return InvalidRequest(
        f"{name} refused your own API key (stored under /v1/me/keys/{name}): replace it "
        f"with PUT /v1/me/keys/{name} or remove it with DELETE. {exc.message}",
        code="user_key_rejected",
    )


class Gateway:
    def __init__(
        self,
        router: Router,
        credentials: CredentialResolver,
        metrics: Metrics,
        settings: RoutingSettings,
        usage: UsageRecorder,
    ) -> None:
        self.usage = usage
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
            "3d": caps.meshes,
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
        operation: Operation,
    ) -> None:
        """Count the request and queue its usage record (written later, in a batch)."""
        provider = dep.provider.name if dep else "none"
        self.metrics.requests.labels(route.model_id, provider, status).inc()
        prompt = completion = 0
        if usage:
            prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
            self.metrics.tokens.labels(route.model_id, "prompt").inc(prompt)
            self.metrics.tokens.labels(route.model_id, "completion").inc(completion)
            ctx.log["prompt_tokens"], ctx.log["completion_tokens"] = prompt, completion
        self.usage.record(
            UsageEntry(
                user_id=ctx.principal.user_id if ctx.principal else None,
                model=route.model_id,
                provider=provider,
                operation=operation,
                status=status,
                prompt_tokens=prompt,
                completion_tokens=completion,
                latency_ms=round((time.perf_counter() - ctx.started) * 1000, 2),
            )
        )

    async def _call(
        self,
        route: Route,
        operation: Operation,
        params: dict[str, Any],
        ctx: CallContext,
        invoke: Callable[[Deployment, dict[str, Any], Credentials], Awaitable[T]],
        usage_of: Callable[[T], Usage | None],
    ) -> T:
        """One non-streaming call through the router, with metrics and a usage record."""

        async def call(dep: Deployment, step: int) -> tuple[T, Deployment]:
            checked, creds = await self._prepare(route, dep, step, params, operation, ctx)
            started = time.perf_counter()
            try:
                result = await invoke(dep, checked, creds)
            except UpstreamAuthError as exc:
                raise _refused(exc, dep, creds) from exc
            self.metrics.upstream_latency.labels(dep.provider.name).observe(
                time.perf_counter() - started
            )
            return result, dep

        try:
            result, dep = await self.router.run(route, call)
        except PlugAIError as exc:
            self._finish(route, None, str(exc.status), None, ctx, operation)
            raise
        self._finish(route, dep, "200", usage_of(result), ctx, operation)
        return result

    async def _stream(
        self,
        route: Route,
        operation: Operation,
        params: dict[str, Any],
        ctx: CallContext,
        open_upstream: Callable[[Deployment, dict[str, Any], Credentials], AsyncIterator[S]],
        include_usage: bool,
    ) -> AsyncIterator[S]:
        """Relay a stream; the usage-only piece only when the caller asked for it."""
        chosen: list[Deployment] = []

        async def opened(dep: Deployment, step: int) -> AsyncIterator[S]:
            checked, creds = await self._prepare(route, dep, step, params, operation, ctx)
            started = time.perf_counter()
            first = True
            try:
                async for piece in open_upstream(dep, checked, creds):
                    if first:
                        first = False
                        chosen.append(dep)
                        self.metrics.upstream_latency.labels(dep.provider.name).observe(
                            time.perf_counter() - started
                        )
                    yield piece
            except UpstreamAuthError as exc:
                raise _refused(exc, dep, creds) from exc

        usage: Usage | None = None
        status = "200"
        first = True
        try:
            async for piece in self.router.stream(route, opened):
                if first:
                    first = False
                    ttft = time.perf_counter() - ctx.started
                    self.metrics.ttft.labels(route.model_id, chosen[-1].provider.name).observe(ttft)
                    ctx.log["ttft_ms"] = round(ttft * 1000, 2)
                if piece.get("usage"):
                    usage = piece["usage"]
                if show_usage_as_asked(piece, include_usage):
                    yield piece
        except PlugAIError as exc:
            status = str(exc.status)
            raise
        except BaseException:
            status = "499"  # the client went away
            raise
        finally:
            self._finish(route, chosen[-1] if chosen else None, status, usage, ctx, operation)

    # --- operations ---------------------------------------------------------------------
    async def chat(
        self,
        model_id: str,
        messages: list[dict[str, Any]],
        params: dict[str, Any],
        ctx: CallContext,
    ) -> ChatCompletion:
        route = self._route(model_id, "chat", ctx)

        async def invoke(dep: Deployment, p: dict[str, Any], creds: Credentials) -> ChatCompletion:
            return await dep.provider.chat(ChatRequest(dep.model, messages, p), creds)

        return await self._call(route, "chat", params, ctx, invoke, lambda r: r.get("usage"))

    def stream_chat(
        self,
        model_id: str,
        messages: list[dict[str, Any]],
        params: dict[str, Any],
        ctx: CallContext,
        *,
        include_usage: bool,
    ) -> AsyncIterator[ChatChunk]:
        route = self._route(model_id, "chat", ctx)

        def open_upstream(
            dep: Deployment, p: dict[str, Any], creds: Credentials
        ) -> AsyncIterator[ChatChunk]:
            return dep.provider.stream_chat(ChatRequest(dep.model, messages, p), creds)

        return self._stream(route, "chat", params, ctx, open_upstream, include_usage)

    async def complete(
        self, model_id: str, prompt: Any, params: dict[str, Any], ctx: CallContext
    ) -> TextCompletion:
        route = self._route(model_id, "completions", ctx)

        async def invoke(dep: Deployment, p: dict[str, Any], creds: Credentials) -> TextCompletion:
            return await dep.provider.complete(CompletionRequest(dep.model, prompt, p), creds)

        return await self._call(route, "completions", params, ctx, invoke, lambda r: r.get("usage"))

    def stream_complete(
        self,
        model_id: str,
        prompt: Any,
        params: dict[str, Any],
        ctx: CallContext,
        *,
        include_usage: bool,
    ) -> AsyncIterator[TextCompletion]:
        route = self._route(model_id, "completions", ctx)

        def open_upstream(
            dep: Deployment, p: dict[str, Any], creds: Credentials
        ) -> AsyncIterator[TextCompletion]:
            return dep.provider.stream_complete(CompletionRequest(dep.model, prompt, p), creds)

        return self._stream(route, "completions", params, ctx, open_upstream, include_usage)

    async def embed(
        self,
        model_id: str,
        inputs: list[str] | list[list[int]],
        params: dict[str, Any],
        ctx: CallContext,
    ) -> EmbeddingResult:
        route = self._route(model_id, "embeddings", ctx)

        async def invoke(dep: Deployment, p: dict[str, Any], creds: Credentials) -> EmbeddingResult:
            return await dep.provider.embed(EmbeddingRequest(dep.model, inputs, p), creds)

        def usage_of(result: EmbeddingResult) -> Usage:
            n = result.prompt_tokens
            return {"prompt_tokens": n, "completion_tokens": 0, "total_tokens": n}

        return await self._call(route, "embeddings", params, ctx, invoke, usage_of)

    async def generate_images(self, request: ImageRequest, ctx: CallContext) -> ImageResult:
        """``request.model`` is the id the caller sent; each deployment gets its own."""
        route = self._route(request.model, "images", ctx)

        async def invoke(dep: Deployment, p: dict[str, Any], creds: Credentials) -> ImageResult:
            return await dep.provider.generate_images(
                replace(request, model=dep.model, params=p), creds
            )

        return await self._call(route, "images", request.params, ctx, invoke, lambda _r: None)

    async def generate_3d(self, request: MeshRequest, ctx: CallContext) -> MeshResult:
        route = self._route(request.model, "3d", ctx)

        async def invoke(dep: Deployment, p: dict[str, Any], creds: Credentials) -> MeshResult:
            return await dep.provider.generate_3d(
                replace(request, model=dep.model, params=p), creds
            )

        return await self._call(route, "3d", request.params, ctx, invoke, lambda _r: None)
