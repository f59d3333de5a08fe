"""The serving logic between the HTTP layer and the router: parameter checks against the
chosen model, default parameters, credentials, metrics and the request's log fields.
The HTTP layer calls this and never learns which provider answered."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar, cast

import orjson

from plugai.core.chat import ChatChunk, ChatCompletion, ChatRequest, Usage
from plugai.core.completions import CompletionRequest, TextCompletion
from plugai.core.credentials import Credentials
from plugai.core.embeddings import EmbeddingRequest, EmbeddingResult
from plugai.core.errors import (
    CapabilityNotSupported,
    InvalidRequest,
    PlugAIError,
    UpstreamAuthError,
    UpstreamUnavailable,
)
from plugai.core.images import ImageRequest, ImageResult
from plugai.core.meshes import MeshRequest, MeshResult
from plugai.observability.metrics import Metrics
from plugai.observability.usage import UsageEntry, UsageRecorder
from plugai.providers.base import Operation
from plugai.providers.http import RawStreams
from plugai.routing.credentials import CredentialResolver
from plugai.routing.deployments import Deployment, Route
from plugai.routing.router import Router
from plugai.security.principal import Principal
from plugai.settings import RoutingSettings

T = TypeVar("T")
S = TypeVar("S", ChatChunk, TextCompletion)
X = TypeVar("X")
Events = AsyncIterator[list[bytes]]  # raw JSON of streamed chunks, one list per network read


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


_USAGE = b'"usage"'
_NULL_USAGE = b',"usage":null'  # on every chunk of an OpenAI stream that counts usage


def _frames(
    events: list[bytes], include_usage: bool, usage: Usage | None
) -> tuple[bytes, Usage | None]:
    """SSE frames for a batch of chunks in raw JSON, and the usage reported so far.

    Chunks go on as the upstream's bytes. ``show_usage_as_asked`` applies without decoding
    to the common ``,"usage":null`` (cut out when the caller did not ask for usage); any
    other chunk that mentions usage is decoded, and re-encoded only when that changes it.
    """
    out = []
    for data in events:
        if _USAGE in data:
            if _NULL_USAGE in data and data.count(_USAGE) == 1:
                if not include_usage:
                    data = data.replace(_NULL_USAGE, b"", 1)
            else:
                try:
                    piece = orjson.loads(data)
                except orjson.JSONDecodeError:
                    piece = None  # relayed as it came, like every chunk not decoded
                if isinstance(piece, dict) and "usage" in piece:
                    usage = piece["usage"] or usage
                    if not include_usage:
                        if not show_usage_as_asked(cast(ChatChunk, piece), False):
                            continue
                        data = orjson.dumps(piece)
        out.append(data)
    return (b"data: " + b"\n\ndata: ".join(out) + b"\n\n" if out else b""), usage


async def _encoded(pieces: AsyncIterator[Any]) -> Events:
    """The pieces of an adapter that builds them (another wire format) as raw JSON."""
    try:
        async for piece in pieces:
            yield [orjson.dumps(piece)]
    finally:
        await _aclose(pieces)


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()


@dataclass(slots=True)
class _Opened(Generic[X]):
    """A stream whose first item has arrived, and the deployment serving it."""

    iterator: AsyncIterator[X]
    first: X
    dep: Deployment
    creds: Credentials


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

    async def _open(
        self,
        route: Route,
        operation: Operation,
        params: dict[str, Any],
        ctx: CallContext,
        open_upstream: Callable[[Deployment, dict[str, Any], Credentials], AsyncIterator[X]],
    ) -> _Opened[X]:
        """Open a stream through the router (retries and fallbacks until its first item),
        with the upstream latency and time-to-first-token metrics."""

        async def first_item(dep: Deployment, step: int) -> _Opened[X]:
            checked, creds = await self._prepare(route, dep, step, params, operation, ctx)
            started = time.perf_counter()
            iterator = open_upstream(dep, checked, creds)
            try:
                first = await anext(iterator)
            except StopAsyncIteration:
                raise UpstreamUnavailable(f"{dep.key} sent an empty stream") from None
            except UpstreamAuthError as exc:
                await _aclose(iterator)
                raise _refused(exc, dep, creds) from exc
            except BaseException:
                await _aclose(iterator)
                raise
            now = time.perf_counter()
            self.metrics.upstream_latency.labels(dep.provider.name).observe(now - started)
            ttft = now - ctx.started
            self.metrics.ttft.labels(route.model_id, dep.provider.name).observe(ttft)
            ctx.log["ttft_ms"] = round(ttft * 1000, 2)
            return _Opened(iterator, first, dep, creds)

        return await self.router.open_stream(route, first_item)

    async def _close(
        self,
        route: Route,
        opened: _Opened[Any] | None,
        status: str,
        usage: Usage | None,
        ctx: CallContext,
        operation: Operation,
    ) -> None:
        if opened is not None:
            await _aclose(opened.iterator)
            self.router.release(opened.dep)
        self._finish(route, opened.dep if opened else None, status, usage, ctx, operation)

    async def _stream(
        self,
        route: Route,
        operation: Operation,
        params: dict[str, Any],
        ctx: CallContext,
        open_upstream: Callable[[Deployment, dict[str, Any], Credentials], AsyncIterator[S]],
        include_usage: bool,
    ) -> AsyncIterator[S]:
        """Relay a stream of pieces; the usage-only piece only when the caller asked for it."""
        opened: _Opened[S] | None = None
        usage: Usage | None = None
        status = "200"
        try:
            opened = await self._open(route, operation, params, ctx, open_upstream)
            try:
                piece = opened.first
                usage = piece.get("usage") or usage
                if show_usage_as_asked(piece, include_usage):
                    yield piece
                async for piece in opened.iterator:
                    usage = piece.get("usage") or usage
                    if show_usage_as_asked(piece, include_usage):
                        yield piece
            except UpstreamAuthError as exc:
                raise _refused(exc, opened.dep, opened.creds) from exc
        except PlugAIError as exc:
            status = str(exc.status)
            raise
        except BaseException:
            status = "499"  # the client went away
            raise
        finally:
            await self._close(route, opened, status, usage, ctx, operation)

    async def _sse(
        self,
        route: Route,
        operation: Operation,
        params: dict[str, Any],
        ctx: CallContext,
        open_upstream: Callable[[Deployment, dict[str, Any], Credentials], Events],
        include_usage: bool,
    ) -> AsyncIterator[bytes]:
        """Like ``_stream``, as SSE frames ready to send: one ``bytes`` per batch of events
        (what one network read brought), with chunks passed on as raw JSON (``_frames``)."""
        opened: _Opened[list[bytes]] | None = None
        usage: Usage | None = None
        status = "200"
        try:
            opened = await self._open(route, operation, params, ctx, open_upstream)
            try:
                frames, usage = _frames(opened.first, include_usage, usage)
                if frames:
                    yield frames
                async for batch in opened.iterator:
                    frames, usage = _frames(batch, include_usage, usage)
                    if frames:
                        yield frames
            except UpstreamAuthError as exc:
                raise _refused(exc, opened.dep, opened.creds) from exc
        except PlugAIError as exc:
            status = str(exc.status)
            raise
        except BaseException:
            status = "499"  # the client went away
            raise
        finally:
            await self._close(route, opened, status, usage, ctx, operation)

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

    def sse_chat(
        self,
        model_id: str,
        messages: list[dict[str, Any]],
        params: dict[str, Any],
        ctx: CallContext,
        *,
        include_usage: bool,
    ) -> AsyncIterator[bytes]:
        """``stream_chat`` as SSE frames: an OpenAI-compatible upstream's chunks go on as
        its own bytes."""
        route = self._route(model_id, "chat", ctx)

        def open_upstream(dep: Deployment, p: dict[str, Any], creds: Credentials) -> Events:
            request = ChatRequest(dep.model, messages, p)
            if isinstance(dep.provider, RawStreams):
                return dep.provider.relay_chat(request, creds)
            return _encoded(dep.provider.stream_chat(request, creds))

        return self._sse(route, "chat", params, ctx, open_upstream, include_usage)

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

    def sse_complete(
        self,
        model_id: str,
        prompt: Any,
        params: dict[str, Any],
        ctx: CallContext,
        *,
        include_usage: bool,
    ) -> AsyncIterator[bytes]:
        """``stream_complete`` as SSE frames (see ``sse_chat``)."""
        route = self._route(model_id, "completions", ctx)

        def open_upstream(dep: Deployment, p: dict[str, Any], creds: Credentials) -> Events:
            request = CompletionRequest(dep.model, prompt, p)
            if isinstance(dep.provider, RawStreams):
                return dep.provider.relay_complete(request, creds)
            return _encoded(dep.provider.stream_complete(request, creds))

        return self._sse(route, "completions", params, ctx, open_upstream, include_usage)

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

    def check(self, model_id: str, operation: Operation, params: dict[str, Any]) -> list[str]:
        """Refuse now (400/404) what the first deployment would refuse: for jobs that run
        after the HTTP answer, bad input must not become a failed job. Returns the input
        modalities the model takes."""
        route = self._route(model_id, operation, CallContext(principal=None))
        dep = route.primary
        merged = {**route.defaults, **params} if route.defaults else params
        dep.provider.validate_params(
            dep.model,
            merged,
            operation=operation,
            drop_unknown=self.settings.drop_unsupported_params,
        )
        return [str(m) for m in dep.provider.card(dep.model).input_modalities]

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
