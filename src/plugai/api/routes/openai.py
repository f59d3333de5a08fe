"""OpenAI-compatible endpoints: chat, legacy completions, embeddings (images: generation.py)."""

from __future__ import annotations

import base64
import struct
from typing import Any

import orjson
from fastapi import APIRouter, Response

from plugai.api.deps import CallCtx, GatewayDep, SessionChatDep
from plugai.api.sse import sse_frames_response, sse_response
from plugai.core.errors import InvalidRequest
from plugai.protocol.openai import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    CompletionRequestModel,
    EmbeddingRequestModel,
    EmbeddingResponse,
)

router = APIRouter(prefix="/v1", tags=["openai"])
STREAM_DOC = "With `stream: true`, a `text/event-stream` of chunks ending with `data: [DONE]`."


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def _include_usage(stream: bool, options: Any) -> bool:
    if options is not None and not stream:
        raise InvalidRequest(
            "The 'stream_options' parameter is only allowed when 'stream' is true.",
            param="stream_options",
        )
    return bool(options and options.include_usage)


@router.post(
    "/chat/completions",
    summary="Chat completion (stream or not) with any model",
    response_model=None,
    responses={200: {"model": ChatCompletionResponse, "description": STREAM_DOC}},
)
async def chat_completions(
    body: ChatCompletionRequest, gateway: GatewayDep, sessions: SessionChatDep, ctx: CallCtx
) -> Response:
    include_usage = _include_usage(body.stream, body.stream_options)
    params, messages = body.params(), body.message_dicts()
    if body.session_id is not None and ctx.principal is not None:
        turn = await sessions.prepare(
            ctx.principal.user_id, body.session_id, body.model, messages, params
        )
        headers = {"X-PlugAI-Messages-Left-Out": str(turn.left_out)}
        if body.stream:
            response = await sse_response(
                sessions.stream_chat(turn, ctx, include_usage=include_usage)
            )
            response.headers.update(headers)
            return response
        return json_response(await sessions.chat(turn, ctx), headers=headers)
    if body.stream:
        return await sse_frames_response(
            gateway.sse_chat(body.model, messages, params, ctx, include_usage=include_usage)
        )
    return json_response(await gateway.chat(body.model, messages, params, ctx))


@router.post(
    "/completions",
    summary="Legacy text completion",
    response_model=None,
    responses={200: {"description": STREAM_DOC}},
)
async def completions(body: CompletionRequestModel, gateway: GatewayDep, ctx: CallCtx) -> Response:
    include_usage = _include_usage(body.stream, body.stream_options)
    if body.stream:
        return await sse_frames_response(
            gateway.sse_complete(
                body.model, body.prompt, body.params(), ctx, include_usage=include_usage
            )
        )
    return json_response(await gateway.complete(body.model, body.prompt, body.params(), ctx))


def _b64(vector: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


@router.post(
    "/embeddings",
    summary="Embeddings (float or base64)",
    response_model=None,
    responses={200: {"model": EmbeddingResponse}},
)
async def embeddings(body: EmbeddingRequestModel, gateway: GatewayDep, ctx: CallCtx) -> Response:
    inputs = body.inputs()
    if not inputs or any(isinstance(i, str) and not i for i in inputs):
        raise InvalidRequest("'input' must not be empty.", param="input")
    result = await gateway.embed(body.model, inputs, body.params(), ctx)
    encode = _b64 if body.encoding_format == "base64" else (lambda v: v)
    return json_response(
        {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": encode(v)}
                for i, v in enumerate(result.vectors)
            ],
            "model": body.model,
            "usage": {"prompt_tokens": result.prompt_tokens, "total_tokens": result.prompt_tokens},
        }
    )
