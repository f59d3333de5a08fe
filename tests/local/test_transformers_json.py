"""JSON output of the transformers engine (``response_format``, masked by llguidance),
through the API with the official openai client: a random-weight model must still give
JSON that parses and follows the schema, and end by itself."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema

from tests.conftest import assert_envelope
from tests.local.conftest import needs_local

pytestmark = needs_local
MSG = [{"role": "user", "content": "Describe a person as JSON."}]
PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 12},
        "age": {"type": "integer", "minimum": 0, "maximum": 130},
        "mood": {"type": "string", "enum": ["happy", "sad"]},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "maxItems": 2},
    },
    "required": ["name", "age", "mood"],
    "additionalProperties": False,
}


def local(model_dir: Path) -> dict[str, Any]:
    return {"local": {"model_dirs": [str(model_dir)]}}


def schema_format(schema: dict[str, Any], *, strict: bool = True) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "x", "schema": schema, "strict": strict}}


async def test_card_declares_json_output(plugai: Callable[..., Any], model_dir: Path) -> None:
    async with plugai(**local(model_dir)) as h:
        card = (await h.http.get("/v1/models/local/tiny-hf")).json()
    assert card["capabilities"]["json_schema"] and card["capabilities"]["json_object"]
    assert "response_format" in card["parameters"]["properties"]


async def test_chat_follows_the_schema(plugai: Callable[..., Any], model_dir: Path) -> None:
    async with plugai(**local(model_dir)) as h:
        answers = [
            await h.openai.chat.completions.create(
                model="local/tiny-hf",
                messages=MSG,
                max_tokens=300,
                seed=seed,
                response_format=schema_format(PERSON),  # type: ignore[arg-type]
            )
            for seed in range(3)
        ]
        stream = await h.openai.chat.completions.create(
            model="local/tiny-hf",
            messages=MSG,
            max_tokens=300,
            seed=7,
            temperature=1.2,
            stream=True,
            response_format=schema_format(PERSON),  # type: ignore[arg-type]
        )
        chunks = [c async for c in stream]
    for r in answers:
        assert r.choices[0].finish_reason == "stop"  # ended by itself, at the end of the JSON
        jsonschema.validate(json.loads(r.choices[0].message.content or ""), PERSON)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    jsonschema.validate(json.loads(streamed), PERSON)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1


async def test_json_object_in_chat_and_completions(
    plugai: Callable[..., Any], model_dir: Path
) -> None:
    flag = {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}, "n": {"type": "number"}},
        "required": ["ok"],
        "additionalProperties": False,
    }
    async with plugai(**local(model_dir)) as h:
        # Any object: nothing bounds its strings, so greedy decoding keeps this one short.
        chat = await h.openai.chat.completions.create(
            model="local/tiny-hf",
            messages=MSG,
            max_tokens=400,
            temperature=0,
            response_format={"type": "json_object"},
        )
        chat_stream = await h.openai.chat.completions.create(
            model="local/tiny-hf",
            messages=MSG,
            max_tokens=400,
            temperature=0,
            stream=True,
            response_format={"type": "json_object"},
        )
        deltas = [c.choices[0].delta.content or "" async for c in chat_stream if c.choices]
        # json_object with a schema (as llama-cpp-python takes it), on the completions API.
        done = await h.openai.completions.create(
            model="local/tiny-hf",
            prompt="JSON:",
            max_tokens=400,
            seed=2,
            extra_body={"response_format": {"type": "json_object", "schema": flag}},
        )
        stream = await h.openai.completions.create(
            model="local/tiny-hf",
            prompt="JSON:",
            max_tokens=400,
            seed=3,
            stream=True,
            extra_body={"response_format": schema_format(PERSON)},
        )
        pieces = [c.choices[0].text async for c in stream if c.choices]
    content = chat.choices[0].message.content or ""
    assert chat.choices[0].finish_reason == "stop"
    assert isinstance(json.loads(content), dict)
    assert "".join(deltas) == content
    assert done.choices[0].finish_reason == "stop"
    jsonschema.validate(json.loads(done.choices[0].text), flag)
    jsonschema.validate(json.loads("".join(pieces)), PERSON)


async def test_max_tokens_cuts_unfinished_json(plugai: Callable[..., Any], model_dir: Path) -> None:
    async with plugai(**local(model_dir)) as h:
        r = await h.openai.chat.completions.create(
            model="local/tiny-hf",
            messages=MSG,
            max_tokens=3,
            response_format=schema_format(PERSON),  # type: ignore[arg-type]
        )
    assert r.choices[0].finish_reason == "length"
    assert r.usage is not None and r.usage.completion_tokens == 3
    assert (r.choices[0].message.content or "").startswith('{"')


async def test_schemas_it_cannot_enforce(plugai: Callable[..., Any], model_dir: Path) -> None:
    negated = {
        "type": "object",
        "properties": {"a": {"type": "integer", "not": {"const": 3}}},
        "required": ["a"],
        "additionalProperties": False,
    }
    look_behind = {"type": "object", "properties": {"a": {"type": "string", "pattern": "(?<=x)y"}}}

    def body(response_format: dict[str, Any]) -> dict[str, Any]:
        return {"model": "local/tiny-hf", "messages": MSG, "response_format": response_format}

    async with plugai(**local(model_dir)) as h:
        bad_regex = await h.http.post("/v1/chat/completions", json=body(schema_format(look_behind)))
        strict = await h.http.post("/v1/chat/completions", json=body(schema_format(negated)))
        streamed = await h.http.post(
            "/v1/chat/completions",
            json={**body(schema_format(look_behind)), "stream": True},
        )
        unknown = await h.http.post("/v1/chat/completions", json=body({"type": "xml"}))
        no_schema = await h.http.post(
            "/v1/chat/completions", json=body({"type": "json_schema", "json_schema": {}})
        )
        # Not strict: held to what can be enforced, the rest ignored; the worker lives on.
        lenient = await h.openai.chat.completions.create(
            model="local/tiny-hf",
            messages=MSG,
            max_tokens=50,
            seed=0,
            response_format=schema_format(negated, strict=False),  # type: ignore[arg-type]
        )
    for response in (bad_regex, strict, streamed, unknown, no_schema):
        assert_envelope(response, 400)
    assert "look-around" in bad_regex.json()["error"]["message"]
    assert '"not"' in strict.json()["error"]["message"]  # the keyword it cannot enforce
    assert isinstance(json.loads(lenient.choices[0].message.content or "")["a"], int)
