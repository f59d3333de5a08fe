"""Ollama's native API (``/api/chat``, ``/api/embed``, ``/api/tags``).

Native rather than Ollama's ``/v1`` (the ``ollama-openai`` preset): it takes the sampling
options OpenAI has no name for (``top_k``, ``num_ctx``), JSON-schema ``format`` on every
version, and reports token counts on every answer. Messages carry images as base64 and
tool calls with object arguments; both are converted here, once each way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
from pydantic import BaseModel, Field, create_model

from plugai.core.chat import (
    AssistantMessage,
    ChatChunk,
    ChatCompletion,
    ChatRequest,
    Delta,
    FinishReason,
    ToolCall,
    ToolCallDelta,
    chunk,
    now,
    usage,
)
from plugai.core.credentials import Credentials
from plugai.core.embeddings import EmbeddingRequest, EmbeddingResult
from plugai.core.errors import InvalidRequest, UnsupportedParameter, UpstreamProtocolError
from plugai.core.models import Capabilities, Modality, ModelCard
from plugai.core.parameters import subset
from plugai.providers._content import (
    arguments_of,
    call_names,
    data_url,
    new_call_id,
    new_completion_id,
    text_of,
)
from plugai.providers.base import Operation, Provider
from plugai.providers.http import HttpUpstream, Timeouts, ndjson_lines, upstream_error
from plugai.settings import ProviderSettings

DEFAULT_BASE_URL = "http://127.0.0.1:11434"
_UNSUPPORTED = frozenset(
    {
        "n",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "parallel_tool_calls",
        "user",
        "service_tier",
        "metadata",
        "store",
        "reasoning_effort",
    }
)
_EXTRAS: dict[str, Any] = {
    "top_k": (
        int | None,
        Field(None, ge=1, description="Sample only from the k likeliest tokens."),
    ),
    "num_ctx": (int | None, Field(None, ge=1, description="Context window size in tokens.")),
}
OllamaChatOptions: type[BaseModel] = create_model(
    "OllamaChatParameters", __base__=subset("chat", _UNSUPPORTED), **_EXTRAS
)
OllamaEmbeddingOptions = subset("embeddings", frozenset({"user"}))
_OPTIONS = ("temperature", "top_p", "top_k", "seed", "presence_penalty", "frequency_penalty")
_EMBEDDING_HINTS = ("embed", "bge-", "bge:", "minilm", "paraphrase-multilingual")
_VISION_HINTS = (
    "llava",
    "vision",
    "-vl",
    "vl:",
    "moondream",
    "minicpm-v",
    "gemma3",
    "llama4",
    "mistral-small3",
    "granite3.2-vision",
)


def error_message(body: Any) -> str | None:
    """Ollama: ``{"error": "<message>"}``."""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return None


# --- canonical request → /api/chat ---------------------------------------------------------
def _user_message(content: Any, where: str) -> dict[str, Any]:
    """Ollama content is one string; images travel beside it as base64."""
    if content is None or isinstance(content, str):
        return {"role": "user", "content": content or ""}
    texts: list[str] = []
    images: list[str] = []
    for j, part in enumerate(content):
        kind, at = (part.get("type") if isinstance(part, dict) else None), f"{where}[{j}]"
        if kind == "text":
            texts.append(str(part.get("text") or ""))
        elif kind == "image_url":
            url = str((part.get("image_url") or {}).get("url") or "")
            if not url.startswith("data:"):  # Ollama takes bytes; fetching URLs here is SSRF
                raise InvalidRequest(
                    "Ollama takes images as base64 data: URLs, not links.", param=f"{at}.image_url"
                )
            images.append(data_url(url, f"{at}.image_url")[1])
        else:
            raise InvalidRequest(
                f"Content parts of type {kind!r} are not supported by Ollama models.",
                param=f"{at}.type",
            )
    message: dict[str, Any] = {"role": "user", "content": "\n".join(t for t in texts if t)}
    if images:
        message["images"] = images
    return message


def _assistant_message(message: Mapping[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "role": "assistant",
        "content": text_of(message.get("content"), f"{where}.content"),
    }
    calls = []
    for j, call in enumerate(message.get("tool_calls") or []):
        fn = call.get("function") or {}
        args = arguments_of(fn.get("arguments"), f"{where}.tool_calls[{j}].function.arguments")
        calls.append({"function": {"name": str(fn.get("name") or ""), "arguments": args}})
    if calls:
        out["tool_calls"] = calls
    return out


def convert_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ollama's messages: tool results name the function they answer (``tool_name``)."""
    names = call_names(messages)
    out: list[dict[str, Any]] = []
    for i, msg in enumerate(messages):
        role, where = msg.get("role"), f"messages[{i}]"
        if role in ("system", "developer"):
            out.append(
                {"role": "system", "content": text_of(msg.get("content"), f"{where}.content")}
            )
        elif role == "user":
            out.append(_user_message(msg.get("content"), f"{where}.content"))
        elif role == "assistant":
            out.append(_assistant_message(msg, where))
        elif role in ("tool", "function"):
            result: dict[str, Any] = {
                "role": "tool",
                "content": text_of(msg.get("content"), f"{where}.content"),
            }
            name = names.get(str(msg.get("tool_call_id"))) or msg.get("name")
            if name:
                result["tool_name"] = str(name)
            out.append(result)
        else:
            raise InvalidRequest(f"Unknown message role {role!r}.", param=f"{where}.role")
    return out


def _format(response_format: Any) -> Any:
    kind = (response_format or {}).get("type")
    if kind == "json_object":
        return "json"
    if kind == "json_schema":
        return (response_format.get("json_schema") or {}).get("schema") or "json"
    if kind not in (None, "text"):
        raise InvalidRequest(
            "response_format must be text, json_object or json_schema.", param="response_format"
        )
    return None


def request_body(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    """The ``/api/chat`` body: sampling parameters go into ``options``."""
    params = request.params
    options = {key: params[key] for key in (*_OPTIONS, "num_ctx") if params.get(key) is not None}
    limit = params.get("max_completion_tokens") or params.get("max_tokens")
    if limit:
        options["num_predict"] = limit
    stop = params.get("stop")
    if stop:
        options["stop"] = [stop] if isinstance(stop, str) else list(stop)
    body: dict[str, Any] = {
        "model": request.model,
        "messages": convert_messages(request.messages),
        "stream": stream,
    }
    if options:
        body["options"] = options
    fmt = _format(params.get("response_format"))
    if fmt is not None:
        body["format"] = fmt
    choice = params.get("tool_choice")
    if choice not in (None, "auto", "none"):
        raise UnsupportedParameter(
            "Ollama lets the model choose: tool_choice may only be auto or none.",
            param="tool_choice",
        )
    if params.get("tools") and choice != "none":
        body["tools"] = params["tools"]  # Ollama takes OpenAI's tool shape as it is
    return body


# --- /api/chat answers → canonical ---------------------------------------------------------
def _calls(message: Mapping[str, Any]) -> list[ToolCall]:
    calls: list[ToolCall] = []
    for call in message.get("tool_calls") or []:
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict):
            continue
        raw = fn.get("arguments")
        arguments = raw if isinstance(raw, str) else orjson.dumps(raw or {}).decode()
        calls.append(
            {
                "id": str(call.get("id") or new_call_id()),
                "type": "function",
                "function": {"name": str(fn.get("name") or ""), "arguments": arguments},
            }
        )
    return calls


def _finish(done_reason: Any, called: bool) -> FinishReason:
    if called:
        return "tool_calls"
    return "length" if done_reason == "length" else "stop"


def _check(line: Any, provider: str) -> Mapping[str, Any]:
    if not isinstance(line, dict):
        raise UpstreamProtocolError(f"{provider}: answer is not an object")
    if "error" in line:
        raise upstream_error(provider, 500, orjson.dumps(line), {}, error_message)
    return line


def completion_of(data: Any, model: str, provider: str) -> ChatCompletion:
    """A canonical completion from a non-streamed ``/api/chat`` answer."""
    data = _check(data, provider)
    raw = data.get("message")
    if not isinstance(raw, dict):
        raise UpstreamProtocolError(f"{provider}: chat answer without a message")
    calls = _calls(raw)
    message: AssistantMessage = {"role": "assistant", "content": str(raw.get("content") or "")}
    if calls:
        message["tool_calls"] = calls
        message["content"] = message["content"] or None
    return {
        "id": new_completion_id(),
        "object": "chat.completion",
        "created": now(),
        "model": str(data.get("model") or model),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": _finish(data.get("done_reason"), bool(calls)),
            }
        ],
        "usage": usage(int(data.get("prompt_eval_count") or 0), int(data.get("eval_count") or 0)),
    }


class StreamDecoder:
    """Turns ``/api/chat`` NDJSON lines into canonical chunks; the ``done`` line carries
    the finish reason and the token counts."""

    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.id = new_completion_id()
        self.model = model
        self.created = now()
        self.started = False
        self.calls = 0
        self.done = False

    def _chunk(self, delta: Delta, finish: FinishReason | None = None) -> ChatChunk:
        return chunk(self.id, self.model, self.created, delta=delta, finish_reason=finish)

    def feed(self, raw: Any) -> list[ChatChunk]:
        line = _check(raw, self.provider)
        message = line.get("message") or {}
        out = [] if self.started else [self._chunk({"role": "assistant", "content": ""})]
        self.started = True
        if message.get("content"):
            out.append(self._chunk({"content": str(message["content"])}))
        calls = _calls(message)
        if calls:
            deltas: list[ToolCallDelta] = [
                {
                    "index": self.calls + k,
                    "id": c["id"],
                    "type": "function",
                    "function": {**c["function"]},
                }
                for k, c in enumerate(calls)
            ]
            self.calls += len(calls)
            out.append(self._chunk({"tool_calls": deltas}))
        if line.get("done"):
            self.done = True
            out.append(self._chunk({}, _finish(line.get("done_reason"), self.calls > 0)))
            last = self._chunk({})
            last["choices"] = []
            last["usage"] = usage(
                int(line.get("prompt_eval_count") or 0), int(line.get("eval_count") or 0)
            )
            out.append(last)
        return out


class OllamaProvider(Provider):
    adapter = "ollama"
    default_base_url = DEFAULT_BASE_URL
    requires_key = False

    def __init__(self, config: ProviderSettings) -> None:
        super().__init__(config)
        self.http = HttpUpstream(
            self.name,
            config.base_url or DEFAULT_BASE_URL,
            timeouts=Timeouts(config.connect_timeout, config.read_timeout, config.timeout),
            max_connections=config.max_connections,
            headers=config.headers,
            message_of=error_message,
        )

    # --- declarations -------------------------------------------------------------------
    def capabilities(self, model: str) -> Capabilities:
        name = model.lower()
        if any(hint in name for hint in _EMBEDDING_HINTS):
            return Capabilities(chat=False, stream=False, embeddings=True)
        vision = any(hint in name for hint in _VISION_HINTS)
        return Capabilities(tools=True, vision=vision, json_schema=True, json_object=True)

    def options(self, model: str, operation: Operation = "chat") -> type[BaseModel]:
        if operation == "chat":
            return OllamaChatOptions
        if operation == "embeddings":
            return OllamaEmbeddingOptions
        return super().options(model, operation)

    def card(self, model: str) -> ModelCard:
        card = super().card(model)
        if card.capabilities.embeddings:
            card.output_modalities = [Modality.EMBEDDING]
        elif card.capabilities.vision:
            card.input_modalities = [Modality.TEXT, Modality.IMAGE]
        return card

    def _headers(self, creds: Credentials) -> dict[str, str]:
        """No key locally; a shared Ollama behind a proxy may want a bearer token."""
        return {"Authorization": f"Bearer {creds.api_key}"} if creds.api_key else {}

    # --- operations ---------------------------------------------------------------------
    async def chat(self, request: ChatRequest, creds: Credentials) -> ChatCompletion:
        body = request_body(request, stream=False)
        data = await self.http.json("POST", "/api/chat", json=body, headers=self._headers(creds))
        return completion_of(data, request.model, self.name)

    async def stream_chat(
        self, request: ChatRequest, creds: Credentials
    ) -> AsyncIterator[ChatChunk]:
        body = request_body(request, stream=True)
        decoder = StreamDecoder(self.name, request.model)
        async with self.http.request(
            "POST", "/api/chat", json=body, headers=self._headers(creds)
        ) as resp:
            async for line in ndjson_lines(resp):
                for item in decoder.feed(line):
                    yield item
                if decoder.done:
                    return
        raise UpstreamProtocolError(f"{self.name}: the stream ended before done")

    async def embed(self, request: EmbeddingRequest, creds: Credentials) -> EmbeddingResult:
        if not all(isinstance(text, str) for text in request.inputs):
            raise InvalidRequest("Ollama embeds text, not token ids.", param="input")
        body: dict[str, Any] = {"model": request.model, "input": list(request.inputs)}
        if request.params.get("dimensions"):
            body["dimensions"] = request.params["dimensions"]
        data = _check(
            await self.http.json("POST", "/api/embed", json=body, headers=self._headers(creds)),
            self.name,
        )
        try:
            vectors = [list(map(float, v)) for v in data["embeddings"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise UpstreamProtocolError(f"{self.name}: malformed embeddings answer") from exc
        return EmbeddingResult(
            vectors=vectors,
            prompt_tokens=int(data.get("prompt_eval_count") or 0),
            model=str(data.get("model") or request.model),
        )

    async def list_models(self, creds: Credentials) -> list[ModelCard]:
        data = await self.http.json("GET", "/api/tags", headers=self._headers(creds))
        cards = []
        for item in (data or {}).get("models") or []:
            name = item.get("model") or item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str):
                cards.append(self.card(name))
        return cards

    async def aclose(self) -> None:
        await self.http.aclose()
