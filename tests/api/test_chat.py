"""/v1/chat/completions through PlugAI with the official openai client, against a fake
OpenAI upstream over real HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest

from plugai.settings import Settings
from tests.conftest import ADMIN_KEY
from tests.fakes.base import Error, Reply, ToolCall
from tests.fakes.openai_fake import FakeOpenAI
from tests.live import live_server

MSG = [{"role": "user", "content": "hello there"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def upstream(fake: FakeOpenAI, **extra: Any) -> dict[str, Any]:
    return {
        "providers": [
            {
                "name": "openai",
                "type": "openai",
                "base_url": fake.url,
                "api_key": "sk-upstream-key",
                **extra,
            }
        ]
    }


async def test_chat_non_stream(plugai: Callable[..., Any], fake: FakeOpenAI) -> None:
    async with plugai(**upstream(fake)) as h:
        r = await h.openai.chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=MSG,
            temperature=0.2,
            seed=3,
            stop=["x"],
            n=2,
            max_tokens=50,
            user="u-1",
        )
    assert [c.message.content for c in r.choices] == ["echo: hello there"] * 2
    assert r.usage is not None
    assert r.usage.prompt_tokens == 2
    sent = fake.requests[-1]
    assert sent.headers["Authorization"] == "Bearer sk-upstream-key"
    assert sent.body["model"] == "gpt-4o-mini"
    assert {
        k: sent.body[k] for k in ("temperature", "seed", "stop", "n", "max_tokens", "user")
    } == {"temperature": 0.2, "seed": 3, "stop": ["x"], "n": 2, "max_tokens": 50, "user": "u-1"}


async def test_chat_stream_with_usage(plugai: Callable[..., Any], fake: FakeOpenAI) -> None:
    async with plugai(**upstream(fake)) as h:
        stream = await h.openai.chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=MSG,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [c async for c in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: hello there"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 3


async def test_stream_without_usage_hides_it(plugai: Callable[..., Any], fake: FakeOpenAI) -> None:
    async with plugai(**upstream(fake)) as h:
        r = await h.http.post(
            "/v1/chat/completions",
            json={"model": "openai/gpt-4o-mini", "messages": MSG, "stream": True},
        )
    events = [ln[6:] for ln in r.text.splitlines() if ln.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all("usage" not in c for c in chunks)
    assert all(c["choices"] for c in chunks)
    # PlugAI asked the upstream for usage anyway, for its own accounting
    assert fake.requests[-1].body["stream_options"] == {"include_usage": True}
    assert r.headers["content-type"].startswith("text/event-stream")


async def test_tools_and_streamed_tool_call_deltas(
    plugai: Callable[..., Any], fake: FakeOpenAI
) -> None:
    call = ToolCall(name="get_weather", arguments={"city": "Paris, France"})
    fake.enqueue(Reply(tool_calls=[call]), Reply(tool_calls=[call]))
    async with plugai(**upstream(fake)) as h:
        r = await h.openai.chat.completions.create(
            model="openai/gpt-4o", messages=MSG, tools=[WEATHER], tool_choice="auto"
        )
        stream = await h.openai.chat.completions.create(
            model="openai/gpt-4o", messages=MSG, tools=[WEATHER], stream=True
        )
        chunks = [c async for c in stream]
    assert r.choices[0].finish_reason == "tool_calls"
    tc = r.choices[0].message.tool_calls[0]
    assert tc.function.name == "get_weather"
    assert json.loads(tc.function.arguments) == {"city": "Paris, France"}
    pieces = [d for c in chunks if c.choices for d in (c.choices[0].delta.tool_calls or [])]
    assert len(pieces) > 2  # arguments arrive in several deltas
    assert "".join(p.function.arguments or "" for p in pieces) == tc.function.arguments
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert fake.requests[-1].body["tools"] == [WEATHER]


async def test_tool_results_and_vision_parts_pass_through(
    plugai: Callable[..., Any], fake: FakeOpenAI
) -> None:
    messages: list[Any] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    async with plugai(**upstream(fake)) as h:
        await h.openai.chat.completions.create(model="openai/gpt-4o", messages=messages)
    assert fake.requests[-1].body["messages"] == messages


async def test_response_format_and_logprobs(plugai: Callable[..., Any], fake: FakeOpenAI) -> None:
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    async with plugai(**upstream(fake)) as h:
        r = await h.openai.chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=MSG,
            response_format=schema,
            logprobs=True,
            top_logprobs=2,
        )
    assert fake.requests[-1].body["response_format"] == schema
    assert r.choices[0].logprobs is not None
    assert r.choices[0].logprobs.content


async def test_max_completion_tokens_and_extra_provider_params(
    plugai: Callable[..., Any], fake: FakeOpenAI
) -> None:
    async with plugai(**upstream(fake)) as h:
        await h.openai.chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=MSG,
            max_completion_tokens=9,
            extra_body={"reasoning_effort": "low"},
        )
    assert fake.requests[-1].body["max_completion_tokens"] == 9
    assert fake.requests[-1].body["reasoning_effort"] == "low"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": MSG}, "model"),
        ({"model": "openai/gpt-4o"}, "messages"),
        ({"model": "openai/gpt-4o", "messages": []}, "messages"),
        (
            {"model": "openai/gpt-4o", "messages": [{"role": "wizard", "content": "x"}]},
            "messages[0].role",
        ),
        ({"model": "openai/gpt-4o", "messages": MSG, "temperature": 3}, "temperature"),
        ({"model": "openai/gpt-4o", "messages": MSG, "temperature": "hot"}, "temperature"),
        ({"model": "openai/gpt-4o", "messages": MSG, "top_p": -1}, "top_p"),
        ({"model": "openai/gpt-4o", "messages": MSG, "n": 0}, "n"),
        ({"model": "openai/gpt-4o", "messages": MSG, "max_tokens": 0}, "max_tokens"),
        ({"model": "openai/gpt-4o", "messages": MSG, "top_logprobs": 50}, "top_logprobs"),
        (
            {"model": "openai/gpt-4o", "messages": MSG, "stream_options": {"include_usage": True}},
            "stream_options",
        ),
        ({"model": "openai/gpt-4o", "messages": MSG, "frobnicate": 1}, "frobnicate"),
        ({"model": "openai/gpt-4o", "messages": MSG, "stream": "yes please"}, "stream"),
    ],
)
async def test_bad_parameters_are_400_naming_them(
    plugai: Callable[..., Any], fake: FakeOpenAI, body: dict[str, Any], param: str
) -> None:
    async with plugai(**upstream(fake)) as h:
        r = await h.http.post("/v1/chat/completions", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param
    assert not fake.requests


async def test_drop_unsupported_params_when_configured(
    plugai: Callable[..., Any], fake: FakeOpenAI
) -> None:
    async with plugai(**upstream(fake, drop_unsupported_params=True)) as h:
        r = await h.http.post(
            "/v1/chat/completions",
            json={"model": "openai/gpt-4o", "messages": MSG, "frobnicate": 1},
        )
    assert r.status_code == 200
    assert "frobnicate" not in fake.requests[-1].body


async def test_preset_rejects_what_the_service_does_not_take(
    plugai: Callable[..., Any], fake: FakeOpenAI
) -> None:
    async with plugai(
        providers=[{"name": "mistral", "type": "mistral", "base_url": fake.url, "api_key": "k"}]
    ) as h:
        r = await h.http.post(
            "/v1/chat/completions",
            json={"model": "mistral/mistral-small", "messages": MSG, "logprobs": True},
        )
        assert r.status_code == 400
        assert r.json()["error"]["param"] == "logprobs"
        ok = await h.http.post(
            "/v1/chat/completions",
            json={"model": "mistral/mistral-small", "messages": MSG, "seed": 5},
        )
        assert ok.status_code == 200
    assert fake.requests[-1].body["random_seed"] == 5
    assert "seed" not in fake.requests[-1].body


async def test_upstream_auth_failure_is_502_without_leaking_key(
    plugai: Callable[..., Any],
) -> None:
    with FakeOpenAI(api_key="sk-the-right-one") as fake:
        async with plugai(**upstream(fake)) as h:
            r = await h.http.post(
                "/v1/chat/completions", json={"model": "openai/gpt-4o", "messages": MSG}
            )
    assert r.status_code == 502
    assert r.json()["error"]["code"] == "upstream_auth_error"
    assert "sk-upstream-key" not in r.text


async def test_completions_and_stream(plugai: Callable[..., Any], fake: FakeOpenAI) -> None:
    async with plugai(**upstream(fake)) as h:
        r = await h.openai.completions.create(
            model="openai/gpt-3.5-turbo-instruct", prompt="say this", max_tokens=5
        )
        stream = await h.openai.completions.create(
            model="openai/gpt-3.5-turbo-instruct", prompt="say this", stream=True
        )
        pieces = [c.choices[0].text async for c in stream if c.choices]
    assert r.choices[0].text
    assert "".join(pieces) == r.choices[0].text


async def test_embeddings_float_and_base64(plugai: Callable[..., Any], fake: FakeOpenAI) -> None:
    async with plugai(**upstream(fake)) as h:
        floats = await h.openai.embeddings.create(
            model="openai/text-embedding-3-small", input=["alpha", "beta"], encoding_format="float"
        )
        b64 = await h.openai.embeddings.create(  # the SDK asks base64 and decodes it
            model="openai/text-embedding-3-small", input=["alpha", "beta"]
        )
        raw = await h.http.post(
            "/v1/embeddings",
            json={
                "model": "openai/text-embedding-3-small",
                "input": "alpha",
                "encoding_format": "base64",
            },
        )
        empty = await h.http.post(
            "/v1/embeddings", json={"model": "openai/text-embedding-3-small", "input": ""}
        )
        chat_model = await h.http.post(
            "/v1/embeddings", json={"model": "openai/gpt-4o", "input": "x"}
        )
    assert len(floats.data) == 2
    assert len(floats.data[0].embedding) == 8
    assert [round(x, 5) for x in b64.data[1].embedding] == [
        round(x, 5) for x in floats.data[1].embedding
    ]
    assert isinstance(raw.json()["data"][0]["embedding"], str)
    assert empty.status_code == 400
    assert empty.json()["error"]["param"] == "input"
    assert chat_model.status_code == 400
    assert chat_model.json()["error"]["code"] == "capability_not_supported"


async def test_models_cards_and_parameter_schemas(
    plugai: Callable[..., Any], fake: FakeOpenAI
) -> None:
    async with plugai(
        **upstream(fake),
        models=[
            {
                "id": "fast",
                "provider": "openai",
                "model": "gpt-4o-mini",
                "aliases": ["q"],
                "context_length": 128000,
            }
        ],
    ) as h:
        listed = await h.openai.models.list()
        card = (await h.http.get("/v1/models/openai/gpt-4o")).json()
        fast = (await h.http.get("/v1/models/q")).json()
        params = (await h.http.get("/v1/models/openai/gpt-4o/parameters")).json()
        emb = (await h.http.get("/v1/models/openai/text-embedding-3-small")).json()
        missing = await h.http.get("/v1/models/nope/nothing")
        rows = await h.app.state.db.session().__aenter__()
        from sqlalchemy import select

        from plugai.db.tables import ModelCardRow

        stored = (await rows.scalars(select(ModelCardRow))).all()
        await rows.close()
    ids = {m.id for m in listed.data}
    assert {"fast", "openai/gpt-4o", "openai/text-embedding-3-small"} <= ids
    assert card["provider"] == "openai"
    assert card["capabilities"]["vision"] is True
    assert card["capabilities"]["tools"] is True
    assert card["input_modalities"] == ["text", "image"]
    assert fast["id"] == "fast"
    assert fast["aliases"] == ["q"]
    assert fast["context_length"] == 128000
    temp = params["properties"]["temperature"]
    assert (temp["minimum"], temp["maximum"], temp["default"]) == (0, 2, 1.0)
    assert temp["description"]
    assert "dimensions" in emb["parameters"]["properties"]
    assert emb["output_modalities"] == ["embedding"]
    assert missing.status_code == 404
    assert [r.id for r in stored] == ["fast"]
    assert stored[0].card["parameters"]["properties"]["temperature"]["maximum"] == 2


async def test_request_metrics_and_log_fields(plugai: Callable[..., Any], fake: FakeOpenAI) -> None:
    async with plugai(**upstream(fake)) as h:
        await h.openai.chat.completions.create(model="openai/gpt-4o-mini", messages=MSG)
        stream = await h.openai.chat.completions.create(
            model="openai/gpt-4o-mini", messages=MSG, stream=True
        )
        _ = [c async for c in stream]
        text = (await h.http.get("/metrics")).text
    assert (
        'plugai_requests_total{model="openai/gpt-4o-mini",provider="openai",status="200"} 2.0'
        in text
    )
    assert 'plugai_tokens_total{direction="completion",model="openai/gpt-4o-mini"} 6.0' in text
    assert "plugai_time_to_first_token_seconds_count" in text
    assert 'plugai_upstream_latency_seconds_count{provider="openai"} 2.0' in text


# --- real sockets: streaming behaviour ------------------------------------------------------
def test_first_chunk_is_not_buffered(make_settings: Callable[..., Settings]) -> None:
    with FakeOpenAI() as fake:
        fake.enqueue(Reply(chunks=[f"w{i} " for i in range(20)], chunk_delay=0.05))
        with (
            live_server(make_settings(**upstream(fake))) as url,
            httpx.stream(
                "POST",
                f"{url}/v1/chat/completions",
                json={"model": "openai/gpt-4o-mini", "messages": MSG, "stream": True},
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                timeout=10,
            ) as r,
        ):
            seen_at = None
            for line in r.iter_lines():
                if line.startswith("data: ") and '"content":"w0 "' in line:
                    seen_at = time.monotonic()
                    break
            assert seen_at is not None
            sent_by_then = fake.chunks_sent_before(seen_at)
    assert sent_by_then < 20


def test_client_disconnect_cancels_upstream(make_settings: Callable[..., Settings]) -> None:
    with FakeOpenAI() as fake:
        fake.enqueue(Reply(chunks=[f"w{i} " for i in range(200)], chunk_delay=0.05))
        with live_server(make_settings(**upstream(fake))) as url:
            with httpx.stream(
                "POST",
                f"{url}/v1/chat/completions",
                json={"model": "openai/gpt-4o-mini", "messages": MSG, "stream": True},
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                timeout=10,
            ) as r:
                for line in r.iter_lines():
                    if "w1 " in line:
                        break
            assert fake.wait_for_disconnect(timeout=5)
            assert fake.chunks_sent() < 100


def test_client_disconnect_during_a_stall_cancels_upstream(
    make_settings: Callable[..., Settings],
) -> None:
    with FakeOpenAI() as fake:
        fake.enqueue(Reply(chunks=["a ", "b ", "c "], stall_after=1))
        with live_server(make_settings(**upstream(fake))) as url:
            with httpx.stream(
                "POST",
                f"{url}/v1/chat/completions",
                json={"model": "openai/gpt-4o-mini", "messages": MSG, "stream": True},
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                timeout=10,
            ) as r:
                for line in r.iter_lines():
                    if '"a "' in line:
                        break
            assert fake.wait_for_disconnect(timeout=5)


def _events(url: str, body: dict[str, Any]) -> list[Any]:
    r = httpx.post(
        f"{url}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=20,
    )
    assert r.status_code == 200
    return [
        json.loads(ln[6:]) if ln[6:] != "[DONE]" else "[DONE]"
        for ln in r.text.splitlines()
        if ln.startswith("data: ")
    ]


def test_mid_stream_error_becomes_error_event(make_settings: Callable[..., Settings]) -> None:
    with FakeOpenAI() as fake:
        fake.enqueue(
            Reply(
                chunks=["a ", "b ", "c "],
                error_after=2,
                error=Error(status=500, message="upstream broke"),
            )
        )
        with live_server(make_settings(**upstream(fake))) as url:
            events = _events(url, {"model": "openai/gpt-4o-mini", "messages": MSG, "stream": True})
    assert events[-1] != "[DONE]"
    assert "upstream broke" in events[-1]["error"]["message"]
    assert any(e.get("choices") for e in events[:-1])


def test_mid_stream_disconnect_and_stall_become_error_events(
    make_settings: Callable[..., Settings],
) -> None:
    with FakeOpenAI() as fake:
        fake.enqueue(Reply(chunks=["a ", "b ", "c "], disconnect_after=1))
        fake.enqueue(Reply(chunks=["a ", "b ", "c "], stall_after=1))
        settings = make_settings(**upstream(fake, read_timeout=0.5))
        with live_server(settings) as url:
            broken = _events(url, {"model": "openai/gpt-4o-mini", "messages": MSG, "stream": True})
            started = time.monotonic()
            stalled = _events(url, {"model": "openai/gpt-4o-mini", "messages": MSG, "stream": True})
            waited = time.monotonic() - started
        fake.release()
    assert broken[-1]["error"]["type"] == "upstream_error"
    assert stalled[-1]["error"]["code"] == "upstream_timeout"
    assert waited < 5


def test_openai_sdk_streams_against_live_server(make_settings: Callable[..., Settings]) -> None:
    with FakeOpenAI() as fake:
        fake.enqueue(Reply(first_token_delay=0.2))
        with live_server(make_settings(**upstream(fake))) as url:
            client = openai.OpenAI(api_key=ADMIN_KEY, base_url=f"{url}/v1", max_retries=0)
            text = "".join(
                c.choices[0].delta.content or ""
                for c in client.chat.completions.create(
                    model="openai/gpt-4o-mini", messages=MSG, stream=True
                )  # type: ignore[arg-type]
                if c.choices
            )
    assert text == "echo: hello there"


async def test_trace_context_reaches_the_upstream(
    plugai: Callable[..., Any], fake: FakeOpenAI
) -> None:
    incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    body = {"model": "openai/gpt-4o-mini", "messages": MSG}
    async with plugai(**upstream(fake)) as h:
        await h.http.post("/v1/chat/completions", json=body, headers={"traceparent": incoming})
        await h.http.post(
            "/v1/chat/completions", json={**body, "stream": True}, headers={"traceparent": incoming}
        )
        await h.http.post("/v1/chat/completions", json=body)
        await h.http.post("/v1/chat/completions", json=body, headers={"traceparent": "junk"})
    sent = [r.headers["traceparent"] for r in fake.requests]
    assert sent[0].startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert sent[1].startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert sent[0] != incoming  # a new span for the upstream call
    assert sent[0].endswith("-01")
    for fresh in sent[2:]:
        assert fresh.split("-")[1] != "0af7651916cd43dd8448eb211c80319c"
        assert len(fresh.split("-")[1]) == 32
