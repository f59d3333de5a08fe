"""Fake Gemini API (``generativelanguage.googleapis.com``), ``v1beta`` and ``v1`` paths.

``POST /v1beta/models/{model}:generateContent`` / ``:streamGenerateContent`` (``?alt=sse``
gives SSE, otherwise a streamed JSON array) / ``:countTokens`` / ``:embedContent`` /
``:batchEmbedContents``; ``GET /v1beta/models`` and ``GET /v1beta/models/{model}``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from aiohttp import web

from .base import (
    Error,
    FakeServer,
    Frame,
    Generation,
    RecordedRequest,
    Reply,
    count_words,
    embedding_for,
    new_id,
)

__all__ = ["FakeGemini", "google_error_body"]

FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "stop_sequence": "STOP"}

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_MESSAGES = {
    "INVALID_ARGUMENT": "Request contains an invalid argument.",
    "UNAUTHENTICATED": "Request had invalid authentication credentials.",
    "PERMISSION_DENIED": "The caller does not have permission",
    "NOT_FOUND": "Requested entity was not found.",
    "RESOURCE_EXHAUSTED": "Resource has been exhausted (e.g. check quota).",
    "INTERNAL": "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting",
    "UNAVAILABLE": "The model is overloaded. Please try again later.",
    "DEADLINE_EXCEEDED": "Deadline expired before operation could complete.",
}
_SAFETY_CATEGORIES = (
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
)


def google_error_body(err: Error) -> dict[str, Any]:
    """``{"error": {"code", "message", "status"[, "details"]}}`` (google.rpc.Status)."""
    status = err.type or _STATUS.get(err.status, "INTERNAL" if err.status >= 500 else "UNKNOWN")
    body: dict[str, Any] = {
        "code": err.status,
        "message": err.message or _MESSAGES.get(status, "Error"),
        "status": status,
    }
    if err.retry_after is not None:
        body["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": f"{err.retry_after:g}s",
            }
        ]
    return {"error": body}


def _safety(blocked: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"category": c, "probability": "NEGLIGIBLE"} for c in _SAFETY_CATEGORIES
    ]
    if blocked:
        out[-1] = {"category": _SAFETY_CATEGORIES[-1], "probability": "HIGH", "blocked": True}
    return out


def _parts_text(content: Any) -> str:
    if not isinstance(content, dict):
        return ""
    parts = content.get("parts") or []
    return " ".join(str(p["text"]) for p in parts if isinstance(p, dict) and "text" in p)


class FakeGemini(FakeServer):
    """Fake Gemini API; ``fake.url`` is the API root (``http://127.0.0.1:PORT``).

    The key is read from ``x-goog-api-key`` or ``?key=``.  SSE events end with
    ``sse_line_ending * 2`` (default ``"\\r\\n"``, as Google's frontends send).
    """

    default_models: ClassVar[tuple[str, ...]] = (
        "gemini-2.0-flash",
        "gemini-2.5-flash",
        "gemini-2.5-pro",
        "text-embedding-004",
    )

    def __init__(self, *, sse_line_ending: str = "\r\n", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sse_line_ending = sse_line_ending

    def setup_routes(self, app: web.Application) -> None:
        for version in ("v1beta", "v1"):
            app.router.add_get(f"/{version}/models", self.list_models)
            resource = app.router.add_resource(f"/{version}/models/{{target}}")
            resource.add_route("GET", self.get_model)
            resource.add_route("POST", self.call)

    # ------------------------------------------------------------------ plumbing

    async def _error(self, request: web.Request, err: Error) -> web.StreamResponse:
        return await self.send_error(request, err, google_error_body)

    async def not_found(self, request: web.Request) -> web.StreamResponse:
        return await self._error(request, Error(404, f"Method not found: {request.path}"))

    async def _check_key(self, request: web.Request) -> web.StreamResponse | None:
        key = request.headers.get("x-goog-api-key") or request.query.get("key", "")
        if not key:
            msg = (
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API."
            )
            return await self._error(request, Error(403, msg))
        if self.api_key is not None and key != self.api_key:
            err = Error(
                400,
                body={
                    "error": {
                        "code": 400,
                        "message": "API key not valid. Please pass a valid API key.",
                        "status": "INVALID_ARGUMENT",
                        "details": [
                            {
                                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                "reason": "API_KEY_INVALID",
                                "domain": "googleapis.com",
                                "metadata": {"service": "generativelanguage.googleapis.com"},
                            }
                        ],
                    }
                },
            )
            return await self._error(request, err)
        return None

    def _unknown_model(self, model: str, method: str) -> Error:
        return Error(
            404,
            f"models/{model} is not found for API version v1beta, or is not supported for "
            f"{method}. Call ListModels to see the list of available models and their "
            "supported methods.",
        )

    # ------------------------------------------------------------------ models

    def _model_obj(self, model: str) -> dict[str, Any]:
        if "embedding" in model:
            return {
                "name": f"models/{model}",
                "version": "004",
                "displayName": model,
                "description": "Obtain a distributed representation of a text.",
                "inputTokenLimit": 2048,
                "outputTokenLimit": 1,
                "supportedGenerationMethods": ["embedContent"],
            }
        return {
            "name": f"models/{model}",
            "version": "001",
            "displayName": model.replace("-", " ").title(),
            "description": f"Fake {model}",
            "inputTokenLimit": 1048576,
            "outputTokenLimit": 8192,
            "supportedGenerationMethods": ["generateContent", "countTokens"],
            "temperature": 1,
            "topP": 0.95,
            "topK": 40,
            "maxTemperature": 2,
        }

    async def list_models(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        denied = await self._check_key(request)
        if denied is not None:
            return denied
        behaviour = self.next_behaviour(request.path, listing=True)
        if isinstance(behaviour, Error):
            return await self._error(request, behaviour)
        size = int(request.query.get("pageSize") or 50)
        start = int(request.query.get("pageToken") or 0)
        page = self.models[start : start + size]
        body: dict[str, Any] = {"models": [self._model_obj(m) for m in page]}
        if start + size < len(self.models):
            body["nextPageToken"] = str(start + size)
        return await self.send_json(request, self.reply_for(behaviour), body)

    async def get_model(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        denied = await self._check_key(request)
        if denied is not None:
            return denied
        model = request.match_info["target"]
        if model not in self.models:
            return await self._error(request, Error(404, f"models/{model} is not found"))
        return await self.send_json(request, Reply(), self._model_obj(model))

    # ------------------------------------------------------------------ dispatch

    async def call(self, request: web.Request) -> web.StreamResponse:
        rec = await self.record(request)
        model, _, method = request.match_info["target"].rpartition(":")
        handlers = {
            "generateContent": self._generate,
            "streamGenerateContent": self._generate,
            "countTokens": self._count_tokens,
            "embedContent": self._embed,
            "batchEmbedContents": self._embed,
        }
        if not model or method not in handlers:
            return await self.not_found(request)
        denied = await self._check_key(request)
        if denied is not None:
            return denied
        if not isinstance(rec.body, dict):
            msg = "Invalid JSON payload received. Unexpected token."
            return await self._error(request, Error(400, msg))
        if not self.model_known(model):
            return await self._error(request, self._unknown_model(model, method))
        return await handlers[method](request, rec, model, method)

    async def _count_tokens(
        self, request: web.Request, rec: RecordedRequest, model: str, method: str
    ) -> web.StreamResponse:
        contents = rec.body.get("contents") or []
        total = sum(count_words(_parts_text(c)) for c in contents)
        return await self.send_json(request, Reply(), {"totalTokens": total})

    # ------------------------------------------------------------------ embeddings

    async def _embed(
        self, request: web.Request, rec: RecordedRequest, model: str, method: str
    ) -> web.StreamResponse:
        body = rec.body
        requests = body.get("requests") if method == "batchEmbedContents" else [body]
        if not isinstance(requests, list) or not requests:
            msg = "* BatchEmbedContentsRequest.requests: requests is not specified"
            return await self._error(request, Error(400, msg))
        for item in requests:
            if not isinstance(item, dict) or not isinstance(item.get("content"), dict):
                msg = "* EmbedContentRequest.content: content is not specified"
                return await self._error(request, Error(400, msg))
        behaviour = self.next_behaviour(request.path)
        if isinstance(behaviour, Error):
            return await self._error(request, behaviour)
        reply = self.reply_for(behaviour)
        vectors = [
            list(reply.embeddings[i])
            if reply.embeddings is not None and i < len(reply.embeddings)
            else embedding_for(
                _parts_text(item["content"]),
                int(item.get("outputDimensionality") or self.embedding_dim),
            )
            for i, item in enumerate(requests)
        ]
        if method == "embedContent":
            out: dict[str, Any] = {"embedding": {"values": vectors[0]}}
        else:
            out = {"embeddings": [{"values": v} for v in vectors]}
        return await self.send_json(request, reply, out)

    # ------------------------------------------------------------------ generation

    async def _generate(
        self, request: web.Request, rec: RecordedRequest, model: str, method: str
    ) -> web.StreamResponse:
        body = rec.body
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            msg = "* GenerateContentRequest.contents: contents is not specified\n"
            return await self._error(request, Error(400, msg))
        behaviour = self.next_behaviour(request.path)
        if isinstance(behaviour, Error):
            return await self._error(request, behaviour)
        reply = self.reply_for(behaviour)
        contents = [c for c in contents if isinstance(c, dict)]
        config = body.get("generationConfig") or {}
        users = [_parts_text(c) for c in contents if c.get("role", "user") == "user"]
        input_text = " ".join(
            [_parts_text(body.get("systemInstruction"))] + [_parts_text(c) for c in contents]
        )
        gen = self.generate(
            reply,
            prompt=users[-1] if users else "",
            input_text=input_text,
            max_tokens=config.get("maxOutputTokens"),
            stop=[s for s in config.get("stopSequences") or [] if isinstance(s, str)],
        )
        response_id = new_id("", 23)
        stream = method == "streamGenerateContent"
        if reply.block_reason:
            blocked = {
                "promptFeedback": {
                    "blockReason": reply.block_reason,
                    "safetyRatings": _safety(True),
                },
                "usageMetadata": self._usage(gen, final=False),
                "modelVersion": model,
                "responseId": response_id,
            }
            if not stream:
                return await self.send_json(request, reply, blocked)
            return await self._stream(request, reply, [(blocked, False)])
        finish = gen.finish_reason(FINISH)
        parts: list[dict[str, Any]] = [{"text": p} for p in gen.pieces]
        parts += [
            {"functionCall": {"name": tc.name, "args": tc.arguments_obj()}} for tc in gen.tool_calls
        ]
        if not stream:
            merged: list[dict[str, Any]] = [{"text": gen.text}] if gen.text else []
            merged += parts[len(gen.pieces) :]
            candidate = self._candidate(merged, finish)
            out = {
                "candidates": [candidate],
                "usageMetadata": self._usage(gen, final=True),
                "modelVersion": model,
                "responseId": response_id,
            }
            return await self.send_json(request, reply, out)
        if not parts:
            parts = [{"text": ""}]
        payloads: list[tuple[dict[str, Any], bool]] = []
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            payload = {
                "candidates": [self._candidate([part], finish if last else None)],
                "usageMetadata": self._usage(gen, final=last),
                "modelVersion": model,
                "responseId": response_id,
            }
            payloads.append((payload, True))
        return await self._stream(request, reply, payloads)

    def _candidate(self, parts: list[dict[str, Any]], finish: str | None) -> dict[str, Any]:
        candidate: dict[str, Any] = {}
        if parts:
            candidate["content"] = {"parts": parts, "role": "model"}
        if finish is not None:
            candidate["finishReason"] = finish
            if finish == "SAFETY":
                candidate["safetyRatings"] = _safety(True)
        candidate["index"] = 0
        return candidate

    def _usage(self, gen: Generation, *, final: bool) -> dict[str, Any]:
        usage: dict[str, Any] = {"promptTokenCount": gen.input_tokens}
        if final:
            usage["candidatesTokenCount"] = gen.output_tokens
        usage["totalTokenCount"] = gen.input_tokens + (gen.output_tokens if final else 0)
        usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": gen.input_tokens}]
        return usage

    async def _stream(
        self, request: web.Request, reply: Reply, payloads: list[tuple[dict[str, Any], bool]]
    ) -> web.StreamResponse:
        sse = request.query.get("alt") == "sse"
        end = self.sse_line_ending * 2

        def encode(obj: Any, first: bool) -> bytes:
            text = json.dumps(obj, ensure_ascii=False)
            if sse:
                return f"data: {text}{end}".encode()
            return (("[" if first else ",\r\n") + text).encode()

        frames = [Frame(encode(p, i == 0), content) for i, (p, content) in enumerate(payloads)]
        if not sse:
            frames.append(Frame(b"]"))

        def error_frame(err: Error) -> bytes:
            body = err.body if err.body is not None else google_error_body(err)
            if sse:
                return encode(body, False)
            return encode(body, reply.error_after == 0) + b"]"

        return await self.send_stream(
            request,
            reply,
            frames,
            content_type="text/event-stream" if sse else "application/json; charset=UTF-8",
            error_frame=error_frame,
            default_error=Error(500),
        )
