"""Local models through PlugAI's standard API, with the official openai client: tiny GGUF
and safetensors models built by the fixtures, served by real worker processes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.local.conftest import needs_local

pytestmark = needs_local
MSG = [{"role": "user", "content": "Say hello."}]


def local(model_dir: Path, **extra: Any) -> dict[str, Any]:
    return {"local": {"model_dirs": [str(model_dir)], **extra}}


async def test_models_listed_with_parameters(plugai: Callable[..., Any], model_dir: Path) -> None:
    async with plugai(**local(model_dir)) as h:
        ids = {m.id async for m in h.openai.models.list()}
        assert {"local/tiny", "local/tiny-b", "local/tiny-hf"} <= ids
        card = (await h.http.get("/v1/models/local/tiny")).json()
        hf_card = (await h.http.get("/v1/models/local/tiny-hf")).json()
    params = card["parameters"]["properties"]
    assert {"temperature", "top_k", "min_p", "repeat_penalty", "seed", "keep_alive"} <= set(params)
    assert {"response_format", "max_completion_tokens", "stop"} <= set(params)
    assert params["n"]["maximum"] == 1
    assert card["capabilities"]["embeddings"] and card["capabilities"]["json_schema"]
    assert "logit_bias" not in hf_card["parameters"]["properties"]  # llama.cpp only


async def test_chat_loads_on_first_use(
    plugai: Callable[..., Any], model_dir: Path, tiny_hf: Path
) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_hf))
    prompt = tokenizer.apply_chat_template(MSG, tokenize=False, add_generation_prompt=True)
    prompt_tokens = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    async with plugai(**local(model_dir)) as h:
        assert (await h.http.get("/v1/registry/loaded")).json()["data"] == []
        r = await h.openai.chat.completions.create(
            model="local/tiny", messages=MSG, max_tokens=12, seed=1, temperature=0.7
        )
        loaded = (await h.http.get("/v1/registry/loaded")).json()["data"]
    assert r.choices[0].finish_reason in ("stop", "length")
    assert isinstance(r.choices[0].message.content, str)
    assert r.usage is not None
    assert r.usage.completion_tokens > 0  # llama.cpp counts held-back UTF-8 pieces too
    assert r.usage.prompt_tokens == prompt_tokens
    assert [m["id"] for m in loaded] == ["local/tiny"]
    row = loaded[0]
    assert row["device"] == "cpu" and row["pid"] and row["memory_bytes"] > 1_000_000
    assert row["expires_at"] is not None and row["engine"] == "llama_cpp"


async def test_stream_and_completions(plugai: Callable[..., Any], model_dir: Path) -> None:
    async with plugai(**local(model_dir)) as h:
        stream = await h.openai.chat.completions.create(
            model="local/tiny",
            messages=MSG,
            max_tokens=8,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [c async for c in stream]
        done = await h.openai.completions.create(
            model="local/tiny", prompt="The quick", max_tokens=5, temperature=0
        )
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] in ("stop", "length")
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    assert done.choices[0].finish_reason in ("stop", "length")
    assert done.usage is not None
    assert done.usage.completion_tokens > 0


async def test_embeddings(plugai: Callable[..., Any], model_dir: Path) -> None:
    async with plugai(**local(model_dir)) as h:
        gguf = await h.openai.embeddings.create(model="local/tiny", input=["hello", "fox"])
        hf = await h.openai.embeddings.create(model="local/tiny-hf", input="hello")
    assert [len(d.embedding) for d in gguf.data] == [32, 32]
    assert gguf.data[0].embedding != gguf.data[1].embedding
    assert len(hf.data[0].embedding) == 32
    assert gguf.usage.prompt_tokens > 0


async def test_json_schema_output(plugai: Callable[..., Any], model_dir: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    async with plugai(**local(model_dir)) as h:
        r = await h.openai.chat.completions.create(
            model="local/tiny",
            messages=MSG,
            max_tokens=200,
            seed=3,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": schema},
            },
        )
    content = r.choices[0].message.content
    assert content is not None
    assert json.loads(content)["answer"] in ("yes", "no")


async def test_transformers_chat_and_stream(plugai: Callable[..., Any], model_dir: Path) -> None:
    async with plugai(**local(model_dir)) as h:
        r = await h.openai.chat.completions.create(
            model="local/tiny-hf", messages=MSG, max_tokens=6, seed=0
        )
        stream = await h.openai.chat.completions.create(
            model="local/tiny-hf", messages=MSG, max_tokens=6, stream=True
        )
        chunks = [c async for c in stream]
        loaded = (await h.http.get("/v1/registry/loaded")).json()["data"]
    assert r.usage is not None
    assert 0 < r.usage.completion_tokens <= 6
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    assert loaded[0]["engine"] == "transformers" and loaded[0]["device"] == "cpu"


async def test_bad_parameters_are_400s(plugai: Callable[..., Any], model_dir: Path) -> None:
    async with plugai(**local(model_dir)) as h:
        many = await h.http.post(
            "/v1/chat/completions", json={"model": "local/tiny", "messages": MSG, "n": 2}
        )
        unknown = await h.http.post(
            "/v1/chat/completions", json={"model": "local/tiny", "messages": MSG, "tools": []}
        )
        hf_json = await h.http.post(
            "/v1/chat/completions",
            json={
                "model": "local/tiny-hf",
                "messages": MSG,
                "response_format": {"type": "xml"},
            },
        )
        missing = await h.http.post(
            "/v1/chat/completions", json={"model": "local/nope", "messages": MSG}
        )
    assert many.status_code == 400 and many.json()["error"]["param"] == "n"
    assert unknown.status_code == 400 and unknown.json()["error"]["param"] == "tools"
    assert hf_json.status_code == 400
    assert missing.status_code == 404


async def test_anthropic_messages_front_door(plugai: Callable[..., Any], model_dir: Path) -> None:
    async with plugai(**local(model_dir)) as h:
        r = await h.http.post(
            "/v1/messages",
            json={"model": "local/tiny", "max_tokens": 5, "messages": MSG},
            headers={"anthropic-version": "2023-06-01"},
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "message" and body["role"] == "assistant"
    assert body["usage"]["output_tokens"] > 0
