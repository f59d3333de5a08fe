"""Anthropic's Messages API behind the canonical (OpenAI-shaped) chat types.

Requests are converted once on the way out (system prompt hoisted, turns merged, tool
calls and results as content blocks) and answers once on the way back, event by event
for streams, so the rest of PlugAI never sees Anthropic's shapes.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from plugai.core.chat import (
    AssistantMessage,
    ChatChunk,
    ChatCompletion,
    ChatRequest,
    Delta,
    FinishReason,
    FunctionCall,
    ToolCall,
    ToolCallDelta,
    chunk,
    now,
    usage,
)
from plugai.core.credentials import Credentials
from plugai.core.errors import InvalidRequest, UpstreamAuthError, UpstreamProtocolError
from plugai.core.models import Capabilities, Modality, ModelCard
from plugai.core.parameters import Stop
from plugai.providers.base import Operation, Provider
from plugai.providers.http import HttpUpstream, Timeouts, sse_events, upstream_error
from plugai.settings import ProviderSettings

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096  # Anthropic requires max_tokens; OpenAI callers often omit it

FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
# status of an in-stream ``error`` event, so it maps like the same error over HTTP
_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


class AnthropicChatOptions(BaseModel):
    """The chat parameters Anthropic takes, OpenAI-named, with Anthropic's bounds."""

    model_config = ConfigDict(extra="forbid", title="AnthropicChatParameters")

    temperature: float | None = Field(
        1.0, ge=0, le=1, description="Sampling temperature; higher is more random."
    )
    top_p: float | None = Field(None, ge=0, le=1, description="Nucleus sampling mass.")
    top_k: int | None = Field(None, ge=0, description="Sample only from the k likeliest tokens.")
    n: int | None = Field(1, ge=1, le=1, description="Anthropic generates one choice.")
    stop: Stop | None = Field(None, description="Sequences where generation stops.")
    max_tokens: int | None = Field(
        None, ge=1, description=f"Most tokens to generate (default {DEFAULT_MAX_TOKENS})."
    )
    max_completion_tokens: int | None = Field(None, ge=1, description="Same as max_tokens.")
    tools: list[dict[str, Any]] | None = Field(None, description="Functions the model may call.")
    tool_choice: str | dict[str, Any] | None = Field(
        None, description="none, auto, required, or a specific function."
    )
    parallel_tool_calls: bool | None = Field(True, description="Allow several calls at once.")
    user: str | None = Field(None, description="An id for the end user (metadata.user_id).")


def error_message(body: Any) -> str | None:
    """Anthropic: ``{"type": "error", "error": {"type": …, "message": …}}``."""
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err.get("type") or err)
    return None


# --- canonical request → Messages API ----------------------------------------------------
def _text(content: Any, where: str) -> str:
    """The text of a message whose content may only be text (system, tool results)."""
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for j, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") not in ("text", "refusal"):
            raise InvalidRequest(f"Only text is supported in {where}.", param=f"{where}[{j}]")
        parts.append(str(part.get("text") or part.get("refusal") or ""))
    return "".join(parts)


def _image(url: str, where: str) -> dict[str, Any]:
    if url.startswith("data:"):
        head, sep, data = url.partition(",")
        media_type, _, encoding = head[5:].partition(";")
        if not sep or encoding != "base64" or not media_type.startswith("image/"):
            raise InvalidRequest(
                "Images must be base64 data: URLs (data:image/png;base64,…) or http(s) URLs.",
                param=where,
            )
        return {"type": "base64", "media_type": media_type, "data": data}
    if url.startswith(("http://", "https://")):
        return {"type": "url", "url": url}
    raise InvalidRequest("Images must be data: or http(s) URLs.", param=where)


def _user_blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if content is None or isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            if part.get("text"):
                blocks.append({"type": "text", "text": str(part["text"])})
        elif kind == "image_url":
            url = (part.get("image_url") or {}).get("url") or ""
            blocks.append({"type": "image", "source": _image(str(url), f"{where}[{j}]")})
        else:
            raise InvalidRequest(
                f"Content parts of type {kind!r} are not supported by Anthropic models.",
                param=f"{where}[{j}].type",
            )
    return blocks


def _assistant_blocks(message: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    text = _text(message.get("content"), f"{where}.content")
    blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    for j, call in enumerate(message.get("tool_calls") or []):
        fn = call.get("function") or {}
        try:
            args = orjson.loads(fn.get("arguments") or "{}")
        except orjson.JSONDecodeError:
            args = None
        if not isinstance(args, dict):
            raise InvalidRequest(
                "Tool call arguments must be a JSON object.",
                param=f"{where}.tool_calls[{j}].function.arguments",
            )
        blocks.append(
            {"type": "tool_use", "id": call.get("id"), "name": fn.get("name"), "input": args}
        )
    return blocks


def convert_messages(
    messages: list[dict[str, Any]],
) -> tuple[str | list[dict[str, Any]] | None, list[dict[str, Any]]]:
    """System prompt and Anthropic turns: consecutive same-role turns are merged, tool
    results travel as ``tool_result`` blocks in a user turn."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for i, msg in enumerate(messages):
        role, where = msg.get("role"), f"messages[{i}]"
        if role in ("system", "developer"):
            system.append(_text(msg.get("content"), f"{where}.content"))
            continue
        if role == "user":
            blocks = _user_blocks(msg.get("content"), f"{where}.content")
        elif role == "assistant":
            blocks = _assistant_blocks(msg, where)
        elif role == "tool":
            role = "user"
            blocks = [
                {
                    "type": "tool_result",
                    "tool_use_id": msg.get("tool_call_id"),
                    "content": _text(msg.get("content"), f"{where}.content"),
                }
            ]
        else:
            raise InvalidRequest(
                f"Messages with role {role!r} are not supported by Anthropic models.",
                param=f"{where}.role",
            )
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        elif blocks:
            turns.append({"role": role, "content": blocks})
    for turn in turns:  # a lone text block travels as a plain string
        if len(turn["content"]) == 1 and turn["content"][0]["type"] == "text":
            turn["content"] = turn["content"][0]["text"]
    if len(system) == 1:
        return system[0] or None, turns
    return [{"type": "text", "text": t} for t in system if t] or None, turns


def _tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, tool in enumerate(tools):
        fn = tool.get("function")
        if tool.get("type", "function") != "function" or not isinstance(fn, dict):
            raise InvalidRequest("Only function tools are supported.", param=f"tools[{i}]")
        converted: dict[str, Any] = {
            "name": fn.get("name"),
            "input_schema": fn.get("parameters") or {"type": "object", "properties": {}},
        }
        if fn.get("description"):
            converted["description"] = fn["description"]
        out.append(converted)
    return out


def _tool_choice(choice: Any, parallel: bool | None) -> dict[str, Any]:
    if choice in (None, "auto"):
        out: dict[str, Any] = {"type": "auto"}
    elif choice == "none":
        out = {"type": "none"}
    elif choice == "required":
        out = {"type": "any"}
    elif isinstance(choice, dict) and isinstance((choice.get("function") or {}).get("name"), str):
        out = {"type": "tool", "name": choice["function"]["name"]}
    else:
        raise InvalidRequest(
            "tool_choice must be none, auto, required or a function.", param="tool_choice"
        )
    if parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


def request_body(request: ChatRequest) -> dict[str, Any]:
    """The Messages API body for a canonical request."""
    params = request.params
    system, turns = convert_messages(request.messages)
    body: dict[str, Any] = {
        "model": request.model,
        "messages": turns,
        "max_tokens": params.get("max_completion_tokens")
        or params.get("max_tokens")
        or DEFAULT_MAX_TOKENS,
    }
    if system:
        body["system"] = system
    for key in ("temperature", "top_p", "top_k"):
        if params.get(key) is not None:
            body[key] = params[key]
    stop = params.get("stop")
    if stop:
        body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if params.get("tools"):
        body["tools"] = _tools(params["tools"])
        if params.get("tool_choice") is not None or params.get("parallel_tool_calls") is False:
            body["tool_choice"] = _tool_choice(
                params.get("tool_choice"), params.get("parallel_tool_calls")
            )
    if params.get("user"):
        body["metadata"] = {"user_id": params["user"]}
    return body


# --- Messages API → canonical -----------------------------------------------------------
def _usage_of(raw: Mapping[str, Any]) -> tuple[int, int]:
    """(prompt, completion) tokens; cached input counts as prompt, as OpenAI counts it."""
    prompt = sum(
        int(raw.get(k) or 0)
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    return prompt, int(raw.get("output_tokens") or 0)


def _finish(stop_reason: Any) -> FinishReason:
    return FINISH.get(str(stop_reason), "stop")


def completion_of(message: Any, provider: str) -> ChatCompletion:
    """A canonical completion from a ``message`` object."""
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        raise UpstreamProtocolError(f"{provider}: message answer without content")
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in message["content"]:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            texts.append(str(block.get("text") or ""))
        elif block.get("type") == "tool_use":
            arguments = orjson.dumps(block.get("input") or {}).decode()
            fn: FunctionCall = {"name": str(block.get("name")), "arguments": arguments}
            calls.append({"id": str(block.get("id")), "type": "function", "function": fn})
    out: AssistantMessage = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        out["tool_calls"] = calls
    prompt, completion = _usage_of(message.get("usage") or {})
    return {
        "id": str(message.get("id") or f"msg_{uuid.uuid4().hex}"),
        "object": "chat.completion",
        "created": now(),
        "model": str(message.get("model") or ""),
        "choices": [
            {"index": 0, "message": out, "finish_reason": _finish(message.get("stop_reason"))}
        ],
        "usage": usage(prompt, completion),
    }


class StreamDecoder:
    """Turns Messages API stream events into canonical chunks, one event at a time."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.id = ""
        self.model = ""
        self.created = now()
        self.prompt = 0
        self.completion = 0
        self.tools: dict[int, int] = {}  # content block index → tool-call index
        self.silent: set[int] = set()  # tool blocks with no argument piece yet
        self.done = False

    def _chunk(self, delta: Delta, finish: FinishReason | None = None) -> ChatChunk:
        return chunk(self.id, self.model, self.created, delta=delta, finish_reason=finish)

    def _arguments(self, tool: int, piece: str) -> ChatChunk:
        return self._chunk({"tool_calls": [{"index": tool, "function": {"arguments": piece}}]})

    def feed(self, event: Mapping[str, Any]) -> list[ChatChunk]:
        """The chunks one event yields (none for ping, thinking and unknown events)."""
        handler = getattr(self, f"_on_{event.get('type')}", None)
        return handler(event) if handler is not None else []

    def _on_message_start(self, event: Mapping[str, Any]) -> list[ChatChunk]:
        message = event.get("message") or {}
        self.id, self.model = str(message.get("id") or ""), str(message.get("model") or "")
        self.prompt, self.completion = _usage_of(message.get("usage") or {})
        return [self._chunk({"role": "assistant", "content": ""})]

    def _on_content_block_start(self, event: Mapping[str, Any]) -> list[ChatChunk]:
        block = event.get("content_block") or {}
        if block.get("type") == "text" and block.get("text"):
            return [self._chunk({"content": str(block["text"])})]
        if block.get("type") != "tool_use":
            return []
        position = int(event.get("index", 0))
        index = self.tools[position] = len(self.tools)
        self.silent.add(position)
        call: ToolCallDelta = {
            "index": index,
            "id": str(block.get("id")),
            "type": "function",
            "function": {"name": str(block.get("name")), "arguments": ""},
        }
        return [self._chunk({"tool_calls": [call]})]

    def _on_content_block_delta(self, event: Mapping[str, Any]) -> list[ChatChunk]:
        delta = event.get("delta") or {}
        if delta.get("type") == "text_delta" and delta.get("text"):
            return [self._chunk({"content": str(delta["text"])})]
        position = int(event.get("index", -1))
        piece = str(delta.get("partial_json") or "")
        if delta.get("type") == "input_json_delta" and position in self.tools and piece:
            self.silent.discard(position)
            return [self._arguments(self.tools[position], piece)]
        return []

    def _on_content_block_stop(self, event: Mapping[str, Any]) -> list[ChatChunk]:
        position = int(event.get("index", -1))
        if position in self.silent:  # a call without arguments still sends valid JSON
            self.silent.discard(position)
            return [self._arguments(self.tools[position], "{}")]
        return []

    def _on_message_delta(self, event: Mapping[str, Any]) -> list[ChatChunk]:
        raw = event.get("usage") or {}
        if raw.get("input_tokens") is not None:
            self.prompt = _usage_of(raw)[0]
        self.completion = int(raw.get("output_tokens") or self.completion)
        return [self._chunk({}, _finish((event.get("delta") or {}).get("stop_reason")))]

    def _on_message_stop(self, event: Mapping[str, Any]) -> list[ChatChunk]:
        self.done = True
        last = self._chunk({})
        last["choices"] = []
        last["usage"] = usage(self.prompt, self.completion)
        return [last]

    def _on_error(self, event: Mapping[str, Any]) -> list[ChatChunk]:
        status = _ERROR_STATUS.get(str((event.get("error") or {}).get("type")), 500)
        raise upstream_error(self.provider, status, orjson.dumps(event), {}, error_message)


def _created(value: Any) -> int:
    try:
        return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


class AnthropicProvider(Provider):
    """Claude models through the Messages API (``x-api-key`` + ``anthropic-version``)."""

    adapter = "anthropic"
    default_base_url = "https://api.anthropic.com"

    def __init__(self, config: ProviderSettings) -> None:
        super().__init__(config)
        base_url = (config.base_url or self.default_base_url).rstrip("/")
        self.http = HttpUpstream(
            self.name,
            base_url.removesuffix("/v1"),  # the SDKs' base_url has no /v1; accept both
            timeouts=Timeouts(config.connect_timeout, config.read_timeout, config.timeout),
            max_connections=config.max_connections,
            headers={"anthropic-version": API_VERSION, **config.headers},
            message_of=error_message,
        )

    # --- declarations -------------------------------------------------------------------
    def capabilities(self, model: str) -> Capabilities:
        return Capabilities(chat=True, stream=True, tools=True, vision=True)

    def options(self, model: str, operation: Operation = "chat") -> type[BaseModel]:
        if operation != "chat":
            return super().options(model, operation)
        return AnthropicChatOptions

    def card(self, model: str) -> ModelCard:
        card = super().card(model)
        card.input_modalities = [Modality.TEXT, Modality.IMAGE]
        return card

    # --- operations ---------------------------------------------------------------------
    def _headers(self, creds: Credentials) -> dict[str, str]:
        if not creds.api_key:
            raise UpstreamAuthError(f"{self.name}: no API key configured for this provider")
        return {"x-api-key": creds.api_key}

    async def chat(self, request: ChatRequest, creds: Credentials) -> ChatCompletion:
        body = request_body(request)
        data = await self.http.json("POST", "/v1/messages", json=body, headers=self._headers(creds))
        return completion_of(data, self.name)

    async def stream_chat(
        self, request: ChatRequest, creds: Credentials
    ) -> AsyncIterator[ChatChunk]:
        body = {**request_body(request), "stream": True}
        decoder = StreamDecoder(self.name)
        async with self.http.request(
            "POST", "/v1/messages", json=body, headers=self._headers(creds)
        ) as resp:
            async for _event, data in sse_events(resp):
                try:
                    event = orjson.loads(data)
                except orjson.JSONDecodeError as exc:
                    raise UpstreamProtocolError(f"{self.name}: stream event is not JSON") from exc
                if not isinstance(event, dict):
                    raise UpstreamProtocolError(f"{self.name}: stream event is not an object")
                for item in decoder.feed(event):
                    yield item
                if decoder.done:
                    return
        raise UpstreamProtocolError(f"{self.name}: the stream ended before message_stop")

    async def list_models(self, creds: Credentials) -> list[ModelCard]:
        cards: list[ModelCard] = []
        query = {"limit": "1000"}
        for _page in range(20):  # bounded: a misbehaving upstream cannot page forever
            data = await self.http.json(
                "GET", "/v1/models", headers=self._headers(creds), params=query
            )
            if not isinstance(data, dict):
                raise UpstreamProtocolError(f"{self.name}: model list is not an object")
            for item in data.get("data") or []:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    card = self.card(item["id"])
                    card.created = _created(item.get("created_at"))
                    cards.append(card)
            if not data.get("has_more") or not data.get("last_id"):
                break
            query = {"limit": "1000", "after_id": str(data["last_id"])}
        return cards

    async def aclose(self) -> None:
        await self.http.aclose()
