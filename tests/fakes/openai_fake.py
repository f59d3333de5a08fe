"""Fake OpenAI API (``/v1``): chat completions, legacy completions, embeddings, images, models.

The handlers live in :class:`OpenAICompat` so that other OpenAI-compatible fakes
(Ollama's ``/v1``, the Hugging Face router) reuse them with their own auth/error hooks.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
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
    dumps,
    embedding_for,
    new_id,
    now,
    short_id,
    split_chunks,
    tiny_png,
)

__all__ = ["FakeOpenAI", "OpenAICompat"]

FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "stop_sequence": "stop"}
FINGERPRINT = "fp_fake0001"
ARGS_PIECE = 8  # characters of tool-call arguments per streamed delta

_DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: (
        "invalid_request_error",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported",
    ),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    409: ("invalid_request_error", None, "Conflict."),
    422: ("invalid_request_error", None, "Unprocessable request."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: (
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


def openai_error_body(err: Error) -> dict[str, Any]:
    """``{"error": {"message", "type", "param", "code"}}`` with per-status defaults."""
    default_type = "server_error" if err.status >= 500 else "invalid_request_error"
    etype, code, message = _DEFAULTS.get(err.status, (default_type, None, "Error."))
    if err.status == 429 and err.retry_after is not None and err.message is None:
        message = f"Rate limit reached for requests. Please try again in {err.retry_after:g}s."
    return {
        "error": {
            "message": err.message or message,
            "type": err.type or etype,
            "param": err.param,
            "code": err.code if err.code is not None else code,
        }
    }


def message_text(content: Any) -> str:
    """Text of an OpenAI message ``content`` (string or list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and "text" in p
        )
    return ""


def _stops(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for s in value if isinstance(s, str)]
    return []


def _logprob(token: str, position: int) -> float:
    return -round(int(short_id(token, position, length=6), 16) % 1000 / 1000, 4)


def _token_logprobs(pieces: Sequence[str], top: int, start: int = 0) -> list[dict[str, Any]]:
    out = []
    for i, piece in enumerate(pieces, start):
        lp = _logprob(piece, i)
        alts = [piece] + [f"{piece.strip()}_{j}" for j in range(1, top)]
        out.append(
            {
                "token": piece,
                "logprob": lp,
                "bytes": list(piece.encode()),
                "top_logprobs": [
                    {"token": t, "logprob": round(lp - j, 4), "bytes": list(t.encode())}
                    for j, t in enumerate(alts[:top])
                ],
            }
        )
    return out


class OpenAICompat(FakeServer):
    """OpenAI wire format handlers; subclasses adjust auth and error hooks."""

    api_prefix: ClassVar[str] = "/v1"

    # ------------------------------------------------------------------ hooks

    def add_openai_routes(self, app: web.Application, prefix: str = "/v1") -> None:
        app.router.add_post(f"{prefix}/chat/completions", self.oa_chat)
        app.router.add_post(f"{prefix}/completions", self.oa_completions)
        app.router.add_post(f"{prefix}/embeddings", self.oa_embeddings)
        app.router.add_post(f"{prefix}/images/generations", self.oa_images)
        app.router.add_get(f"{prefix}/models", self.oa_models)
        app.router.add_get(f"{prefix}/models/{{model:.+}}", self.oa_model)

    async def oa_check_auth(self, request: web.Request) -> web.StreamResponse | None:
        """401 in OpenAI's envelope unless the bearer key is acceptable."""
        auth = request.headers.get("Authorization", "")
        key = auth[7:].strip() if auth.startswith("Bearer ") else ""
        if not key:
            msg = (
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            return await self.oa_error(request, Error(401, msg, code=None))
        if self.api_key is not None and key != self.api_key:
            masked = key[:3] + "*" * max(len(key) - 7, 0) + key[-4:]
            msg = (
                f"Incorrect API key provided: {masked}. You can find your API key at "
                "https://platform.openai.com/account/api-keys."
            )
            return await self.oa_error(request, Error(401, msg, code="invalid_api_key"))
        return None

    def oa_error_body(self, err: Error) -> Any:
        return openai_error_body(err)

    def oa_stream_error(self, err: Error) -> bytes:
        body = err.body if err.body is not None else self.oa_error_body(err)
        return f"data: {dumps(body)}\n\n".encode()

    def oa_headers(self) -> dict[str, str]:
        return {"x-request-id": new_id("req_", 32), "openai-version": "2020-10-01"}

    def oa_model_missing(self, model: str) -> Error:
        return Error(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )

    async def oa_error(self, request: web.Request, err: Error) -> web.StreamResponse:
        return await self.send_error(request, err, self.oa_error_body, self.oa_headers())

    async def not_found(self, request: web.Request) -> web.StreamResponse:
        msg = f"Invalid URL ({request.method} {request.path})"
        body = {
            "error": {"message": msg, "type": "invalid_request_error", "param": None, "code": None}
        }
        return await self.oa_error(request, Error(404, body=body))

    # ------------------------------------------------------------------ common checks

    async def _oa_precheck(
        self, request: web.Request, required: Sequence[str]
    ) -> tuple[RecordedRequest, dict[str, Any]] | web.StreamResponse:
        rec = await self.record(request)
        denied = await self.oa_check_auth(request)
        if denied is not None:
            return denied
        if not isinstance(rec.body, dict):
            msg = (
                "We could not parse the JSON body of your request. (HINT: This likely means "
                "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                "payload, but what was sent was not valid JSON.)"
            )
            return await self.oa_error(request, Error(400, msg))
        for name in required:
            if name not in rec.body:
                msg = f"Missing required parameter: '{name}'."
                err = Error(400, msg, param=name, code="missing_required_parameter")
                return await self.oa_error(request, err)
        model = rec.body.get("model")
        if isinstance(model, str) and not self.model_known(model):
            return await self.oa_error(request, self.oa_model_missing(model))
        if rec.body.get("stream_options") is not None and not rec.body.get("stream"):
            msg = "The 'stream_options' parameter is only allowed when 'stream' is enabled."
            return await self.oa_error(
                request, Error(400, msg, param="stream_options", code="invalid_value")
            )
        return rec, rec.body

    def _oa_usage(self, gen: Generation, n: int = 1) -> dict[str, Any]:
        completion = gen.output_tokens * n
        return {
            "prompt_tokens": gen.input_tokens,
            "completion_tokens": completion,
            "total_tokens": gen.input_tokens + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    async def _oa_stream(
        self, request: web.Request, reply: Reply, payloads: Sequence[tuple[dict[str, Any], bool]]
    ) -> web.StreamResponse:
        frames = [Frame(f"data: {dumps(p)}\n\n".encode(), content) for p, content in payloads]
        frames.append(Frame(b"data: [DONE]\n\n"))
        return await self.send_stream(
            request,
            reply,
            frames,
            content_type="text/event-stream; charset=utf-8",
            error_frame=self.oa_stream_error,
            default_error=Error(500),
            headers=self.oa_headers(),
        )

    # ------------------------------------------------------------------ chat completions

    async def oa_chat(self, request: web.Request) -> web.StreamResponse:
        checked = await self._oa_precheck(request, ("model", "messages"))
        if isinstance(checked, web.StreamResponse):
            return checked
        rec, body = checked
        behaviour = self.next_behaviour(request.path)
        if isinstance(behaviour, Error):
            return await self.oa_error(request, behaviour)
        reply = self.reply_for(behaviour)
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        users = [message_text(m.get("content")) for m in messages if m.get("role") == "user"]
        gen = self.generate(
            reply,
            prompt=users[-1] if users else "",
            input_text=" ".join(message_text(m.get("content")) for m in messages),
            max_tokens=body.get("max_completion_tokens", body.get("max_tokens")),
            stop=_stops(body.get("stop")),
            tool_id=lambda i, tc: "call_" + short_id(rec.index, i, tc.name),
        )
        n = int(body.get("n") or 1)
        top = int(body.get("top_logprobs") or 0)
        logprobs = bool(body.get("logprobs"))
        finish = gen.finish_reason(FINISH)
        model = str(body["model"])
        cid, created = new_id("chatcmpl-"), now()
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return await self._oa_chat_stream(
                request, reply, gen, n, model, cid, created, finish, logprobs, top, include_usage
            )
        message: dict[str, Any] = {
            "role": "assistant",
            "content": gen.text if gen.text or not gen.tool_calls else None,
            "refusal": None,
            "annotations": [],
        }
        if gen.tool_calls:
            message["tool_calls"] = [
                {
                    "id": tc.id,
                    "type": "function",
                    "function": {"name": tc.name, "arguments": tc.arguments_json()},
                }
                for tc in gen.tool_calls
            ]
        lp = {"content": _token_logprobs(gen.pieces, top), "refusal": None} if logprobs else None
        result = {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {"index": i, "message": message, "logprobs": lp, "finish_reason": finish}
                for i in range(n)
            ],
            "usage": self._oa_usage(gen, n),
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
        }
        return await self.send_json(request, reply, result, headers=self.oa_headers())

    async def _oa_chat_stream(
        self,
        request: web.Request,
        reply: Reply,
        gen: Generation,
        n: int,
        model: str,
        cid: str,
        created: int,
        finish: str,
        logprobs: bool,
        top: int,
        include_usage: bool,
    ) -> web.StreamResponse:
        head: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
        }
        if include_usage:
            head["usage"] = None

        def chunk(
            index: int, delta: dict[str, Any], lp: Any = None, fr: str | None = None
        ) -> dict[str, Any]:
            choice = {"index": index, "delta": delta, "logprobs": lp, "finish_reason": fr}
            return {**head, "choices": [choice]}

        payloads: list[tuple[dict[str, Any], bool]] = []
        for i in range(n):
            payloads.append(
                (chunk(i, {"role": "assistant", "content": "", "refusal": None}), False)
            )
        for pos, piece in enumerate(gen.pieces):
            for i in range(n):
                lp = (
                    {"content": _token_logprobs([piece], top, pos), "refusal": None}
                    if logprobs
                    else None
                )
                payloads.append((chunk(i, {"content": piece}, lp), True))
        for k, tc in enumerate(gen.tool_calls):
            for i in range(n):
                start = {
                    "index": k,
                    "id": tc.id,
                    "type": "function",
                    "function": {"name": tc.name, "arguments": ""},
                }
                payloads.append((chunk(i, {"tool_calls": [start]}), True))
                for piece in split_chunks(tc.arguments_json(), ARGS_PIECE):
                    delta = {"tool_calls": [{"index": k, "function": {"arguments": piece}}]}
                    payloads.append((chunk(i, delta), True))
        for i in range(n):
            payloads.append((chunk(i, {}, None, finish), False))
        if include_usage:
            payloads.append(({**head, "choices": [], "usage": self._oa_usage(gen, n)}, False))
        return await self._oa_stream(request, reply, payloads)

    # ------------------------------------------------------------------ legacy completions

    async def oa_completions(self, request: web.Request) -> web.StreamResponse:
        checked = await self._oa_precheck(request, ("model", "prompt"))
        if isinstance(checked, web.StreamResponse):
            return checked
        _rec, body = checked
        behaviour = self.next_behaviour(request.path)
        if isinstance(behaviour, Error):
            return await self.oa_error(request, behaviour)
        reply = self.reply_for(behaviour)
        raw_prompt = body["prompt"]
        if (
            isinstance(raw_prompt, list)
            and raw_prompt
            and all(isinstance(p, str) for p in raw_prompt)
        ):
            prompts = [str(p) for p in raw_prompt]
        else:
            prompts = [raw_prompt if isinstance(raw_prompt, str) else dumps(raw_prompt)]
        max_tokens = body.get("max_tokens", 16)  # the legacy endpoint defaults to 16
        gens = [
            self.generate(
                reply, prompt=p, input_text=p, max_tokens=max_tokens, stop=_stops(body.get("stop"))
            )
            for p in prompts
        ]
        n = int(body.get("n") or 1)
        want_lp = body.get("logprobs")
        model = str(body["model"])
        cid, created = new_id("cmpl-"), now()
        choices = [(g, p_idx * n + j) for p_idx, g in enumerate(gens) for j in range(n)]

        def legacy_lp(pieces: Sequence[str], offset: int) -> dict[str, Any] | None:
            if want_lp is None:
                return None
            tops = _token_logprobs(pieces, max(int(want_lp), 0))
            offsets, pos = [], offset
            for p in pieces:
                offsets.append(pos)
                pos += len(p)
            return {
                "tokens": list(pieces),
                "token_logprobs": [t["logprob"] for t in tops],
                "top_logprobs": [
                    {a["token"]: a["logprob"] for a in t["top_logprobs"]} for t in tops
                ],
                "text_offset": offsets,
            }

        usage = {
            "prompt_tokens": sum(g.input_tokens for g in gens),
            "completion_tokens": sum(g.output_tokens for g in gens) * n,
            "total_tokens": sum(g.input_tokens + g.output_tokens * n for g in gens),
        }
        head = {"id": cid, "object": "text_completion", "created": created, "model": model}
        head["system_fingerprint"] = FINGERPRINT
        if not body.get("stream"):
            result = {
                **head,
                "choices": [
                    {
                        "text": g.text,
                        "index": idx,
                        "logprobs": legacy_lp(g.pieces, 0),
                        "finish_reason": g.finish_reason(FINISH),
                    }
                    for g, idx in choices
                ],
                "usage": usage,
            }
            return await self.send_json(request, reply, result, headers=self.oa_headers())
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        if include_usage:
            head["usage"] = None
        payloads: list[tuple[dict[str, Any], bool]] = []
        longest = max((len(g.pieces) for g in gens), default=0)
        for pos in range(longest):
            for g, idx in choices:
                if pos < len(g.pieces):
                    offset = len("".join(g.pieces[:pos]))
                    choice = {
                        "text": g.pieces[pos],
                        "index": idx,
                        "logprobs": legacy_lp([g.pieces[pos]], offset),
                        "finish_reason": None,
                    }
                    payloads.append(({**head, "choices": [choice]}, True))
        for g, idx in choices:
            choice = {
                "text": "",
                "index": idx,
                "logprobs": None,
                "finish_reason": g.finish_reason(FINISH),
            }
            payloads.append(({**head, "choices": [choice]}, False))
        if include_usage:
            payloads.append(({**head, "choices": [], "usage": usage}, False))
        return await self._oa_stream(request, reply, payloads)

    # ------------------------------------------------------------------ embeddings

    async def oa_embeddings(self, request: web.Request) -> web.StreamResponse:
        checked = await self._oa_precheck(request, ("model", "input"))
        if isinstance(checked, web.StreamResponse):
            return checked
        _rec, body = checked
        fmt = body.get("encoding_format") or "float"
        if fmt not in ("float", "base64"):
            msg = f"Invalid value for 'encoding_format': {fmt!r}. Supported: 'float', 'base64'."
            return await self.oa_error(
                request, Error(400, msg, param="encoding_format", code="invalid_value")
            )
        raw = body["input"]
        if isinstance(raw, str) or (isinstance(raw, list) and raw and isinstance(raw[0], int)):
            items: list[Any] = [raw]
        elif isinstance(raw, list) and raw:
            items = list(raw)
        else:
            msg = "'input' : input must be a string, an array of strings or an array of tokens."
            return await self.oa_error(request, Error(400, msg, param="input"))
        behaviour = self.next_behaviour(request.path)
        if isinstance(behaviour, Error):
            return await self.oa_error(request, behaviour)
        reply = self.reply_for(behaviour)
        dim = int(body.get("dimensions") or self.embedding_dim)
        texts = [i if isinstance(i, str) else dumps(i) for i in items]
        vectors = (
            [list(v) for v in reply.embeddings]
            if reply.embeddings is not None
            else [embedding_for(t, dim) for t in texts]
        )
        tokens = sum(count_words(i) if isinstance(i, str) else len(i) for i in items)

        def encode(vec: list[float]) -> list[float] | str:
            if fmt == "float":
                return vec
            return base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()

        result = {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": encode(v)}
                for i, v in enumerate(vectors)
            ],
            "model": body["model"],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return await self.send_json(request, reply, result, headers=self.oa_headers())

    # ------------------------------------------------------------------ images

    async def oa_images(self, request: web.Request) -> web.StreamResponse:
        checked = await self._oa_precheck(request, ("prompt",))
        if isinstance(checked, web.StreamResponse):
            return checked
        rec, body = checked
        behaviour = self.next_behaviour(request.path)
        if isinstance(behaviour, Error):
            return await self.oa_error(request, behaviour)
        reply = self.reply_for(behaviour)
        model = str(body.get("model") or "dall-e-2")
        prompt = str(body["prompt"])
        fmt = "b64_json" if model.startswith("gpt-image") else body.get("response_format") or "url"
        if fmt not in ("url", "b64_json"):
            msg = f"Invalid value: '{fmt}'. Supported values are: 'url' and 'b64_json'."
            return await self.oa_error(request, Error(400, msg, param="response_format"))
        data = []
        for i in range(int(body.get("n") or 1)):
            png = tiny_png(f"{prompt}#{i}")
            item: dict[str, Any]
            if fmt == "url":
                name = f"img-{short_id(rec.index, i, length=16)}.png"
                item = {"url": self.add_file(name, png, "image/png")}
            else:
                item = {"b64_json": base64.b64encode(png).decode()}
            if model == "dall-e-3":
                item["revised_prompt"] = prompt
            data.append(item)
        result: dict[str, Any] = {"created": now(), "data": data}
        if model.startswith("gpt-image"):
            words = count_words(prompt)
            result["usage"] = {
                "input_tokens": words,
                "output_tokens": 272 * len(data),
                "total_tokens": words + 272 * len(data),
                "input_tokens_details": {"text_tokens": words, "image_tokens": 0},
            }
        return await self.send_json(request, reply, result, headers=self.oa_headers())

    # ------------------------------------------------------------------ models

    def oa_model_obj(self, model: str) -> dict[str, Any]:
        return {"id": model, "object": "model", "created": 1700000000, "owned_by": "system"}

    async def oa_models(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        denied = await self.oa_check_auth(request)
        if denied is not None:
            return denied
        behaviour = self.next_behaviour(request.path, listing=True)
        if isinstance(behaviour, Error):
            return await self.oa_error(request, behaviour)
        result = {"object": "list", "data": [self.oa_model_obj(m) for m in self.models]}
        return await self.send_json(
            request, self.reply_for(behaviour), result, headers=self.oa_headers()
        )

    async def oa_model(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        denied = await self.oa_check_auth(request)
        if denied is not None:
            return denied
        model = request.match_info["model"]
        if model not in self.models:
            return await self.oa_error(request, self.oa_model_missing(model))
        return await self.send_json(
            request, Reply(), self.oa_model_obj(model), headers=self.oa_headers()
        )


class FakeOpenAI(OpenAICompat):
    """Fake ``api.openai.com``; point clients at ``fake.url`` (``http://127.0.0.1:PORT/v1``).

    ``api_key=None`` accepts any non-empty bearer key.  Image URLs are served by the fake.
    """

    default_models: ClassVar[tuple[str, ...]] = (
        "gpt-4o-mini",
        "gpt-4o",
        "gpt-3.5-turbo-instruct",
        "text-embedding-3-small",
        "dall-e-3",
        "gpt-image-1",
    )

    @property
    def url(self) -> str:
        return f"{self.root}/v1"

    def setup_routes(self, app: web.Application) -> None:
        self.add_openai_routes(app, "/v1")
