"""The fakes against real clients: the official openai/anthropic SDKs and raw httpx.

If the SDKs parse what the fakes send, the wire format is what real clients expect.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.fakes import (
    Error,
    FakeAnthropic,
    FakeGemini,
    FakeHuggingFace,
    FakeOllama,
    FakeOpenAI,
    FakeStability,
    Reply,
    ToolCall,
    Usage,
    embedding_for,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
USER: Any = [{"role": "user", "content": "hello brave new world"}]
CLAUDE = "claude-sonnet-4-5-20250929"
WEATHER = ToolCall("get_weather", {"city": "Paris", "unit": "celsius"})


def oa(fake: FakeOpenAI, **kw: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.url, api_key="sk-test", max_retries=0, **kw)


def claude(fake: FakeAnthropic, **kw: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fake.url, api_key="sk-ant-test", max_retries=0, **kw)


def sse_events(text: str) -> list[tuple[str | None, str]]:
    """Minimal SSE parser: (event, data) per blank-line separated event."""
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        event, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        out.append((event, "\n".join(data)))
    return out


# ============================================================================ OpenAI


def test_openai_chat_non_stream(fake_openai: FakeOpenAI) -> None:
    r = oa(fake_openai).chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert r.object == "chat.completion"
    assert r.choices[0].message.content == "echo: hello brave new world"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (4, 5, 9)
    req = fake_openai.last_request
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer sk-test"
    assert req.body["messages"] == USER


def test_openai_chat_stream_wire_and_usage(fake_openai: FakeOpenAI) -> None:
    stream = oa(fake_openai).chat.completions.create(
        model="gpt-4o-mini", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content for c in chunks[1:-2]]
    assert pieces == ["echo:", " hello", " brave", " new", " world"]
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
    raw = b"".join(c.data for c in fake_openai.sent)
    assert raw.endswith(b"data: [DONE]\n\n")
    assert all(b'"usage":null' in c.data for c in fake_openai.sent[:-2])
    assert fake_openai.chunks_sent() == 5


def test_openai_tool_calls(fake_openai: FakeOpenAI) -> None:
    client = oa(fake_openai)
    fake_openai.enqueue(Reply(text="", tool_calls=[WEATHER]), Reply(tool_calls=[WEATHER]))
    r = client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    msg = r.choices[0].message
    assert r.choices[0].finish_reason == "tool_calls"
    assert msg.content is None
    assert msg.tool_calls is not None and msg.tool_calls[0].type == "function"
    assert msg.tool_calls[0].id.startswith("call_")
    assert json.loads(msg.tool_calls[0].function.arguments) == {"city": "Paris", "unit": "celsius"}
    # The SDK's stream helper accumulates tool-call deltas (index/id/name/argument pieces).
    with client.chat.completions.stream(model="gpt-4o-mini", messages=USER) as s:
        final = s.get_final_completion()
    call = final.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert final.choices[0].message.content == "echo: hello brave new world"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "celsius"}
    assert final.choices[0].finish_reason == "tool_calls"
    deltas = [json.loads(c.data[6:]) for c in fake_openai.sent if b'"tool_calls"' in c.data]
    assert len(deltas) > 2 and deltas[0]["choices"][0]["delta"]["tool_calls"][0]["id"]


def test_openai_n_logprobs_and_max_tokens(fake_openai: FakeOpenAI) -> None:
    client = oa(fake_openai)
    r = client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, n=2, logprobs=True, top_logprobs=2
    )
    assert [c.index for c in r.choices] == [0, 1]
    content = r.choices[1].logprobs.content  # type: ignore[union-attr]
    assert [t.token for t in content] == ["echo:", " hello", " brave", " new", " world"]  # type: ignore[union-attr]
    assert len(content[0].top_logprobs) == 2  # type: ignore[index]
    assert r.usage is not None and r.usage.completion_tokens == 10
    r = client.chat.completions.create(model="gpt-4o-mini", messages=USER, max_tokens=2)
    assert (r.choices[0].message.content, r.choices[0].finish_reason) == ("echo: hello", "length")
    chunks = list(
        client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True, n=2)
    )
    assert {c.choices[0].index for c in chunks} == {0, 1}


def test_openai_legacy_completions(fake_openai: FakeOpenAI) -> None:
    client = oa(fake_openai)
    r = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="say this", logprobs=1)
    assert r.object == "text_completion"
    assert r.choices[0].text == "echo: say this"
    assert r.choices[0].logprobs is not None and r.choices[0].logprobs.tokens == [
        "echo:",
        " say",
        " this",
    ]
    stream = client.completions.create(
        model="gpt-3.5-turbo-instruct",
        prompt="say this",
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "echo: say this"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 5


def test_openai_embeddings_base64_and_float(fake_openai: FakeOpenAI) -> None:
    client = oa(fake_openai)
    r = client.embeddings.create(model="text-embedding-3-small", input=["a b", "c"])
    # The SDK asks for base64 by default and decodes the little-endian float32 itself.
    assert fake_openai.last_request.body["encoding_format"] == "base64"
    assert r.data[0].embedding == embedding_for("a b", 8)
    assert r.data[1].embedding == embedding_for("c", 8)
    assert r.usage.prompt_tokens == 3
    r = client.embeddings.create(
        model="text-embedding-3-small", input="a b", encoding_format="float", dimensions=4
    )
    assert r.data[0].embedding == embedding_for("a b", 4)
    fake_openai.enqueue(Reply(embeddings=[[0.5, -0.25]]))
    assert client.embeddings.create(model="m", input="x").data[0].embedding == [0.5, -0.25]


def test_openai_images(fake_openai: FakeOpenAI) -> None:
    client = oa(fake_openai)
    r = client.images.generate(model="dall-e-3", prompt="a red fox", response_format="url")
    assert r.data is not None and r.data[0].url is not None
    assert r.data[0].revised_prompt == "a red fox"
    assert httpx.get(r.data[0].url).content.startswith(PNG_MAGIC)
    r = client.images.generate(prompt="a red fox", response_format="b64_json", n=2)
    assert r.data is not None and len(r.data) == 2
    assert base64.b64decode(r.data[1].b64_json or "").startswith(PNG_MAGIC)


def test_openai_models_and_unknown_route(fake_openai: FakeOpenAI) -> None:
    client = oa(fake_openai)
    assert "gpt-4o-mini" in [m.id for m in client.models.list()]
    assert client.models.retrieve("gpt-4o").owned_by == "system"
    with pytest.raises(openai.NotFoundError) as exc:
        client.models.retrieve("nope")
    assert exc.value.code == "model_not_found"
    r = httpx.post(f"{fake_openai.url}/nothing", headers={"Authorization": "Bearer k"})
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "Invalid URL (POST /v1/nothing)"


def test_openai_auth_and_validation() -> None:
    with FakeOpenAI(api_key="sk-right", strict_models=True) as fake:
        with pytest.raises(openai.AuthenticationError) as exc:
            oa(fake).models.list()
        assert exc.value.code == "invalid_api_key"
        assert exc.value.body["type"] == "invalid_request_error"  # type: ignore[index]
        good = openai.OpenAI(base_url=fake.url, api_key="sk-right", max_retries=0)
        with pytest.raises(openai.NotFoundError):
            good.chat.completions.create(model="gpt-unknown", messages=USER)
        r = httpx.post(
            f"{fake.url}/chat/completions",
            headers={"Authorization": "Bearer sk-right"},
            json={"model": "gpt-4o"},
        )
        assert r.status_code == 400
        assert r.json()["error"]["param"] == "messages"
        r = httpx.post(f"{fake.url}/chat/completions", json={"model": "gpt-4o"})
        assert r.status_code == 401
        assert set(r.json()["error"]) == {"message", "type", "param", "code"}


def test_openai_rate_limit_and_retry_after(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Error(429, retry_after=2))
    with pytest.raises(openai.RateLimitError) as exc:
        oa(fake_openai).chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert exc.value.response.headers["retry-after"] == "2"
    assert exc.value.code == "rate_limit_exceeded"
    # The SDK honours a short retry-after and succeeds on the second attempt.
    fake_openai.enqueue(Error(429, retry_after=0.05), Error(503, retry_after=0.01))
    client = openai.OpenAI(base_url=fake_openai.url, api_key="k", max_retries=2)
    r = client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert r.choices[0].message.content == "echo: hello brave new world"
    assert len(fake_openai.requests) == 4
    assert fake_openai.pending == 0


def test_openai_mid_stream_error_and_disconnect(fake_openai: FakeOpenAI) -> None:
    client = oa(fake_openai)
    fake_openai.enqueue(Reply(error_after=2, error=Error(500, "boom")))
    got: list[str | None] = []

    def consume() -> None:
        for chunk in client.chat.completions.create(model="m", messages=USER, stream=True):
            got.append(chunk.choices[0].delta.content)

    with pytest.raises(openai.APIError, match="boom"):
        consume()
    assert got == ["", "echo:", " hello"]
    fake_openai.enqueue(Reply(disconnect_after=1))
    got.clear()
    with pytest.raises(httpx.RemoteProtocolError):  # the SDK does not wrap body read errors
        consume()
    assert got == ["", "echo:"]
    assert fake_openai.disconnects == 0  # the fake closing is not a client disconnect


def test_openai_timeouts_and_endpoint_scoping(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Error(503, endpoint="/embeddings"), Reply(delay=1.0))
    client = oa(fake_openai, timeout=0.2)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="m", messages=USER)
    assert fake_openai.wait_for_disconnect()
    assert fake_openai.last_request.disconnected
    with pytest.raises(openai.InternalServerError):
        client.embeddings.create(model="m", input="x")


def test_stall_release_and_no_buffering(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Reply(stall_after=1))
    body = {"model": "m", "messages": USER, "stream": True}
    headers = {"Authorization": "Bearer k"}
    with httpx.stream(
        "POST", f"{fake_openai.url}/chat/completions", json=body, headers=headers
    ) as r:
        lines = r.iter_lines()
        first = next(line for line in lines if '"content":"echo:"' in line)
        assert first.startswith("data: ")
        assert fake_openai.wait_for_stall()
        assert fake_openai.chunks_sent() == 1  # the client saw chunk 1 while the fake held 2..5
        fake_openai.release()
        rest = [line for line in lines if line]
    assert rest[-1] == "data: [DONE]"
    fake_openai.enqueue(Reply(chunk_delay=0.2))
    with httpx.stream(
        "POST", f"{fake_openai.url}/chat/completions", json=body, headers=headers
    ) as r:
        for line in r.iter_lines():
            if '"content":"echo:"' in line:
                seen_at = time.monotonic()
                break
        else:
            pytest.fail("no content chunk")
    # the fake stamps a chunk after its write returns, so the client may be first: 0 or 1
    assert fake_openai.chunks_sent_before(seen_at, request_index=1) <= 1


async def test_async_client_cancel_disconnects_upstream(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Reply(stall_after=2))
    client = openai.AsyncOpenAI(base_url=fake_openai.url, api_key="k", max_retries=0)
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    seen = 0
    async for _chunk in stream:
        seen += 1
        if seen == 3:  # role chunk + 2 content chunks, then the fake stalls
            break
    assert await fake_openai.wait_for_stall_async()
    await stream.close()
    assert await fake_openai.wait_for_disconnect_async()
    assert fake_openai.requests[0].disconnected
    await client.close()


async def test_async_context_manager_and_stop_aborts_stall() -> None:
    async with FakeOpenAI() as fake:
        fake.enqueue(Reply(stall_after=0))
        async with httpx.AsyncClient() as client:
            task = asyncio.create_task(
                client.post(
                    f"{fake.url}/chat/completions",
                    json={"model": "m", "messages": USER, "stream": True},
                    headers={"Authorization": "Bearer k"},
                )
            )
            assert await fake.wait_for_stall_async()
            started = time.monotonic()
            await asyncio.to_thread(fake.stop)
            assert time.monotonic() - started < 2
            with pytest.raises(httpx.HTTPError):
                await task
    assert fake.disconnects == 0


def test_reset_and_default_reply(fake_openai: FakeOpenAI) -> None:
    fake_openai.default_reply = Reply(text="fixed", usage=Usage(7, 1))
    fake_openai.enqueue(Error(500))
    fake_openai.reset()
    assert fake_openai.requests == [] and fake_openai.pending == 0
    fake_openai.default_reply = Reply(text="fixed", usage=Usage(7, 1))
    r = oa(fake_openai).chat.completions.create(model="m", messages=USER)
    assert r.choices[0].message.content == "fixed"
    assert r.usage is not None and r.usage.prompt_tokens == 7


# ============================================================================ Anthropic


def test_anthropic_message(fake_anthropic: FakeAnthropic) -> None:
    m = claude(fake_anthropic).messages.create(model=CLAUDE, max_tokens=100, messages=USER)
    assert m.type == "message" and m.role == "assistant"
    assert m.content[0].type == "text" and m.content[0].text == "echo: hello brave new world"
    assert m.stop_reason == "end_turn"
    assert (m.usage.input_tokens, m.usage.output_tokens) == (4, 5)
    req = fake_anthropic.last_request
    assert req.headers["x-api-key"] == "sk-ant-test"
    assert req.headers["anthropic-version"]


def test_anthropic_stream_events(fake_anthropic: FakeAnthropic) -> None:
    client = claude(fake_anthropic)
    with client.messages.stream(model=CLAUDE, max_tokens=100, messages=USER) as s:
        texts = list(s.text_stream)
        final = s.get_final_message()
    assert texts == ["echo:", " hello", " brave", " new", " world"]
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 5
    raw = b"".join(c.data for c in fake_anthropic.sent).decode()
    names = [e for e, _ in sse_events(raw)]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    for event, data in sse_events(raw):
        assert json.loads(data)["type"] == event


def test_anthropic_tool_use(fake_anthropic: FakeAnthropic) -> None:
    client = claude(fake_anthropic)
    fake_anthropic.enqueue(
        Reply(text="Checking.", tool_calls=[WEATHER]), Reply(text="", tool_calls=[WEATHER])
    )
    with client.messages.stream(model=CLAUDE, max_tokens=100, messages=USER) as s:
        final = s.get_final_message()
    assert [b.type for b in final.content] == ["text", "tool_use"]
    tool = final.content[1]
    assert tool.type == "tool_use" and tool.input == {"city": "Paris", "unit": "celsius"}
    assert tool.id.startswith("toolu_")
    assert final.stop_reason == "tool_use"
    assert b"input_json_delta" in b"".join(c.data for c in fake_anthropic.sent)
    m = client.messages.create(model=CLAUDE, max_tokens=100, messages=USER)
    assert [b.type for b in m.content] == ["tool_use"]
    assert m.stop_reason == "tool_use"


def test_anthropic_stop_reasons(fake_anthropic: FakeAnthropic) -> None:
    client = claude(fake_anthropic)
    m = client.messages.create(model=CLAUDE, max_tokens=2, messages=USER)
    assert (m.content[0].text, m.stop_reason) == ("echo: hello", "max_tokens")  # type: ignore[union-attr]
    m = client.messages.create(model=CLAUDE, max_tokens=100, messages=USER, stop_sequences=[" new"])
    assert m.stop_reason == "stop_sequence" and m.stop_sequence == " new"
    assert m.content[0].text == "echo: hello brave"  # type: ignore[union-attr]
    fake_anthropic.enqueue(Reply(text="no", finish_reason="refusal"))
    assert (
        client.messages.create(model=CLAUDE, max_tokens=9, messages=USER).stop_reason == "refusal"
    )


def test_anthropic_errors(fake_anthropic: FakeAnthropic) -> None:
    client = claude(fake_anthropic)
    fake_anthropic.enqueue(Error(429, retry_after=3), Error(529))
    with pytest.raises(anthropic.RateLimitError) as rl:
        client.messages.create(model=CLAUDE, max_tokens=10, messages=USER)
    assert rl.value.response.headers["retry-after"] == "3"
    assert rl.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert rl.value.body["request_id"] == rl.value.response.headers["request-id"]  # type: ignore[index]
    with pytest.raises(anthropic.APIStatusError) as ov:
        client.messages.create(model=CLAUDE, max_tokens=10, messages=USER)
    assert ov.value.status_code == 529
    assert ov.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    fake_anthropic.enqueue(Reply(error_after=1))
    with (
        pytest.raises(anthropic.APIStatusError, match="overloaded_error"),
        client.messages.stream(model=CLAUDE, max_tokens=10, messages=USER) as s,
    ):
        list(s.text_stream)
    url = f"{fake_anthropic.url}/v1/messages"
    body = {"model": CLAUDE, "messages": USER}
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    r = httpx.post(url, json=body, headers=headers)
    assert r.status_code == 400
    assert r.json()["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: Field required",
    }
    r = httpx.post(url, json={**body, "max_tokens": 5}, headers={"x-api-key": "k"})
    assert r.status_code == 400 and r.json()["type"] == "error"
    r = httpx.post(url, json={**body, "max_tokens": 5}, headers={"anthropic-version": "x"})
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"


def test_anthropic_models(fake_anthropic: FakeAnthropic) -> None:
    page = claude(fake_anthropic).models.list()
    assert CLAUDE in [m.id for m in page.data]
    assert page.data[0].type == "model"


# ============================================================================ Gemini


GEMINI_BODY = {"contents": [{"role": "user", "parts": [{"text": "hello brave new world"}]}]}


def gemini_url(fake: FakeGemini, method: str, model: str = "gemini-2.0-flash") -> str:
    return f"{fake.url}/v1beta/models/{model}:{method}"


def test_gemini_generate(fake_gemini: FakeGemini) -> None:
    r = httpx.post(
        gemini_url(fake_gemini, "generateContent"),
        json=GEMINI_BODY,
        headers={"x-goog-api-key": "k"},
    )
    data = r.json()
    cand = data["candidates"][0]
    assert cand["content"] == {"parts": [{"text": "echo: hello brave new world"}], "role": "model"}
    assert cand["finishReason"] == "STOP"
    assert data["usageMetadata"]["promptTokenCount"] == 4
    assert data["usageMetadata"]["candidatesTokenCount"] == 5
    assert data["usageMetadata"]["totalTokenCount"] == 9
    body = {**GEMINI_BODY, "generationConfig": {"maxOutputTokens": 1}}
    r = httpx.post(gemini_url(fake_gemini, "generateContent"), json=body, params={"key": "k"})
    assert r.json()["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert fake_gemini.last_request.query["key"] == "k"


def test_gemini_stream_sse_and_json_array(fake_gemini: FakeGemini) -> None:
    r = httpx.post(
        gemini_url(fake_gemini, "streamGenerateContent"),
        params={"alt": "sse", "key": "k"},
        json=GEMINI_BODY,
    )
    assert r.headers["content-type"].startswith("text/event-stream")
    assert "\r\n\r\n" in r.text
    events = [json.loads(d) for _, d in sse_events(r.text)]
    text = "".join(e["candidates"][0]["content"]["parts"][0]["text"] for e in events)
    assert text == "echo: hello brave new world"
    assert "finishReason" not in events[0]["candidates"][0]
    assert events[-1]["candidates"][0]["finishReason"] == "STOP"
    assert events[-1]["usageMetadata"]["candidatesTokenCount"] == 5
    r = httpx.post(
        gemini_url(fake_gemini, "streamGenerateContent"), params={"key": "k"}, json=GEMINI_BODY
    )
    array = json.loads(r.text)
    assert isinstance(array, list) and len(array) == 5


def test_gemini_function_call_and_block(fake_gemini: FakeGemini) -> None:
    fake_gemini.enqueue(Reply(text="", tool_calls=[WEATHER]), Reply(block_reason="SAFETY"))
    r = httpx.post(
        gemini_url(fake_gemini, "generateContent"), params={"key": "k"}, json=GEMINI_BODY
    )
    part = r.json()["candidates"][0]["content"]["parts"][0]
    assert part == {
        "functionCall": {"name": "get_weather", "args": {"city": "Paris", "unit": "celsius"}}
    }
    r = httpx.post(
        gemini_url(fake_gemini, "generateContent"), params={"key": "k"}, json=GEMINI_BODY
    )
    data = r.json()
    assert r.status_code == 200 and "candidates" not in data
    assert data["promptFeedback"]["blockReason"] == "SAFETY"


def test_gemini_embeddings_and_models(fake_gemini: FakeGemini) -> None:
    model = "text-embedding-004"
    content = {"parts": [{"text": "a b"}]}
    r = httpx.post(
        gemini_url(fake_gemini, "embedContent", model),
        params={"key": "k"},
        json={"model": f"models/{model}", "content": content, "outputDimensionality": 3},
    )
    assert r.json() == {"embedding": {"values": embedding_for("a b", 3)}}
    reqs = [{"model": f"models/{model}", "content": {"parts": [{"text": t}]}} for t in ("x", "y")]
    r = httpx.post(
        gemini_url(fake_gemini, "batchEmbedContents", model),
        params={"key": "k"},
        json={"requests": reqs},
    )
    assert r.json()["embeddings"][1]["values"] == embedding_for("y", 8)
    models = httpx.get(f"{fake_gemini.url}/v1beta/models", params={"key": "k"}).json()["models"]
    flash = next(m for m in models if m["name"] == "models/gemini-2.0-flash")
    assert "generateContent" in flash["supportedGenerationMethods"]
    assert flash["inputTokenLimit"] > 0


def test_gemini_errors() -> None:
    with FakeGemini(api_key="good") as fake:
        url = gemini_url(fake, "generateContent")
        r = httpx.post(url, json=GEMINI_BODY)
        assert r.status_code == 403 and r.json()["error"]["status"] == "PERMISSION_DENIED"
        r = httpx.post(url, json=GEMINI_BODY, params={"key": "bad"})
        assert (
            r.status_code == 400 and r.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
        )
        fake.enqueue(Error(429, retry_after=2), Reply(error_after=1))
        r = httpx.post(url, json=GEMINI_BODY, params={"key": "good"})
        err = r.json()["error"]
        assert (r.status_code, err["code"], err["status"]) == (429, 429, "RESOURCE_EXHAUSTED")
        assert err["details"][0]["retryDelay"] == "2s"
        r = httpx.post(
            gemini_url(fake, "streamGenerateContent"),
            json=GEMINI_BODY,
            params={"key": "good", "alt": "sse"},
        )
        last = json.loads(sse_events(r.text)[-1][1])
        assert last["error"]["status"] == "INTERNAL"


# ============================================================================ Ollama


def test_ollama_chat_ndjson_and_single(fake_ollama: FakeOllama) -> None:
    r = httpx.post(f"{fake_ollama.url}/api/chat", json={"model": "llama3.2", "messages": USER})
    assert r.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert "".join(x["message"]["content"] for x in lines) == "echo: hello brave new world"
    assert [x["done"] for x in lines] == [False] * 5 + [True]
    final = lines[-1]
    assert final["done_reason"] == "stop"
    assert (final["prompt_eval_count"], final["eval_count"]) == (4, 5)
    assert final["total_duration"] > 0
    fake_ollama.enqueue(Reply(text="", tool_calls=[WEATHER]))
    r = httpx.post(
        f"{fake_ollama.url}/api/chat",
        json={"model": "llama3.2", "messages": USER, "stream": False},
    )
    msg = r.json()["message"]
    assert msg["tool_calls"] == [
        {"function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}
    ]
    assert r.json()["done"] is True


def test_ollama_embed_tags_and_openai_compat(fake_ollama: FakeOllama) -> None:
    r = httpx.post(
        f"{fake_ollama.url}/api/embed", json={"model": "nomic-embed-text", "input": ["a", "b"]}
    )
    assert r.json()["embeddings"] == [embedding_for("a"), embedding_for("b")]
    tags = httpx.get(f"{fake_ollama.url}/api/tags").json()["models"]
    assert tags[0]["name"] == "llama3.2:latest" and "details" in tags[0]
    client = openai.OpenAI(base_url=fake_ollama.openai_url, api_key="ollama", max_retries=0)
    chunks = list(client.chat.completions.create(model="llama3.2", messages=USER, stream=True))
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: hello brave new world"
    )


def test_ollama_errors() -> None:
    with FakeOllama(strict_models=True) as fake:
        r = httpx.post(f"{fake.url}/api/chat", json={"model": "nope", "messages": USER})
        assert r.status_code == 404
        assert r.json() == {"error": 'model "nope" not found, try pulling it first'}
        fake.enqueue(Error(500, "boom"), Reply(error_after=2))
        r = httpx.post(f"{fake.url}/api/chat", json={"model": "llama3.2", "messages": USER})
        assert (r.status_code, r.json()) == (500, {"error": "boom"})
        r = httpx.post(f"{fake.url}/api/chat", json={"model": "llama3.2", "messages": USER})
        lines = [json.loads(line) for line in r.text.splitlines()]
        assert len(lines) == 3 and "error" in lines[-1]


# ============================================================================ Hugging Face


def test_huggingface_router(fake_huggingface: FakeHuggingFace) -> None:
    client = openai.OpenAI(base_url=fake_huggingface.url, api_key="hf_test", max_retries=0)
    model = "meta-llama/Llama-3.1-8B-Instruct"
    r = client.chat.completions.create(model=model, messages=USER)
    assert r.choices[0].message.content == "echo: hello brave new world"
    fake_huggingface.enqueue(Error(429))
    with pytest.raises(openai.RateLimitError) as exc:
        client.chat.completions.create(model=model, messages=USER)
    assert isinstance(exc.value.response.json()["error"], str)
    r2 = httpx.post(
        f"{fake_huggingface.url}/chat/completions",
        headers={"Authorization": "Bearer sk-not-hf"},
        json={"model": model, "messages": USER},
    )
    assert r2.status_code == 401
    assert r2.json() == {"error": "Invalid credentials in Authorization header"}


def test_huggingface_unsupported_model() -> None:
    with FakeHuggingFace(strict_models=True) as fake:
        client = openai.OpenAI(base_url=fake.url, api_key="hf_x", max_retries=0)
        with pytest.raises(openai.BadRequestError) as exc:
            client.chat.completions.create(model="nobody/nothing", messages=USER)
        assert exc.value.code == "model_not_supported"


# ============================================================================ Stability


def stability_post(fake: FakeStability, accept: str, **form: str) -> httpx.Response:
    return httpx.post(
        f"{fake.url}/v2beta/stable-image/generate/core",
        headers={"Authorization": "Bearer sk-stab", "Accept": accept},
        files={"none": (None, "")},
        data=form,
    )


def test_stability_json_and_bytes(fake_stability: FakeStability) -> None:
    r = stability_post(fake_stability, "application/json", prompt="a cat", seed="42")
    data = r.json()
    assert set(data) == {"image", "finish_reason", "seed"}
    assert base64.b64decode(data["image"]).startswith(PNG_MAGIC)
    assert (data["finish_reason"], data["seed"]) == ("SUCCESS", 42)
    assert fake_stability.last_request.form is not None
    assert fake_stability.last_request.form["prompt"] == "a cat"
    r = stability_post(fake_stability, "image/*", prompt="a cat")
    assert r.headers["content-type"] == "image/png" and r.content.startswith(PNG_MAGIC)
    assert r.headers["finish-reason"] == "SUCCESS" and int(r.headers["seed"]) > 0
    r = stability_post(fake_stability, "image/*", prompt="a cat", output_format="jpeg")
    assert r.headers["content-type"] == "image/jpeg" and r.content.startswith(b"\xff\xd8")
    r = stability_post(fake_stability, "image/*", prompt="a cat", output_format="webp")
    assert r.content[:4] == b"RIFF" and r.content[8:12] == b"WEBP"
    fake_stability.enqueue(Reply(finish_reason="CONTENT_FILTERED"))
    r = stability_post(fake_stability, "application/json", prompt="a cat")
    assert r.json()["finish_reason"] == "CONTENT_FILTERED"


def test_stability_errors(fake_stability: FakeStability) -> None:
    r = stability_post(fake_stability, "application/json", prompt="")
    assert r.status_code == 400
    body = r.json()
    assert body["name"] == "bad_request" and body["errors"] and body["id"]
    fake_stability.enqueue(Error(403), Error(429, retry_after=10))
    r = stability_post(fake_stability, "application/json", prompt="x")
    assert (r.status_code, r.json()["name"]) == (403, "content_moderation")
    r = stability_post(fake_stability, "application/json", prompt="x")
    assert (r.status_code, r.headers["retry-after"]) == (429, "10")
    r = httpx.post(f"{fake_stability.url}/v2beta/stable-image/generate/core", data={"prompt": "x"})
    assert r.status_code == 401 and r.json()["name"] == "unauthorized"


# ============================================================================ lifecycle


def test_context_manager_restart_and_fixtures_are_independent() -> None:
    fake = FakeAnthropic()
    with fake:
        first = fake.url
        assert httpx.get(f"{first}/v1/models", headers={"x-api-key": "k"}).status_code == 400
    with fake:
        assert fake.url.startswith("http://127.0.0.1:")
    fake.stop()  # idempotent


@pytest.fixture
def two_fakes() -> Iterator[tuple[FakeOpenAI, FakeOpenAI]]:
    with FakeOpenAI() as a, FakeOpenAI() as b:
        yield a, b


def test_fakes_do_not_share_state(two_fakes: tuple[FakeOpenAI, FakeOpenAI]) -> None:
    a, b = two_fakes
    assert a.port != b.port
    a.enqueue(Reply(text="only a"))
    assert (
        oa(b).chat.completions.create(model="m", messages=USER).choices[0].message.content
        != "only a"
    )
    assert (
        oa(a).chat.completions.create(model="m", messages=USER).choices[0].message.content
        == "only a"
    )
