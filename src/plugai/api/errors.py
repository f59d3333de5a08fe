"""Renders every error as the OpenAI envelope ``{"error": {message, type, param, code}}``."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from plugai.core.errors import PlugAIError

log = structlog.get_logger("plugai.api")

_HTTP_TYPES = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "forbidden"),
    404: ("not_found_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    413: ("invalid_request_error", "payload_too_large"),
    415: ("invalid_request_error", "unsupported_media_type"),
}


def envelope(
    status: int,
    message: str,
    type_: str,
    *,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def error_body(exc: PlugAIError) -> dict[str, Any]:
    return {
        "error": {"message": exc.message, "type": exc.type, "param": exc.param, "code": exc.code}
    }


def render(exc: PlugAIError) -> JSONResponse:
    return JSONResponse(error_body(exc), status_code=exc.status, headers=exc.headers or None)


def _param_of(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out += f"[{p}]" if p.isdigit() else f".{p}"
    return out


def _is_json(request: Request) -> bool:
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    return ctype == "application/json" or ctype.endswith("+json")


async def _plugai_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PlugAIError)
    return render(exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors: list[dict[str, Any]] = [dict(e) for e in exc.errors()]
    first: dict[str, Any] = errors[0] if errors else {"loc": (), "msg": "Invalid.", "type": ""}
    if first.get("type") == "json_invalid":
        detail = (first.get("ctx") or {}).get("error", "")
        return envelope(
            400,
            f"The request body is not valid JSON: {detail}.",
            "invalid_request_error",
            code="invalid_json",
        )
    loc = tuple(first.get("loc", ()))
    if loc == ("body",) and not _is_json(request):
        return envelope(
            415,
            "Send the request body as JSON with Content-Type: application/json.",
            "invalid_request_error",
            code="unsupported_media_type",
        )
    param = _param_of(loc)
    msg = str(first.get("msg", "Invalid value."))
    if first.get("type") == "missing":
        message = f"Missing required parameter: '{param}'." if param else "Missing request body."
        code = "missing_required_parameter"
    else:
        message = f"Invalid value for '{param}': {msg}." if param else f"Invalid request: {msg}."
        code = "invalid_value"
    if len(errors) > 1:
        message += f" ({len(errors) - 1} more problem(s) in this request.)"
    return envelope(400, message, "invalid_request_error", param=param, code=code)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    type_, code = _HTTP_TYPES.get(exc.status_code, ("invalid_request_error", None))
    messages = {
        404: "Unknown route.",
        405: "Method not allowed for this route.",
        400: "The request body could not be parsed (check it is UTF-8 JSON).",
    }
    message = messages.get(exc.status_code) or str(exc.detail)
    return envelope(
        exc.status_code, message, type_, code=code, headers=getattr(exc, "headers", None)
    )


async def _unhandled(request: Request, exc: Exception) -> Response:
    request_id = getattr(request.state, "request_id", "unknown")
    log.error("unhandled_error", exc_info=exc, request_id=request_id)
    return envelope(
        500,
        f"Internal server error (request id {request_id}).",
        "server_error",
        code="internal_error",
        headers={"X-Request-ID": request_id},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PlugAIError, _plugai_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled)
