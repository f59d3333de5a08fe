"""Fake Ollama server: native ``/api/chat`` (NDJSON), ``/api/embed``, ``/api/tags`` and the
OpenAI-compatible ``/v1`` endpoints (shared with the OpenAI fake)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, ClassVar

from aiohttp import web

from .base import Error, Frame, Generation, Reply, count_words, dumps, embedding_for, status_text
from .openai_fake import OpenAICompat, message_text

__all__ = ["FakeOllama", "ollama_error_body"]

DONE = {"stop": "stop", "length": "length", "tool_calls": "stop", "stop_sequence": "stop"}


def ollama_error_body(err: Error) -> dict[str, Any]:
    """``{"error": "<message>"}``."""
    return {"error": err.message or status_text(err.status).lower()}


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FakeOllama(OpenAICompat):
    """Fake Ollama; ``fake.url`` is the native root, ``fake.openai_url`` the ``/v1`` base.

    No auth unless ``api_key`` is set (then ``Authorization: Bearer <key>`` is required).
    Model names without a tag match ``<name>:latest``.
    """

    default_models: ClassVar[tuple[str, ...]] = (
        "llama3.2:latest",
        "qwen2.5:7b",
        "nomic-embed-text:latest",
    )

    @property
    def openai_url(self) -> str:
        return f"{self.root}/v1"

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.banner)
        app.router.add_get("/api/version", self.version)
        app.router.add_get("/api/tags", self.tags)
        app.router.add_post("/api/chat", self.chat)
        app.router.add_post("/api/embed", self.embed)
        self.add_openai_routes(app, "/v1")

    def model_known(self, model: str) -> bool:
        return (
            not self.strict_models
            or model in self.models
            or (":" not in model and f"{model}:latest" in self.models)
        )

    async def oa_check_auth(self, request: web.Request) -> web.StreamResponse | None:
        if self.api_key is None:
            return None
        return await super().oa_check_auth(request)

    # ------------------------------------------------------------------ plumbing

    async def _error(self, request: web.Request, err: Error) -> web.StreamResponse:
        return await self.send_error(request, err, ollama_error_body)

    async def not_found(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/v1/"):
            return await super().not_found(request)
        return web.Response(status=404, text="404 page not found")

    async def _check(self, request: web.Request) -> web.StreamResponse | None:
        if self.api_key is None:
            return None
        if request.headers.get("Authorization", "") != f"Bearer {self.api_key}":
            return await self._error(request, Error(401, "unauthorized"))
        return None

    def _not_found_model(self, model: str) -> Error:
        return Error(404, f'model "{model}" not found, try pulling it first')

    # ------------------------------------------------------------------ misc endpoints

    async def banner(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        return web.Response(text="Ollama is running")

    async def version(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        return web.json_response({"version": "0.9.0"})

    async def tags(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        denied = await self._check(request)
        if denied is not None:
            return denied
        behaviour = self.next_behaviour(request.path, listing=True)
        if isinstance(behaviour, Error):
            return await self._error(request, behaviour)
        models = [
            {
                "name": m,
                "model": m,
                "modified_at": "2025-01-01T00:00:00.000000000Z",
                "size": 2019393189,
                "digest": hashlib.sha256(m.encode()).hexdigest(),
                "details": {
                    "parent_model": "",
                    "format": "gguf",
                    "family": m.split(":")[0].rstrip("0123456789."),
                    "families": [m.split(":")[0].rstrip("0123456789.")],
                    "parameter_size": "3.2B",
                    "quantization_level": "Q4_K_M",
                },
            }
            for m in self.models
        ]
        return await self.send_json(request, self.reply_for(behaviour), {"models": models})

    # ------------------------------------------------------------------ embed

    async def embed(self, request: web.Request) -> web.StreamResponse:
        rec = await self.record(request)
        denied = await self._check(request)
        if denied is not None:
            return denied
        body = rec.body
        if not isinstance(body, dict) or not body.get("model"):
            return await self._error(request, Error(400, "model is required"))
        model = str(body["model"])
        if not self.model_known(model):
            return await self._error(request, self._not_found_model(model))
        raw = body.get("input", [])
        texts = [raw] if isinstance(raw, str) else [str(t) for t in raw]
        behaviour = self.next_behaviour(request.path)
        if isinstance(behaviour, Error):
            return await self._error(request, behaviour)
        reply = self.reply_for(behaviour)
        dim = int(body.get("dimensions") or self.embedding_dim)
        vectors = (
            [list(v) for v in reply.embeddings]
            if reply.embeddings is not None
            else [embedding_for(t, dim) for t in texts]
        )
        tokens = sum(count_words(t) for t in texts)
        out = {
            "model": model,
            "embeddings": vectors,
            "total_duration": 2_000_000 + tokens * 100_000,
            "load_duration": 1_000_000,
            "prompt_eval_count": tokens,
        }
        return await self.send_json(request, reply, out)

    # ------------------------------------------------------------------ chat

    async def chat(self, request: web.Request) -> web.StreamResponse:
        rec = await self.record(request)
        denied = await self._check(request)
        if denied is not None:
            return denied
        body = rec.body
        if not isinstance(body, dict):
            return await self._error(request, Error(400, "invalid character in request body"))
        if not body.get("model"):
            return await self._error(request, Error(400, "model is required"))
        model = str(body["model"])
        if not self.model_known(model):
            return await self._error(request, self._not_found_model(model))
        behaviour = self.next_behaviour(request.path)
        if isinstance(behaviour, Error):
            return await self._error(request, behaviour)
        reply = self.reply_for(behaviour)
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        users = [message_text(m.get("content")) for m in messages if m.get("role") == "user"]
        options = body.get("options") or {}
        stop = options.get("stop") or []
        gen = self.generate(
            reply,
            prompt=users[-1] if users else "",
            input_text=" ".join(message_text(m.get("content")) for m in messages),
            max_tokens=options.get("num_predict"),
            stop=[stop] if isinstance(stop, str) else [s for s in stop if isinstance(s, str)],
        )
        tool_calls = [
            {"function": {"name": tc.name, "arguments": tc.arguments_obj()}}
            for tc in gen.tool_calls
        ]
        if body.get("stream", True) is False:
            message: dict[str, Any] = {"role": "assistant", "content": gen.text}
            if tool_calls:
                message["tool_calls"] = tool_calls
            out = {
                "model": model,
                "created_at": _timestamp(),
                "message": message,
                **self._final_stats(gen),
            }
            return await self.send_json(request, reply, out)
        return await self._chat_stream(request, reply, gen, model, tool_calls)

    def _final_stats(self, gen: Generation) -> dict[str, Any]:
        prompt_ns, eval_ns = gen.input_tokens * 1_000_000, gen.output_tokens * 10_000_000
        return {
            "done_reason": gen.finish_reason(DONE),
            "done": True,
            "total_duration": 1_000_000 + prompt_ns + eval_ns,
            "load_duration": 1_000_000,
            "prompt_eval_count": gen.input_tokens,
            "prompt_eval_duration": prompt_ns,
            "eval_count": gen.output_tokens,
            "eval_duration": eval_ns,
        }

    async def _chat_stream(
        self,
        request: web.Request,
        reply: Reply,
        gen: Generation,
        model: str,
        tool_calls: list[dict[str, Any]],
    ) -> web.StreamResponse:
        def line(obj: dict[str, Any]) -> bytes:
            return (dumps(obj) + "\n").encode()

        def partial(message: dict[str, Any]) -> bytes:
            return line(
                {"model": model, "created_at": _timestamp(), "message": message, "done": False}
            )

        frames = [Frame(partial({"role": "assistant", "content": p}), True) for p in gen.pieces]
        if tool_calls:
            message = {"role": "assistant", "content": "", "tool_calls": tool_calls}
            frames.append(Frame(partial(message), True))
        final = {
            "model": model,
            "created_at": _timestamp(),
            "message": {"role": "assistant", "content": ""},
            **self._final_stats(gen),
        }
        frames.append(Frame(line(final)))

        def error_frame(err: Error) -> bytes:
            return line(err.body if err.body is not None else ollama_error_body(err))

        return await self.send_stream(
            request,
            reply,
            frames,
            content_type="application/x-ndjson",
            error_frame=error_frame,
            default_error=Error(500, "an error was encountered while running the model"),
        )
