"""Server-sent events out: chunks relayed as they come, never buffered. An error after
the stream started becomes an error event, then the stream ends cleanly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import orjson
import structlog
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from plugai.api.errors import error_body
from plugai.core.errors import PlugAIError, UpstreamProtocolError

log = structlog.get_logger("plugai.api")
DONE = b"data: [DONE]\n\n"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class SSEResponse(StreamingResponse):
    """A ``StreamingResponse`` with less work per request: the stream runs in the request's
    own task, and a plain asyncio task watches for the client's disconnect (also while the
    upstream stalls) and cancels it, where Starlette runs an anyio task group."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        assert task is not None
        state = {"done": False, "gone": False}

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            if not state["done"]:
                state["gone"] = True
                task.cancel()

        watcher = asyncio.ensure_future(watch())
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            async for chunk in self.body_iterator:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            state["done"] = True
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not state["gone"]:
                raise
            task.uncancel()  # the cancellation was ours: the client is gone, nothing to send
        finally:
            state["done"] = True
            watcher.cancel()
        if self.background is not None:
            await self.background()


def frame(obj: Mapping[str, Any], event: str | None = None) -> bytes:
    head = b"event: " + event.encode() + b"\n" if event else b""
    return head + b"data: " + orjson.dumps(obj) + b"\n\n"


def _as_is(frames: bytes) -> bytes:
    return frames


async def _relay(
    first: Any, rest: AsyncIterator[Any], encode: Callable[[Any], bytes]
) -> AsyncIterator[bytes]:
    try:
        yield encode(first)
        async for item in rest:
            yield encode(item)
    except PlugAIError as exc:
        log.warning("stream_failed", error=exc.message, code=exc.code)
        yield frame(error_body(exc))
        return
    except Exception:
        log.exception("stream_crashed")
        yield frame(
            {
                "error": {
                    "message": "Internal error while streaming.",
                    "type": "server_error",
                    "param": None,
                    "code": "internal_error",
                }
            }
        )
        return
    finally:
        close = getattr(rest, "aclose", None)
        if close is not None:
            await close()
    yield DONE


async def first_of(stream: AsyncIterator[Any]) -> Any:
    """The first item, so that errors before any output still get a proper HTTP status."""
    try:
        return await anext(stream)
    except StopAsyncIteration:
        raise UpstreamProtocolError("The upstream sent an empty stream.") from None
    except BaseException:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()
        raise


async def sse_response(stream: AsyncIterator[Any]) -> StreamingResponse:
    """A stream of JSON-able pieces, one ``data:`` event each."""
    first = await first_of(stream)
    return SSEResponse(
        _relay(first, stream, frame), media_type="text/event-stream", headers=HEADERS
    )


async def sse_frames_response(stream: AsyncIterator[bytes]) -> StreamingResponse:
    """A stream of SSE frames that are ready to send (``Gateway.sse_chat``)."""
    first = await first_of(stream)
    return SSEResponse(
        _relay(first, stream, _as_is), media_type="text/event-stream", headers=HEADERS
    )
