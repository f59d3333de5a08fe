"""Reading canonical (OpenAI-shaped) messages for upstreams that take another shape.

Gemini and Ollama both need the text of a message, the bytes of a ``data:`` URL, tool-call
arguments as an object and the function name behind a ``tool_call_id``; one reading keeps
their 400s naming the same parameters.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from plugai.core.errors import InvalidRequest


def text_of(content: Any, where: str) -> str:
    """The text of a content that may only hold text (system prompts, tool results)."""
    if content is None or isinstance(content, str):
        return content or ""
    pieces = []
    for j, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") not in ("text", "refusal"):
            raise InvalidRequest(f"Only text is supported in {where}.", param=f"{where}[{j}]")
        pieces.append(str(part.get("text") or part.get("refusal") or ""))
    return "".join(pieces)


def data_url(url: str, where: str) -> tuple[str, str]:
    """(media type, base64 data) of a ``data:<type>;base64,<data>`` URL."""
    head, sep, data = url.partition(",")
    media_type, _, encoding = head.removeprefix("data:").partition(";")
    if not url.startswith("data:") or not sep or encoding != "base64" or not media_type:
        raise InvalidRequest(
            "Inline media must be a base64 data: URL (data:image/png;base64,…).", param=where
        )
    return media_type, data


def arguments_of(raw: Any, where: str) -> dict[str, Any]:
    """Tool-call arguments (a JSON string canonically) as the object upstreams take."""
    if isinstance(raw, dict):
        return raw
    try:
        value = orjson.loads(raw or "{}")
    except (orjson.JSONDecodeError, TypeError):
        value = None
    if not isinstance(value, dict):
        raise InvalidRequest("Tool call arguments must be a JSON object.", param=where)
    return value


def call_names(messages: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """tool_call_id → function name, for upstreams that answer a call by its name."""
    names: dict[str, str] = {}
    for message in messages:
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict) and call.get("id"):
                names[str(call["id"])] = str((call.get("function") or {}).get("name") or "")
    return names


def new_call_id() -> str:
    """An OpenAI-style id for a tool call whose upstream gave none."""
    return f"call_{uuid.uuid4().hex[:24]}"


def new_completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"
