"""Anthropic's Messages API at PlugAI's edge: the request model, its conversion to the
canonical (OpenAI-shaped) messages and parameters, and the canonical answer converted
back to a ``message`` object or to Anthropic's stream events. This is what lets Anthropic
clients use any chat model PlugAI routes to."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from plugai.core.chat import ChatChunk, ChatCompletion, ToolCallDelta, Usage
from plugai.core.errors import InvalidRequest

STOP_REASON = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
ERROR_TYPE = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}

Event = tuple[str, dict[str, Any]]


def error_object(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """Anthropic's error shape for an HTTP status; PlugAI's ``param`` and ``code`` ride
    along inside ``error`` (Anthropic clients ignore fields they do not know)."""
    kind = ERROR_TYPE.get(status, "api_error" if status >= 500 else "invalid_request_error")
    error = {"type": kind, "message": message, "param": param, "code": code}
    return {"type": "error", "error": error}


# --- request ------------------------------------------------------------------------------
class _Block(BaseModel):
    model_config = ConfigDict(extra="allow")  # cache_control, citations: accepted, not used


class TextBlock(_Block):
    type: Literal["text"]
    text: str


class Base64Source(BaseModel):
    type: Literal["base64"]
    media_type: str = Field(pattern=r"^image/[\w.+-]+$")
    data: str


class URLSource(BaseModel):
    type: Literal["url"]
    url: str


class ImageBlock(_Block):
    type: Literal["image"]
    source: Annotated[Base64Source | URLSource, Field(discriminator="type")]

    def url(self) -> str:
        src = self.source
        return src.url if isinstance(src, URLSource) else f"data:{src.media_type};base64,{src.data}"


class ToolUseBlock(_Block):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(_Block):
    type: Literal["tool_result"]
    tool_use_id: str
    content: str | list[TextBlock] = ""
    is_error: bool = False

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(block.text for block in self.content)


class ThinkingBlock(_Block):
    """Only meaningful to the model that wrote it; dropped on the way in."""

    type: Literal["thinking", "redacted_thinking"]


InputBlock = Annotated[
    TextBlock | ImageBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock,
    Field(discriminator="type"),
]


class InputMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: list[InputBlock] = Field(description="Text, or a list of content blocks.")

    @field_validator("content", mode="before")
    @classmethod
    def _text_as_block(cls, value: Any) -> Any:
        return [{"type": "text", "text": value}] if isinstance(value, str) else value


class Tool(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    description: str | None = None
    input_schema: dict[str, Any]


class ToolChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None

    @model_validator(mode="after")
    def _named(self) -> ToolChoice:
        if self.type == "tool" and not self.name:
            raise ValueError("'name' is required when type is 'tool'")
        return self

    def canonical(self) -> str | dict[str, Any]:
        if self.type == "tool":
            return {"type": "function", "function": {"name": self.name}}
        return {"auto": "auto", "any": "required", "none": "none"}[self.type]


class Metadata(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str | None = None


class MessagesRequest(BaseModel):
    """Anthropic's create-message request. Other fields go to the model when it takes them."""

    model_config = ConfigDict(extra="allow", title="MessagesRequest")

    model: str = Field(description="provider/model, a configured model id, or an alias.")
    max_tokens: int = Field(ge=1)
    messages: list[InputMessage] = Field(min_length=1)
    system: list[TextBlock] | None = Field(None, description="Text, or a list of text blocks.")
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    stop_sequences: list[str] | None = None
    temperature: float | None = Field(None, ge=0, le=1)
    top_p: float | None = Field(None, ge=0, le=1)
    top_k: int | None = Field(None, ge=0)
    metadata: Metadata | None = None
    stream: bool = False
    session_id: str | None = Field(
        None, description="PlugAI: continue this stored session (history + these messages)."
    )

    @field_validator("system", mode="before")
    @classmethod
    def _system_as_blocks(cls, value: Any) -> Any:
        return [{"type": "text", "text": value}] if isinstance(value, str) else value

    def params(self) -> dict[str, Any]:
        """The canonical (OpenAI-named) parameters."""
        params: dict[str, Any] = {"max_tokens": self.max_tokens}
        for key in ("temperature", "top_p", "top_k"):
            if getattr(self, key) is not None:
                params[key] = getattr(self, key)
        if self.stop_sequences:
            params["stop"] = self.stop_sequences
        if self.tools:
            params["tools"] = [_function(tool) for tool in self.tools]
            if self.tool_choice is not None:
                params["tool_choice"] = self.tool_choice.canonical()
                if self.tool_choice.disable_parallel_tool_use:
                    params["parallel_tool_calls"] = False
        if self.metadata is not None and self.metadata.user_id:
            params["user"] = self.metadata.user_id
        return {**params, **(self.model_extra or {})}

    def canonical_messages(self) -> list[dict[str, Any]]:
        """OpenAI-shaped messages: system first, tool results as ``tool`` messages."""
        out: list[dict[str, Any]] = [
            {"role": "system", "content": block.text} for block in self.system or []
        ]
        for i, msg in enumerate(self.messages):
            convert = _assistant if msg.role == "assistant" else _user
            out += convert(msg.content, f"messages[{i}].content")
        return out


def _function(tool: Tool) -> dict[str, Any]:
    fn: dict[str, Any] = {"name": tool.name, "parameters": tool.input_schema}
    if tool.description:
        fn["description"] = tool.description
    return {"type": "function", "function": fn}


def _misplaced(block: BaseModel, where: str, role: str) -> InvalidRequest:
    kind = getattr(block, "type", "?")
    return InvalidRequest(
        f"Invalid value for '{where}': {kind} blocks are not allowed in {role} turns.",
        param=where,
    )


def _user(blocks: list[Any], where: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []

    def flush() -> None:
        if parts:
            plain = len(parts) == 1 and parts[0]["type"] == "text"
            out.append({"role": "user", "content": parts[0]["text"] if plain else list(parts)})
            parts.clear()

    for j, block in enumerate(blocks):
        if isinstance(block, TextBlock):
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            parts.append({"type": "image_url", "image_url": {"url": block.url()}})
        elif isinstance(block, ToolResultBlock):
            flush()
            out.append({"role": "tool", "tool_call_id": block.tool_use_id, "content": block.text()})
        elif not isinstance(block, ThinkingBlock):
            raise _misplaced(block, f"{where}[{j}]", "user")
    flush()
    return out


def _assistant(blocks: list[Any], where: str) -> list[dict[str, Any]]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for j, block in enumerate(blocks):
        if isinstance(block, TextBlock):
            texts.append(block.text)
        elif isinstance(block, ToolUseBlock):
            arguments = orjson.dumps(block.input).decode()
            fn = {"name": block.name, "arguments": arguments}
            calls.append({"id": block.id, "type": "function", "function": fn})
        elif not isinstance(block, ThinkingBlock):
            raise _misplaced(block, f"{where}[{j}]", "assistant")
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    return [message] if texts or calls else []


# --- response -----------------------------------------------------------------------------
def _message_id(canonical_id: str) -> str:
    if canonical_id.startswith("msg_"):
        return canonical_id
    return f"msg_{canonical_id or uuid.uuid4().hex}"


def _input(arguments: str) -> dict[str, Any]:
    """Tool input must be an object; arguments that are not one become an empty input."""
    try:
        value = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _usage(usage: Usage | None) -> dict[str, int]:
    usage = usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    return {
        "input_tokens": int(usage.get("prompt_tokens") or 0),
        "output_tokens": int(usage.get("completion_tokens") or 0),
    }


def message_of(result: ChatCompletion) -> dict[str, Any]:
    """Anthropic's ``message`` object for a canonical completion (its first choice)."""
    content: list[dict[str, Any]] = []
    finish = None
    if result["choices"]:
        choice = result["choices"][0]
        finish = choice.get("finish_reason")
        msg = choice["message"]
        text = msg.get("content") or msg.get("refusal")
        if text:
            content.append({"type": "text", "text": text})
        for call in msg.get("tool_calls") or []:
            fn = call["function"]
            block = {"type": "tool_use", "id": call["id"], "name": fn["name"]}
            content.append({**block, "input": _input(fn["arguments"])})
    return {
        "id": _message_id(result["id"]),
        "type": "message",
        "role": "assistant",
        "model": result["model"],
        "content": content,
        "stop_reason": STOP_REASON.get(str(finish), "end_turn"),
        "stop_sequence": None,
        "usage": _usage(result.get("usage")),
    }


class StreamEncoder:
    """Canonical chunks → Anthropic stream events (name, data) for one message: one
    content block per run of text or per tool call, closed when the next one starts."""

    def __init__(self) -> None:
        self.started = False
        self.index = -1  # the current content block
        self.open: str | None = None  # "text" or "tool:<canonical index>"
        self.finish: str | None = None
        self.usage: Usage | None = None

    def feed(self, chunk: ChatChunk) -> list[Event]:
        events: list[Event] = []
        if not self.started:
            self.started = True
            message: dict[str, Any] = {
                "id": _message_id(chunk["id"]),
                "type": "message",
                "role": "assistant",
                "model": chunk["model"],
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            }
            events.append(("message_start", {"type": "message_start", "message": message}))
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk["choices"]:
            if choice["index"] != 0:
                continue
            delta = choice.get("delta") or {}
            if delta.get("content"):
                events += self._text(delta["content"] or "")
            for call in delta.get("tool_calls") or []:
                events += self._tool(call)
            self.finish = choice.get("finish_reason") or self.finish
        return events

    def close(self) -> list[Event]:
        """The closing events, once the canonical stream has ended."""
        delta = {
            "stop_reason": STOP_REASON.get(str(self.finish), "end_turn"),
            "stop_sequence": None,
        }
        return [
            *self._close_block(),
            (
                "message_delta",
                {"type": "message_delta", "delta": delta, "usage": _usage(self.usage)},
            ),
            ("message_stop", {"type": "message_stop"}),
        ]

    def _close_block(self) -> list[Event]:
        if self.open is None:
            return []
        self.open = None
        return [("content_block_stop", {"type": "content_block_stop", "index": self.index})]

    def _start_block(self, key: str, block: dict[str, Any]) -> list[Event]:
        events = self._close_block()
        self.index += 1
        self.open = key
        start = {"type": "content_block_start", "index": self.index, "content_block": block}
        return [*events, ("content_block_start", start)]

    def _delta(self, delta: dict[str, Any]) -> Event:
        return (
            "content_block_delta",
            {"type": "content_block_delta", "index": self.index, "delta": delta},
        )

    def _text(self, text: str) -> list[Event]:
        events = (
            [] if self.open == "text" else self._start_block("text", {"type": "text", "text": ""})
        )
        return [*events, self._delta({"type": "text_delta", "text": text})]

    def _tool(self, call: ToolCallDelta) -> list[Event]:
        key = f"tool:{call['index']}"
        fn = call.get("function") or {}
        events: list[Event] = []
        if self.open != key:
            block = {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_{uuid.uuid4().hex[:24]}",
                "name": fn.get("name") or "",
                "input": {},
            }
            events = self._start_block(key, block)
        if fn.get("arguments"):
            events.append(
                self._delta({"type": "input_json_delta", "partial_json": fn["arguments"]})
            )
        return events


# --- response documentation -------------------------------------------------------------
class ResponseUsage(BaseModel):
    input_tokens: int
    output_tokens: int


class MessageResponse(BaseModel):
    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    model: str
    content: list[dict[str, Any]] = Field(description="text and tool_use blocks.")
    stop_reason: str | None
    stop_sequence: str | None = None
    usage: ResponseUsage
