"""Fake Anthropic Messages API: ``POST /v1/messages`` (JSON and SSE) and ``GET /v1/models``."""

from __future__ import annotations

from typing import Any, ClassVar

from aiohttp import web

from .base import Error, FakeServer, Frame, Generation, Reply, dumps, new_id, short_id, split_chunks

__all__ = ["FakeAnthropic", "anthropic_error_body"]

STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "stop_sequence": "stop_sequence",
}
ARGS_PIECE = 8  # characters of tool input JSON per input_json_delta

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_MESSAGES = {
    "invalid_request_error": "Invalid request.",
    "authentication_error": "invalid x-api-key",
    "billing_error": "Your credit balance is too low to access the Anthropic API.",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "The requested resource could not be found.",
    "conflict_error": "Conflict.",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Number of requests has exceeded your rate limit.",
    "api_error": "Internal server error",
    "timeout_error": "Request timed out.",
    "overloaded_error": "Overloaded",
}


def _error_type(err: Error) -> str:
    if err.type:
        return err.type
    return _TYPES.get(err.status, "api_error" if err.status >= 500 else "invalid_request_error")


def anthropic_error_body(err: Error, request_id: str | None = None) -> dict[str, Any]:
    """``{"type": "error", "error": {"type", "message"}, "request_id"}``."""
    etype = _error_type(err)
    body: dict[str, Any] = {
        "type": "error",
        "error": {"type": etype, "message": err.message or _MESSAGES.get(etype, "Error")},
    }
    if request_id is not None:
        body["request_id"] = request_id
    return body


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(b.get("text", ""))
            for b in content
            if isinstance(b, dict) and b.get("type") == "text"
        )
    return ""


class FakeAnthropic(FakeServer):
    """Fake ``api.anthropic.com``; ``fake.url`` is the SDK's ``base_url`` (no ``/v1``).

    Requires ``x-api-key`` (any non-empty value unless ``api_key`` is set) and
    ``anthropic-version`` headers, and ``max_tokens`` in the body.
    """

    default_models: ClassVar[tuple[str, ...]] = (
        "claude-sonnet-4-5-20250929",
        "claude-haiku-4-5-20251001",
        "claude-opus-4-1-20250805",
    )

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/messages", self.messages)
        app.router.add_get("/v1/models", self.list_models)
        app.router.add_get("/v1/models/{model:.+}", self.get_model)

    # ------------------------------------------------------------------ plumbing

    def _headers(self) -> dict[str, str]:
        return {"request-id": new_id("req_011", 21)}

    async def _error(self, request: web.Request, err: Error) -> web.StreamResponse:
        headers = self._headers()
        rid = headers["request-id"]
        return await self.send_error(request, err, lambda e: anthropic_error_body(e, rid), headers)

    async def not_found(self, request: web.Request) -> web.StreamResponse:
        return await self._error(request, Error(404, "Not Found"))

    async def _check_headers(self, request: web.Request) -> web.StreamResponse | None:
        key = request.headers.get("x-api-key", "")
        if not key:
            return await self._error(request, Error(401, "x-api-key header is required"))
        if self.api_key is not None and key != self.api_key:
            return await self._error(request, Error(401, "invalid x-api-key"))
        if not request.headers.get("anthropic-version"):
            return await self._error(request, Error(400, "anthropic-version: header is required"))
        return None

    # ------------------------------------------------------------------ models

    def _model_obj(self, model: str) -> dict[str, Any]:
        return {
            "type": "model",
            "id": model,
            "display_name": model,
            "created_at": "2025-02-19T00:00:00Z",
        }

    async def list_models(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        denied = await self._check_headers(request)
        if denied is not None:
            return denied
        behaviour = self.next_behaviour(request.path, listing=True)
        if isinstance(behaviour, Error):
            return await self._error(request, behaviour)
        body = {
            "data": [self._model_obj(m) for m in self.models],
            "has_more": False,
            "first_id": self.models[0] if self.models else None,
            "last_id": self.models[-1] if self.models else None,
        }
        return await self.send_json(
            request, self.reply_for(behaviour), body, headers=self._headers()
        )

    async def get_model(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        denied = await self._check_headers(request)
        if denied is not None:
            return denied
        model = request.match_info["model"]
        if model not in self.models:
            return await self._error(request, Error(404, f"model: {model}"))
        return await self.send_json(
            request, Reply(), self._model_obj(model), headers=self._headers()
        )

    # ------------------------------------------------------------------ messages

    async def messages(self, request: web.Request) -> web.StreamResponse:
        rec = await self.record(request)
        denied = await self._check_headers(request)
        if denied is not None:
            return denied
        body = rec.body
        if not isinstance(body, dict):
            return await self._error(request, Error(400, "There was an issue with the JSON body"))
        for name in ("model", "messages", "max_tokens"):
            if name not in body:
                return await self._error(request, Error(400, f"{name}: Field required"))
        if not isinstance(body["max_tokens"], int) or isinstance(body["max_tokens"], bool):
            msg = "max_tokens: Input should be a valid integer"
            return await self._error(request, Error(400, msg))
        model = str(body["model"])
        if not self.model_known(model):
            return await self._error(request, Error(404, f"model: {model}"))
        behaviour = self.next_behaviour(request.path)
        if isinstance(behaviour, Error):
            return await self._error(request, behaviour)
        reply = self.reply_for(behaviour)
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        users = [_text_of(m.get("content")) for m in messages if m.get("role") == "user"]
        system = body.get("system")
        input_text = " ".join([_text_of(system)] + [_text_of(m.get("content")) for m in messages])
        stops = body.get("stop_sequences")
        gen = self.generate(
            reply,
            prompt=users[-1] if users else "",
            input_text=input_text,
            max_tokens=body["max_tokens"],
            stop=[s for s in stops if isinstance(s, str)] if isinstance(stops, list) else [],
            tool_id=lambda i, tc: "toolu_01" + short_id(rec.index, i, tc.name, length=22),
        )
        msg_id = new_id("msg_01", 22)
        if body.get("stream"):
            return await self._stream(request, reply, gen, model, msg_id)
        content: list[dict[str, Any]] = []
        if gen.text or not gen.tool_calls:
            content.append({"type": "text", "text": gen.text})
        content += [
            {"type": "tool_use", "id": tc.id, "name": tc.name, "input": tc.arguments_obj()}
            for tc in gen.tool_calls
        ]
        message = {
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": gen.finish_reason(STOP),
            "stop_sequence": gen.stop_sequence,
            "usage": {
                "input_tokens": gen.input_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": gen.output_tokens,
                "service_tier": "standard",
            },
        }
        return await self.send_json(request, reply, message, headers=self._headers())

    async def _stream(
        self, request: web.Request, reply: Reply, gen: Generation, model: str, msg_id: str
    ) -> web.StreamResponse:
        frames: list[Frame] = []

        def event(name: str, data: dict[str, Any], content: bool = False) -> None:
            frames.append(Frame(f"event: {name}\ndata: {dumps(data)}\n\n".encode(), content))

        event(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": msg_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": gen.input_tokens,
                        "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": 0,
                        "output_tokens": 1,
                        "service_tier": "standard",
                    },
                },
            },
        )
        blocks: list[tuple[dict[str, Any], str, list[str]]] = []
        if gen.text or not gen.tool_calls:
            blocks.append(({"type": "text", "text": ""}, "text_delta", gen.pieces))
        for tc in gen.tool_calls:
            start: dict[str, Any] = {"type": "tool_use", "id": tc.id, "name": tc.name, "input": {}}
            blocks.append(
                (start, "input_json_delta", split_chunks(tc.arguments_json(), ARGS_PIECE))
            )
        for index, (start, kind, pieces) in enumerate(blocks):
            event(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": start},
            )
            if index == 0:
                event("ping", {"type": "ping"})
            for piece in pieces:
                delta = (
                    {"type": "text_delta", "text": piece}
                    if kind == "text_delta"
                    else {"type": "input_json_delta", "partial_json": piece}
                )
                event(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                    content=True,
                )
            event("content_block_stop", {"type": "content_block_stop", "index": index})
        event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": gen.finish_reason(STOP),
                    "stop_sequence": gen.stop_sequence,
                },
                "usage": {"output_tokens": gen.output_tokens},
            },
        )
        event("message_stop", {"type": "message_stop"})

        def error_frame(err: Error) -> bytes:
            body = err.body if err.body is not None else anthropic_error_body(err)
            return f"event: error\ndata: {dumps(body)}\n\n".encode()

        return await self.send_stream(
            request,
            reply,
            frames,
            content_type="text/event-stream; charset=utf-8",
            error_frame=error_frame,
            default_error=Error(529),
            headers=self._headers(),
        )
