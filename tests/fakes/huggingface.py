"""Fake Hugging Face Inference Providers router (``router.huggingface.co/v1``).

OpenAI-compatible ``/v1/chat/completions`` and ``/v1/models`` (same handlers as the OpenAI
fake) with HF's auth and error conventions: ``hf_`` bearer tokens, and hub-style errors
``{"error": "<message>"}`` (the router's own 400 for an unsupported model keeps the
OpenAI-style envelope with ``code: "model_not_supported"``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from aiohttp import web

from .base import Error, status_text
from .openai_fake import FakeOpenAI, openai_error_body

__all__ = ["FakeHuggingFace", "hf_error_body"]

_MESSAGES = {
    401: "Invalid credentials in Authorization header",
    402: "You have exceeded your monthly included credits for Inference Providers. "
    "Subscribe to PRO to get 20x more monthly included credits.",
    429: "Rate limit reached. Please retry later.",
}


def hf_error_body(err: Error) -> dict[str, Any]:
    """``{"error": "<message>"}`` plus ``error_type`` (TGI style) when ``err.type`` is set."""
    body: dict[str, Any] = {
        "error": err.message or _MESSAGES.get(err.status) or status_text(err.status)
    }
    if err.type:
        body["error_type"] = err.type
    return body


class FakeHuggingFace(FakeOpenAI):
    """Fake HF router; ``fake.url`` is ``http://127.0.0.1:PORT/v1``.

    ``api_key=None`` accepts any bearer token starting with ``hf_``.  ``error_style``
    picks the body of scripted errors: ``"hf"`` (default) or ``"openai"``.
    """

    default_models: ClassVar[tuple[str, ...]] = (
        "meta-llama/Llama-3.1-8B-Instruct",
        "Qwen/Qwen2.5-7B-Instruct",
        "deepseek-ai/DeepSeek-V3-0324",
    )

    def __init__(self, *, error_style: Literal["hf", "openai"] = "hf", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error_style = error_style

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self.oa_chat)
        app.router.add_get("/v1/models", self.oa_models)

    async def oa_check_auth(self, request: web.Request) -> web.StreamResponse | None:
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.startswith("Bearer ") else ""
        ok = token == self.api_key if self.api_key is not None else token.startswith("hf_")
        if ok:
            return None
        return await self.send_error(request, Error(401), hf_error_body, self.oa_headers())

    def oa_error_body(self, err: Error) -> Any:
        return hf_error_body(err) if self.error_style == "hf" else openai_error_body(err)

    def oa_model_missing(self, model: str) -> Error:
        body = {
            "error": {
                "message": f"The requested model '{model}' is not supported by any provider "
                "you have enabled.",
                "type": "invalid_request_error",
                "param": "model",
                "code": "model_not_supported",
            }
        }
        return Error(400, body=body)

    def oa_model_obj(self, model: str) -> dict[str, Any]:
        return {
            "id": model,
            "object": "model",
            "created": 1700000000,
            "owned_by": model.split("/")[0],
            "providers": [{"provider": "fake", "status": "live"}],
        }
