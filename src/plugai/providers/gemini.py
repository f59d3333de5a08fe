"""Google's Gemini API (``generateContent``) behind the canonical chat types.

Gemini speaks in ``contents`` of ``parts`` with user/model roles, a separate
``systemInstruction``, a ``generationConfig`` and ``functionDeclarations``. Requests are
converted once on the way out and answers once on the way back (event by event for SSE
streams), so nothing else in PlugAI sees Gemini's shapes.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import orjson
from pydantic import BaseModel, Field, create_model

from plugai.core.chat import (
    AssistantMessage,
    ChatChunk,
    ChatCompletion,
    ChatRequest,
    Choice,
    Delta,
    FinishReason,
    ToolCall,
    ToolCallDelta,
    Usage,
    chunk,
    now,
    usage,
)
from plugai.core.credentials import Credentials
from plugai.core.embeddings import EmbeddingRequest, EmbeddingResult
from plugai.core.errors import (
    InvalidRequest,
    ProviderError,
    UpstreamAuthError,
    UpstreamProtocolError,
)
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
from plugai.providers.http import HttpUpstream, Timeouts, sse_events, upstream_error
from plugai.settings import ProviderSettings

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"

FINISH: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}
# Gemini 3 refuses a replayed function call without its thoughtSignature; the signature
# rides in the tool-call id (the one thing OpenAI clients send back verbatim).
SIGNATURE = "__thought__"
_RETRY_IN = re.compile(r"\(retry in (\d+(?:\.\d+)?)s\)")
_UNSUPPORTED = frozenset(
    {
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
_TOP_K: dict[str, Any] = {
    "top_k": (int | None, Field(None, ge=1, description="Sample only from the k likeliest tokens."))
}
GeminiChatOptions: type[BaseModel] = create_model(
    "GeminiChatParameters", __base__=subset("chat", _UNSUPPORTED), **_TOP_K
)
GeminiEmbeddingOptions = subset("embeddings", frozenset({"user"}))
_CONFIG = {
    "temperature": "temperature",
    "top_p": "topP",
    "top_k": "topK",
    "n": "candidateCount",
    "seed": "seed",
    "presence_penalty": "presencePenalty",
    "frequency_penalty": "frequencyPenalty",
}


def _seconds(duration: Any) -> float | None:
    """A google.protobuf.Duration in JSON ("30s", "1.5s")."""
    try:
        return float(str(duration).removesuffix("s"))
    except ValueError:
        return None


def error_message(body: Any) -> str | None:
    """Google: ``{"error": {"code", "message", "status", "details"}}``. A RetryInfo detail
    becomes "(retry in Ns)" in the message, read back by :func:`_retry_hints`."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None
    err = body["error"]
    message = str(err.get("message") or err.get("status") or err)
    for detail in err.get("details") or []:
        if isinstance(detail, dict) and str(detail.get("@type")).endswith("rpc.RetryInfo"):
            delay = _seconds(detail.get("retryDelay"))
            if delay is not None:
                message += f" (retry in {delay:g}s)"
    return message


@contextmanager
def _retry_hints() -> Iterator[None]:
    """Google says when to retry in the error body, not in a Retry-After header."""
    try:
        yield
    except ProviderError as exc:
        found = _RETRY_IN.search(exc.message)
        if exc.retry_after is None and found:
            exc.retry_after = float(found.group(1))
            exc.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        raise


def _model(name: str) -> str:
    return name.removeprefix("models/")


# --- canonical request → generateContent -------------------------------------------------
def _media(url: str, where: str) -> dict[str, Any]:
    if url.startswith("data:"):
        media_type, data = data_url(url, where)
        return {"inlineData": {"mimeType": media_type, "data": data}}
    if url.startswith(("http://", "https://", "gs://")):
        media_type = mimetypes.guess_type(url.split("?", 1)[0])[0] or "image/jpeg"
        return {"fileData": {"mimeType": media_type, "fileUri": url}}
    raise InvalidRequest("Media must be data: or http(s) URLs.", param=where)


def _user_parts(content: Any, where: str) -> list[dict[str, Any]]:
    if content is None or isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        kind, at = (part.get("type") if isinstance(part, dict) else None), f"{where}[{j}]"
        if kind == "text":
            if part.get("text"):
                parts.append({"text": str(part["text"])})
        elif kind == "image_url":
            parts.append(_media(str((part.get("image_url") or {}).get("url") or ""), at))
        elif kind == "input_audio":
            audio = part.get("input_audio") or {}
            media_type = f"audio/{audio.get('format') or 'wav'}"
            parts.append({"inlineData": {"mimeType": media_type, "data": audio.get("data")}})
        elif kind == "file":
            parts.append(_media(str((part.get("file") or {}).get("file_data") or ""), at))
        else:
            raise InvalidRequest(
                f"Content parts of type {kind!r} are not supported by Gemini models.",
                param=f"{at}.type",
            )
    return parts


def _model_parts(message: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    text = text_of(message.get("content"), f"{where}.content")
    parts: list[dict[str, Any]] = [{"text": text}] if text else []
    for j, call in enumerate(message.get("tool_calls") or []):
        fn = call.get("function") or {}
        args = arguments_of(fn.get("arguments"), f"{where}.tool_calls[{j}].function.arguments")
        part: dict[str, Any] = {"functionCall": {"name": str(fn.get("name") or ""), "args": args}}
        signature = str(call.get("id") or "").partition(SIGNATURE)[2]
        if signature:
            part["thoughtSignature"] = signature
        parts.append(part)
    return parts


def _function_response(
    message: Mapping[str, Any], names: Mapping[str, str], where: str
) -> dict[str, Any]:
    text = text_of(message.get("content"), f"{where}.content")
    name = names.get(str(message.get("tool_call_id"))) or message.get("name")
    if not name:
        raise InvalidRequest(
            "A tool message must answer a tool call of an earlier assistant message.",
            param=f"{where}.tool_call_id",
        )
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = text
    response = value if isinstance(value, dict) else {"result": value}
    return {"functionResponse": {"name": str(name), "response": response}}


def convert_messages(
    messages: list[dict[str, Any]],
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """``systemInstruction`` and ``contents``: consecutive same-role turns merged, tool
    results as ``functionResponse`` parts of a user turn (named after their call)."""
    names = call_names(messages)
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    for i, msg in enumerate(messages):
        role, where = msg.get("role"), f"messages[{i}]"
        if role in ("system", "developer"):
            text = text_of(msg.get("content"), f"{where}.content")
            system.extend([{"text": text}] if text else [])
            continue
        if role == "user":
            turn, parts = "user", _user_parts(msg.get("content"), f"{where}.content")
        elif role == "assistant":
            turn, parts = "model", _model_parts(msg, where)
        elif role in ("tool", "function"):
            turn, parts = "user", [_function_response(msg, names, where)]
        else:
            raise InvalidRequest(f"Unknown message role {role!r}.", param=f"{where}.role")
        if contents and contents[-1]["role"] == turn:
            contents[-1]["parts"].extend(parts)
        elif parts:
            contents.append({"role": turn, "parts": parts})
    if not contents:
        raise InvalidRequest("Gemini needs at least one user message.", param="messages")
    return ({"parts": system} if system else None), contents


def _generation_config(params: Mapping[str, Any]) -> dict[str, Any]:
    config = {
        theirs: params[ours] for ours, theirs in _CONFIG.items() if params.get(ours) is not None
    }
    limit = params.get("max_completion_tokens") or params.get("max_tokens")
    if limit:
        config["maxOutputTokens"] = limit
    stop = params.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    fmt = params.get("response_format") or {}
    if fmt.get("type") == "json_object":
        config["responseMimeType"] = "application/json"
    elif fmt.get("type") == "json_schema":
        config["responseMimeType"] = "application/json"
        schema = (fmt.get("json_schema") or {}).get("schema")
        if schema:
            config["responseJsonSchema"] = schema
    elif fmt.get("type") not in (None, "text"):
        raise InvalidRequest(
            "response_format must be text, json_object or json_schema.", param="response_format"
        )
    return config


def _tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    declarations = []
    for i, tool in enumerate(tools):
        fn = tool.get("function")
        if tool.get("type", "function") != "function" or not isinstance(fn, dict):
            raise InvalidRequest("Only function tools are supported.", param=f"tools[{i}]")
        declaration: dict[str, Any] = {"name": fn.get("name")}
        if fn.get("description"):
            declaration["description"] = fn["description"]
        if fn.get("parameters"):  # full JSON Schema, unlike `parameters` (an OpenAPI subset)
            declaration["parametersJsonSchema"] = fn["parameters"]
        declarations.append(declaration)
    return [{"functionDeclarations": declarations}]


def _tool_config(choice: Any) -> dict[str, Any]:
    modes = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
    if isinstance(choice, str) and choice in modes:
        return {"functionCallingConfig": {"mode": modes[choice]}}
    name = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
    if not isinstance(name, str):
        raise InvalidRequest(
            "tool_choice must be none, auto, required or a function.", param="tool_choice"
        )
    return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}


def request_body(request: ChatRequest) -> dict[str, Any]:
    """The ``generateContent`` body for a canonical request."""
    params = request.params
    system, contents = convert_messages(request.messages)
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = system
    config = _generation_config(params)
    if config:
        body["generationConfig"] = config
    if params.get("tools"):
        body["tools"] = _tools(params["tools"])
        if params.get("tool_choice") is not None:
            body["toolConfig"] = _tool_config(params["tool_choice"])
    return body


# --- GenerateContentResponse → canonical --------------------------------------------------
def _usage_of(raw: Mapping[str, Any]) -> Usage:
    """Thinking tokens count as completion tokens, as OpenAI counts reasoning tokens."""
    prompt = int(raw.get("promptTokenCount") or 0) + int(raw.get("toolUsePromptTokenCount") or 0)
    completion = int(raw.get("candidatesTokenCount") or 0) + int(raw.get("thoughtsTokenCount") or 0)
    return usage(prompt, completion)


def _read(candidate: Mapping[str, Any]) -> tuple[str, list[ToolCall]]:
    """Answer text (thought summaries left out) and function calls of a candidate."""
    texts: list[str] = []
    calls: list[ToolCall] = []
    for part in (candidate.get("content") or {}).get("parts") or []:
        if not isinstance(part, dict) or part.get("thought"):
            continue
        if "text" in part:
            texts.append(str(part["text"]))
        elif isinstance(part.get("functionCall"), dict):
            fc = part["functionCall"]
            call_id = str(fc.get("id") or new_call_id())
            if part.get("thoughtSignature"):
                call_id += SIGNATURE + str(part["thoughtSignature"])
            arguments = orjson.dumps(fc.get("args") or {}).decode()
            name = str(fc.get("name") or "")
            calls.append(
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            )
    return "".join(texts), calls


def _finish(reason: Any, called: bool) -> FinishReason | None:
    if not reason or reason == "FINISH_REASON_UNSPECIFIED":
        return None
    if called and reason == "STOP":
        return "tool_calls"
    return FINISH.get(str(reason), "stop")


def _check_blocked(data: Mapping[str, Any], provider: str) -> None:
    reason = (data.get("promptFeedback") or {}).get("blockReason")
    if reason and not data.get("candidates"):
        raise InvalidRequest(
            f"{provider}: the prompt was blocked by Gemini's safety filters "
            f"(blockReason: {reason}).",
            param="messages",
            code="content_filter",
        )


def completion_of(data: Any, model: str, provider: str) -> ChatCompletion:
    """A canonical completion from a ``GenerateContentResponse``."""
    if not isinstance(data, dict):
        raise UpstreamProtocolError(f"{provider}: answer is not an object")
    _check_blocked(data, provider)
    candidates = data.get("candidates")
    if not isinstance(candidates, list) or not candidates:
        raise UpstreamProtocolError(f"{provider}: answer without candidates")
    choices: list[Choice] = []
    for position, candidate in enumerate(candidates):
        text, calls = _read(candidate)
        message: AssistantMessage = {"role": "assistant", "content": text or None}
        if calls:
            message["tool_calls"] = calls
        finish = _finish(candidate.get("finishReason"), bool(calls)) or "stop"
        index = int(candidate.get("index", position))
        choices.append({"index": index, "message": message, "finish_reason": finish})
    return {
        "id": new_completion_id(),
        "object": "chat.completion",
        "created": now(),
        "model": str(data.get("modelVersion") or model),
        "choices": choices,
        "usage": _usage_of(data.get("usageMetadata") or {}),
    }


class StreamDecoder:
    """Turns streamed ``GenerateContentResponse`` events into canonical chunks."""

    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.id = new_completion_id()
        self.model = model
        self.created = now()
        self.started: set[int] = set()  # candidates whose role chunk went out
        self.calls: dict[int, int] = {}  # candidate → tool calls so far
        self.finished = False
        self.usage: Usage | None = None

    def _chunk(self, index: int, delta: Delta, finish: FinishReason | None = None) -> ChatChunk:
        return chunk(
            self.id, self.model, self.created, index=index, delta=delta, finish_reason=finish
        )

    def feed(self, event: Mapping[str, Any]) -> list[ChatChunk]:
        if isinstance(event.get("error"), dict):
            status = int(event["error"].get("code") or 500)
            raise upstream_error(self.provider, status, orjson.dumps(event), {}, error_message)
        _check_blocked(event, self.provider)
        if event.get("usageMetadata"):
            self.usage = _usage_of(event["usageMetadata"])
        if not self.started and event.get("modelVersion"):
            self.model = str(event["modelVersion"])
        out: list[ChatChunk] = []
        for position, candidate in enumerate(event.get("candidates") or []):
            index = int(candidate.get("index", position))
            if index not in self.started:
                self.started.add(index)
                out.append(self._chunk(index, {"role": "assistant", "content": ""}))
            text, calls = _read(candidate)
            if text:
                out.append(self._chunk(index, {"content": text}))
            if calls:
                first = self.calls.get(index, 0)
                deltas: list[ToolCallDelta] = [
                    {
                        "index": first + k,
                        "id": c["id"],
                        "type": "function",
                        "function": {**c["function"]},
                    }
                    for k, c in enumerate(calls)
                ]
                self.calls[index] = first + len(calls)
                out.append(self._chunk(index, {"tool_calls": deltas}))
            finish = _finish(candidate.get("finishReason"), index in self.calls)
            if finish:
                self.finished = True
                out.append(self._chunk(index, {}, finish))
        return out

    def close(self) -> list[ChatChunk]:
        """The usage-only last chunk; a stream cut before any finish reason is an error."""
        if not self.finished:
            raise UpstreamProtocolError(f"{self.provider}: the stream ended before it finished")
        if self.usage is None:
            return []
        last = chunk(self.id, self.model, self.created)
        last["choices"] = []
        last["usage"] = self.usage
        return [last]


class GeminiProvider(Provider):
    adapter = "gemini"
    default_base_url = DEFAULT_BASE_URL

    def __init__(self, config: ProviderSettings) -> None:
        super().__init__(config)
        base_url = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.prefix = "" if base_url.endswith(("/v1beta", "/v1")) else f"/{API_VERSION}"
        self.http = HttpUpstream(
            self.name,
            base_url,
            timeouts=Timeouts(config.connect_timeout, config.read_timeout, config.timeout),
            max_connections=config.max_connections,
            headers=config.headers,
            message_of=error_message,
        )

    # --- declarations -------------------------------------------------------------------
    def capabilities(self, model: str) -> Capabilities:
        if "embedding" in _model(model).lower():
            return Capabilities(chat=False, stream=False, embeddings=True)
        return Capabilities(tools=True, vision=True, json_schema=True, json_object=True)

    def options(self, model: str, operation: Operation = "chat") -> type[BaseModel]:
        if operation == "chat":
            return GeminiChatOptions
        if operation == "embeddings":
            return GeminiEmbeddingOptions
        return super().options(model, operation)

    def card(self, model: str) -> ModelCard:
        card = super().card(model)
        if card.capabilities.embeddings:
            card.output_modalities = [Modality.EMBEDDING]
        else:
            card.input_modalities = [Modality.TEXT, Modality.IMAGE, Modality.AUDIO]
        return card

    # --- plumbing -----------------------------------------------------------------------
    def _headers(self, creds: Credentials) -> dict[str, str]:
        if not creds.api_key:
            raise UpstreamAuthError(f"{self.name}: no API key configured for this provider")
        return {"x-goog-api-key": creds.api_key}

    def _path(self, model: str, method: str) -> str:
        return f"{self.prefix}/models/{_model(model)}:{method}"

    # --- operations ---------------------------------------------------------------------
    async def chat(self, request: ChatRequest, creds: Credentials) -> ChatCompletion:
        body = request_body(request)
        with _retry_hints():
            data = await self.http.json(
                "POST",
                self._path(request.model, "generateContent"),
                json=body,
                headers=self._headers(creds),
            )
        return completion_of(data, request.model, self.name)

    async def stream_chat(
        self, request: ChatRequest, creds: Credentials
    ) -> AsyncIterator[ChatChunk]:
        body = request_body(request)
        decoder = StreamDecoder(self.name, request.model)
        path = self._path(request.model, "streamGenerateContent")
        with _retry_hints():
            async with self.http.request(
                "POST", path, json=body, headers=self._headers(creds), params={"alt": "sse"}
            ) as resp:
                async for _event, data in sse_events(resp):
                    try:
                        event = orjson.loads(data)
                    except orjson.JSONDecodeError as exc:
                        raise UpstreamProtocolError(
                            f"{self.name}: stream event is not JSON"
                        ) from exc
                    if not isinstance(event, dict):
                        raise UpstreamProtocolError(f"{self.name}: stream event is not an object")
                    for item in decoder.feed(event):
                        yield item
        for item in decoder.close():
            yield item

    async def embed(self, request: EmbeddingRequest, creds: Credentials) -> EmbeddingResult:
        if not all(isinstance(text, str) for text in request.inputs):
            raise InvalidRequest("Gemini embeds text, not token ids.", param="input")
        model = _model(request.model)
        dimensions = request.params.get("dimensions")
        requests = []
        for text in request.inputs:
            item: dict[str, Any] = {
                "model": f"models/{model}",
                "content": {"parts": [{"text": text}]},
            }
            if dimensions:
                item["outputDimensionality"] = dimensions
            requests.append(item)
        with _retry_hints():
            data = await self.http.json(
                "POST",
                self._path(model, "batchEmbedContents"),
                json={"requests": requests},
                headers=self._headers(creds),
            )
        try:
            vectors = [list(map(float, e["values"])) for e in data["embeddings"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise UpstreamProtocolError(f"{self.name}: malformed embeddings answer") from exc
        if len(vectors) != len(requests):
            raise UpstreamProtocolError(
                f"{self.name}: {len(vectors)} embeddings for {len(requests)} inputs"
            )
        return EmbeddingResult(vectors=vectors, model=model)

    async def list_models(self, creds: Credentials) -> list[ModelCard]:
        cards: list[ModelCard] = []
        query = {"pageSize": "1000"}
        for _page in range(20):  # bounded: a misbehaving upstream cannot loop us forever
            with _retry_hints():
                data = await self.http.json(
                    "GET", f"{self.prefix}/models", headers=self._headers(creds), params=query
                )
            for item in (data or {}).get("models") or []:
                card = self._listed(item)
                if card is not None:
                    cards.append(card)
            token = (data or {}).get("nextPageToken")
            if not token:
                break
            query = {"pageSize": "1000", "pageToken": str(token)}
        return cards

    def _listed(self, item: Any) -> ModelCard | None:
        """A card for a listed model that can chat or embed (others are skipped)."""
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            return None
        methods = set(item.get("supportedGenerationMethods") or [])
        chat = "generateContent" in methods
        embeds = bool(methods & {"embedContent", "batchEmbedContents"})
        if not (chat or embeds):
            return None
        card = self.card(_model(item["name"]))
        card.capabilities = replace(card.capabilities, chat=chat, stream=chat, embeddings=embeds)
        if not chat:
            card.output_modalities = [Modality.EMBEDDING]
        limit = item.get("inputTokenLimit")
        card.context_length = limit if isinstance(limit, int) else None
        return card

    async def aclose(self) -> None:
        await self.http.aclose()
