"""``POST /v1/messages``: Anthropic's Messages API in front of any chat model, served by
the same gateway as ``/v1/chat/completions``; errors come in Anthropic's shape."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import orjson
import structlog
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette.responses import StreamingResponse

from plugai.api.deps import CallCtx, GatewayDep, SessionChatDep
from plugai.api.sse import HEADERS, first_of, frame
from plugai.core.chat import ChatChunk
from plugai.core.errors import PlugAIError
from plugai.protocol.anthropic import (
    MessageResponse,
    MessagesRequest,
    StreamEncoder,
    error_object,
    message_of,
)

log = structlog.get_logger("plugai.api")
Handler = Callable[[Request], Coroutine[Any, Any, Response]]
ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


class AnthropicErrorRoute(APIRoute):
    """Lets the app's handlers render an error, then reshapes the OpenAI envelope they
    produce into ``{"type": "error", "error": {type, message}}`` with the same status."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                render = _handler_for(request, exc)
                if render is None:
                    raise
                rendered = await render(request, exc)
                try:
                    error = orjson.loads(rendered.body)["error"]
                    message, param = str(error["message"]), error.get("param")
                except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
                    return rendered
                if param and f"'{param}'" not in message:  # Anthropic clients show the message
                    message = f"{message} (parameter: '{param}')"
                headers = {
                    k: v for k, v in rendered.headers.items() if not k.startswith("content-")
                }
                shaped = error_object(
                    rendered.status_code, message, param=param, code=error.get("code")
                )
                body = orjson.dumps(shaped)
                return Response(body, rendered.status_code, headers, media_type="application/json")

        return route


def _handler_for(request: Request, exc: Exception) -> ErrorHandler | None:
    handlers = request.app.exception_handlers
    for cls in type(exc).__mro__:
        if cls in handlers and cls is not Exception:  # crashes keep the app's 500 path
            found: ErrorHandler = handlers[cls]
            return found
    return None


router = APIRouter(prefix="/v1", tags=["anthropic"], route_class=AnthropicErrorRoute)


async def _events(
    first: ChatChunk, rest: AsyncIterator[ChatChunk], encoder: StreamEncoder
) -> AsyncIterator[bytes]:
    try:
        for name, data in encoder.feed(first):
            yield frame(data, event=name)
        async for item in rest:
            for name, data in encoder.feed(item):
                yield frame(data, event=name)
    except PlugAIError as exc:
        log.warning("stream_failed", error=exc.message, code=exc.code)
        yield frame(
            error_object(exc.status, exc.message, param=exc.param, code=exc.code), event="error"
        )
        return
    except Exception:
        log.exception("stream_crashed")
        failure = error_object(500, "Internal error while streaming.", code="internal_error")
        yield frame(failure, event="error")
        return
    finally:
        close = getattr(rest, "aclose", None)
        if close is not None:
            await close()
    for name, data in encoder.close():
        yield frame(data, event=name)


@router.post(
    "/messages",
    summary="Anthropic Messages API (stream or not) with any chat model",
    response_model=None,
    responses={
        200: {
            "model": MessageResponse,
            "description": "With `stream: true`, Anthropic's `text/event-stream` of events.",
        }
    },
)
async def messages(
    body: MessagesRequest, gateway: GatewayDep, sessions: SessionChatDep, ctx: CallCtx
) -> Response:
    history, params = body.canonical_messages(), body.params()
    turn = None
    if body.session_id is not None and ctx.principal is not None:
        turn = await sessions.prepare(
            ctx.principal.user_id, body.session_id, body.model, history, params
        )
    if body.stream:
        chunks = (
            sessions.stream_chat(turn, ctx, include_usage=True)
            if turn
            else gateway.stream_chat(body.model, history, params, ctx, include_usage=True)
        )
        first = await first_of(chunks)
        return StreamingResponse(
            _events(first, chunks, StreamEncoder()),
            media_type="text/event-stream",
            headers=HEADERS,
        )
    if turn is not None:
        result = await sessions.chat(turn, ctx)
        headers = {"X-PlugAI-Messages-Left-Out": str(turn.left_out)}
        answer = {**message_of(result), "session": turn.info()}
        return Response(orjson.dumps(answer), media_type="application/json", headers=headers)
    result = await gateway.chat(body.model, history, params, ctx)
    return Response(orjson.dumps(message_of(result)), media_type="application/json")
