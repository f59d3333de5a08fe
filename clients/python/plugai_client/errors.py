"""Exceptions: one class per error type of PlugAI's OpenAI-style envelope
``{"error": {"message", "type", "param", "code"}}``, all under :class:`PlugAIError`.

    try:
        client.models.get("nope/nope")
    except NotFoundError as exc:
        print(exc.status, exc.code, exc.request_id)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plugai_client.types.artifacts import Job
    from plugai_client.types.registry import DownloadJob

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "DownloadError",
    "GenerationError",
    "InternalServerError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PlugAIError",
    "RateLimitError",
    "StorageFullError",
    "UpstreamError",
    "error_from_body",
]


class PlugAIError(Exception):
    """Root of every error the client raises.

    ``status`` is the HTTP status (``None`` for connection problems), ``type``, ``code`` and
    ``param`` come from the error envelope, ``request_id`` from the ``X-Request-ID`` header.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.request_id = request_id
        self.headers: dict[str, str] = dict(headers or {})
        self.body = body

    def __str__(self) -> str:
        head = f"{self.status} " if self.status is not None else ""
        tail = f" (code={self.code}" if self.code else ""
        if self.param:
            tail += f", param={self.param}" if tail else f" (param={self.param}"
        tail += ")" if tail else ""
        rid = f" [request {self.request_id}]" if self.request_id else ""
        return f"{head}{self.message}{tail}{rid}"


class APIConnectionError(PlugAIError):
    """The server could not be reached (after the retries)."""


class APITimeoutError(APIConnectionError):
    """The request timed out (after the retries)."""


class APIStatusError(PlugAIError):
    """The server answered with an error status (base of the classes below)."""


class BadRequestError(APIStatusError):
    """400 ``invalid_request_error`` (also 405/415/422): ``param`` names the culprit."""


class AuthenticationError(APIStatusError):
    """401 ``authentication_error``: missing, wrong, expired or revoked API key."""


class PermissionDeniedError(APIStatusError):
    """403 ``permission_error``: e.g. an admin route called with a user key."""


class NotFoundError(APIStatusError):
    """404 ``not_found_error``: unknown model, session, user, key or route."""


class ConflictError(APIStatusError):
    """409 ``conflict_error``: e.g. a user name taken, a closed session written to."""


class PayloadTooLargeError(APIStatusError):
    """413: the request body is over the server's limit."""


class RateLimitError(APIStatusError):
    """429 ``rate_limit_error``; ``retry_after`` holds the server's hint in seconds."""

    @property
    def retry_after(self) -> float | None:
        value = self.headers.get("retry-after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class InternalServerError(APIStatusError):
    """500 ``server_error``: a bug in the server (quote ``request_id`` when reporting it)."""


class UpstreamError(APIStatusError):
    """502/503/504 ``upstream_error``: the model provider failed, timed out or is down."""


class StorageFullError(APIStatusError):
    """507 ``storage_error``: the server's disk budget is used up."""


class DownloadError(PlugAIError):
    """A followed download ended ``failed`` or ``cancelled``: ``job`` is its last state
    (``job.error`` says why it failed)."""

    def __init__(self, job: DownloadJob) -> None:
        why = f": {job.error}" if job.error else ""
        super().__init__(f"download {job.id} of {job.source} {job.state}{why}", body=job)
        self.job = job


class GenerationError(PlugAIError):
    """A followed generation job (``client.jobs.wait``) ended ``failed`` or ``cancelled``:
    ``job`` is its last state. A failed job's ``type``, ``code`` and ``param`` come from
    the server's error object, and ``body`` is its envelope ``{"error": {…}}``."""

    def __init__(self, job: Job) -> None:
        error = job.error
        if error is not None:
            message = f"generation job {job.id} ({job.model}) failed: {error.message}"
            envelope: Any = {"error": error.model_dump()}
        else:
            message = f"generation job {job.id} ({job.model}) {job.status}"
            envelope = None
        super().__init__(
            message,
            type=error.type if error else None,
            code=error.code if error else None,
            param=error.param if error else None,
            body=envelope,
        )
        self.job = job


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: BadRequestError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: BadRequestError,
    422: BadRequestError,
    429: RateLimitError,
    500: InternalServerError,
    502: UpstreamError,
    503: UpstreamError,
    504: UpstreamError,
    507: StorageFullError,
}
_BY_TYPE: dict[str, type[APIStatusError]] = {
    "invalid_request_error": BadRequestError,
    "authentication_error": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "conflict_error": ConflictError,
    "rate_limit_error": RateLimitError,
    "server_error": InternalServerError,
    "upstream_error": UpstreamError,
    "storage_error": StorageFullError,
}


def _fields(body: Any) -> tuple[str | None, str | None, str | None, str | None]:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None, None, None

    def text(key: str) -> str | None:
        value = error.get(key)
        return value if isinstance(value, str) else None

    return text("message"), text("type"), text("code"), text("param")


def error_from_body(
    status: int, body: Any, headers: Mapping[str, str], *, fallback: str = ""
) -> APIStatusError:
    """The exception for an error response: by HTTP status, then by envelope type."""
    message, etype, code, param = _fields(body)
    cls = _BY_STATUS.get(status) or _BY_TYPE.get(etype or "")
    if cls is None:
        cls = UpstreamError if status >= 500 else BadRequestError
    lowered = {k.lower(): v for k, v in headers.items()}
    return cls(
        message or fallback or f"HTTP {status}",
        status=status,
        type=etype,
        code=code,
        param=param,
        request_id=lowered.get("x-request-id"),
        headers=lowered,
        body=body,
    )


def stream_error(body: Any, request_id: str | None) -> APIStatusError:
    """The exception for an ``{"error": …}`` event inside a stream that had started (the
    HTTP status was 200, so ``status`` is ``None``; the class follows the envelope type)."""
    message, etype, code, param = _fields(body)
    cls = _BY_TYPE.get(etype or "", APIStatusError)
    return cls(
        message or "Error in stream.",
        type=etype,
        code=code,
        param=param,
        request_id=request_id,
        body=body,
    )
