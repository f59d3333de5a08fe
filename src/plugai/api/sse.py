"""Server-sent events out: chunks relayed as they come, never buffered. An error after
the stream started becomes an error event, then the stream ends cleanly."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
import structlog
from starlette.responses import StreamingResponse

from plugai.api.errors import error_body
from plugai.core.errors import PlugAIError, UpstreamProtocolError

log = structlog.get_logger("plugai.api")
DONE = b"data: [DONE]\n\n"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def frame(obj: Mapping[str, Any], event: str | None = None) -> bytes:
    head = b"event: " + event.encode() + b"\n" if event else b""
    return head + b"data: " + orjson.dumps(obj) + b"\n\n"


async def _relay(first: Mapping[str, Any], rest: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    try:
        yield frame(first)
        async for item in rest:
            yield frame(item)
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
    first = await first_of(stream)
    return StreamingResponse(_relay(first, stream), media_type="text/event-stream", headers=HEADERS)
