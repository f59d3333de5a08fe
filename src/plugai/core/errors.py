"""The one error tree of PlugAI.

Services raise these; they never return error objects. ``api/errors.py`` renders each
one once, at the edge, as the OpenAI error envelope with the status given here::

    PlugAIError                       500 server_error
    ├── InvalidRequest                400 invalid_request_error  (names the parameter)
    │   ├── UnsupportedParameter      400
    │   └── CapabilityNotSupported    400  (the model cannot do this: tools, embeddings, …)
    ├── AuthenticationFailed          401 authentication_error
    ├── PermissionDenied              403 permission_error
    ├── NotFound                      404 not_found_error
    │   └── ModelNotFound             404
    ├── MethodNotAllowed              405
    ├── Conflict                      409 conflict_error
    ├── PayloadTooLarge               413
    ├── RangeNotSatisfiable           416  (a download's Range lies beyond the file)
    ├── RateLimited                   429 rate_limit_error   (retry_after)
    ├── StorageFull                   507 storage_full
    ├── ConfigError                   configuration, stops start-up (exit code 2)
    ├── VaultError                    a secret that cannot be decrypted
    └── ProviderError                 502 upstream_error
        ├── UpstreamAuthError         502
        ├── UpstreamRateLimited       429
        ├── UpstreamTimeout           504
        ├── UpstreamUnavailable       503
        └── UpstreamProtocolError     502
"""

from __future__ import annotations


class PlugAIError(Exception):
    """Root of every error PlugAI raises on purpose."""

    status: int = 500
    type: str = "server_error"
    code: str | None = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        self.headers = headers or {}


class InvalidRequest(PlugAIError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_value"


class UnsupportedParameter(InvalidRequest):
    code = "unsupported_parameter"


class CapabilityNotSupported(InvalidRequest):
    code = "capability_not_supported"


class AuthenticationFailed(PlugAIError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(PlugAIError):
    status = 403
    type = "permission_error"
    code = "forbidden"


class NotFound(PlugAIError):
    status = 404
    type = "not_found_error"
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class MethodNotAllowed(PlugAIError):
    status = 405
    type = "invalid_request_error"
    code = "method_not_allowed"


class Conflict(PlugAIError):
    status = 409
    type = "conflict_error"
    code = "conflict"


class PayloadTooLarge(PlugAIError):
    status = 413
    type = "invalid_request_error"
    code = "payload_too_large"


class RangeNotSatisfiable(PlugAIError):
    status = 416
    type = "invalid_request_error"
    code = "range_not_satisfiable"


class RateLimited(PlugAIError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after else {}
        super().__init__(message, headers=headers, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class StorageFull(PlugAIError):
    status = 507
    type = "storage_error"
    code = "storage_full"


class ConfigError(PlugAIError):
    """Configuration that cannot be used; start-up stops with exit code 2."""

    code = "config_error"


class VaultError(PlugAIError):
    """A secret that cannot be decrypted: wrong master key or tampered ciphertext."""

    code = "vault_error"


class ProviderError(PlugAIError):
    """Trouble with an upstream. ``retryable``: the same call may succeed later;
    every ProviderError lets the router fall back to another deployment."""

    status = 502
    type = "upstream_error"
    code = "upstream_error"
    retryable = True
    retry_after: float | None = None


class UpstreamAuthError(ProviderError):
    code = "upstream_auth_error"
    retryable = False


class UpstreamRateLimited(ProviderError):
    status = 429
    type = "rate_limit_error"
    code = "upstream_rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after else {}
        super().__init__(message, headers=headers, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class UpstreamTimeout(ProviderError):
    status = 504
    code = "upstream_timeout"


class UpstreamUnavailable(ProviderError):
    status = 503
    code = "upstream_unavailable"


class UpstreamProtocolError(ProviderError):
    code = "upstream_protocol_error"
