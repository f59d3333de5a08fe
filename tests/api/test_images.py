"""/v1/images/generations through PlugAI with the official openai client, against fake
OpenAI and Stability upstreams over real HTTP."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import openai
import pytest

from tests.conftest import Harness
from tests.fakes.base import Error, Reply
from tests.fakes.openai_fake import FakeOpenAI
from tests.fakes.stability import FakeStability

PNG = b"\x89PNG\r\n\x1a\n"
Start = Callable[[], Any]


@pytest.fixture
def fake_stab() -> Iterator[FakeStability]:
    with FakeStability(api_key="sk-stab") as server:
        yield server


@pytest.fixture
def fake_oai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key="sk-x") as server:
        yield server


@pytest.fixture
def gateway(
    plugai: Callable[..., Any], fake_stab: FakeStability, fake_oai: FakeOpenAI
) -> Callable[[], Any]:
    """``async with gateway() as h:`` — PlugAI with both upstreams configured."""

    @asynccontextmanager
    async def start() -> AsyncIterator[Harness]:
        providers = [
            {
                "name": "stability",
                "type": "stability",
                "base_url": fake_stab.url,
                "api_key": "sk-stab",
            },
            {"name": "openai", "type": "openai", "base_url": fake_oai.url, "api_key": "sk-x"},
        ]
        async with plugai(providers=providers, routing={"retries": 0}) as h:
            yield h

    return start


def message_of(exc: openai.APIStatusError) -> str:
    """The envelope's ``error.message`` (the SDK's own message adds a prefix)."""
    assert isinstance(exc.body, dict)
    return str(exc.body["message"])


@pytest.mark.parametrize("model", ["openai/dall-e-3", "stability/core"])
async def test_b64_json_is_a_real_png(gateway: Start, model: str) -> None:
    async with gateway() as h:
        result = await h.openai.images.generate(
            model=model, prompt="a red fox", response_format="b64_json"
        )
    assert result.created > 0
    assert result.data is not None and len(result.data) == 1
    assert base64.b64decode(result.data[0].b64_json or "").startswith(PNG)


@pytest.mark.parametrize("model", ["openai/dall-e-3", "stability/core"])
async def test_url_format_is_a_signed_url_of_the_stored_png(gateway: Start, model: str) -> None:
    async with gateway() as h:
        result = await h.openai.images.generate(model=model, prompt="a red fox", n=1)
        assert result.data is not None
        url = result.data[0].url or ""
        assert "signature=" in url
        got = await h.http.get(url.removeprefix("http://plugai"), headers={"Authorization": ""})
    assert got.status_code == 200 and got.content.startswith(PNG)
    assert result.data[0].b64_json is None


async def test_dall_e_3_revised_prompt_and_upstream_body(
    gateway: Start, fake_oai: FakeOpenAI
) -> None:
    async with gateway() as h:
        result = await h.openai.images.generate(
            model="openai/dall-e-3",
            prompt="a red fox",
            size="1792x1024",
            quality="hd",
            response_format="b64_json",
        )
    assert result.data is not None
    assert result.data[0].revised_prompt == "a red fox"
    body = fake_oai.last_request.body
    assert body["model"] == "dall-e-3"
    assert (body["size"], body["quality"], body["n"]) == ("1792x1024", "hd", 1)


async def test_stability_parameters_reach_the_form(
    gateway: Start, fake_stab: FakeStability
) -> None:
    async with gateway() as h:
        result = await h.openai.images.generate(
            model="stability/sd3.5-large",
            prompt="a red fox",
            n=2,
            size="1024x1792",
            response_format="b64_json",
            extra_body={"negative_prompt": "blur", "seed": 42, "output_format": "png"},
        )
    assert result.data is not None and len(result.data) == 2
    assert {base64.b64decode(d.b64_json or "")[:8] for d in result.data} == {PNG}
    forms = sorted((r.form or {} for r in fake_stab.requests), key=lambda f: str(f["seed"]))
    assert forms == [
        {
            "prompt": "a red fox",
            "model": "sd3.5-large",
            "aspect_ratio": "9:16",
            "negative_prompt": "blur",
            "output_format": "png",
            "seed": seed,
        }
        for seed in ("42", "43")
    ]
    assert fake_stab.last_request.headers["Authorization"] == "Bearer sk-stab"


@pytest.mark.parametrize(
    ("model", "kwargs", "param"),
    [
        ("stability/core", {"n": 0}, "n"),
        ("openai/dall-e-3", {"n": 11}, "n"),
        ("stability/core", {"size": "big"}, "size"),
        ("openai/dall-e-3", {"size": "big"}, "size"),
        ("stability/core", {"extra_body": {"foo": 1}}, "foo"),
        ("openai/dall-e-3", {"extra_body": {"foo": 1}}, "foo"),
        ("stability/core", {"quality": "hd"}, "quality"),
        ("stability/core", {"extra_body": {"aspect_ratio": "4:3"}}, "aspect_ratio"),
        ("stability/core", {"extra_body": {"seed": 4294967295}}, "seed"),
        ("stability/sd3.5-large", {"extra_body": {"output_format": "webp"}}, "output_format"),
        ("openai/gpt-4o-mini", {}, "model"),
        ("stability/core", {"prompt": ""}, "prompt"),
    ],
)
async def test_bad_parameters_are_a_400_naming_the_parameter(
    gateway: Start,
    fake_stab: FakeStability,
    fake_oai: FakeOpenAI,
    model: str,
    kwargs: dict[str, Any],
    param: str,
) -> None:
    kwargs.setdefault("prompt", "a red fox")
    async with gateway() as h:
        with pytest.raises(openai.BadRequestError) as info:
            await h.openai.images.generate(model=model, **kwargs)
    assert info.value.status_code == 400
    assert info.value.param == param
    assert param in message_of(info.value)
    assert fake_stab.requests == [] and fake_oai.requests == []  # nothing reached upstream


async def test_image_model_used_for_chat_is_a_400(gateway: Start) -> None:
    async with gateway() as h:
        with pytest.raises(openai.BadRequestError) as info:
            await h.openai.chat.completions.create(
                model="stability/core", messages=[{"role": "user", "content": "hi"}]
            )
    assert info.value.param == "model"
    assert info.value.code == "capability_not_supported"


async def test_content_filtered_is_a_400_content_filter(
    gateway: Start, fake_stab: FakeStability
) -> None:
    fake_stab.enqueue(Reply(finish_reason="CONTENT_FILTERED"))
    async with gateway() as h:
        with pytest.raises(openai.BadRequestError) as info:
            await h.openai.images.generate(model="stability/core", prompt="a red fox")
    assert info.value.code == "content_filter"
    assert "content filter" in message_of(info.value)


@pytest.mark.parametrize(
    ("error", "kind", "status"),
    [
        (Error(400, "prompt: too long"), openai.BadRequestError, 400),
        (Error(429), openai.RateLimitError, 429),
        (Error(500), openai.InternalServerError, 503),
    ],
)
async def test_upstream_errors_keep_their_meaning(
    gateway: Start,
    fake_stab: FakeStability,
    error: Error,
    kind: type[openai.APIStatusError],
    status: int,
) -> None:
    fake_stab.enqueue(error)
    async with gateway() as h:
        with pytest.raises(kind) as info:
            await h.openai.images.generate(model="stability/core", prompt="a red fox")
    assert info.value.status_code == status
    assert message_of(info.value).startswith("stability: ")


async def test_model_cards_list_stability_as_an_image_model(gateway: Start) -> None:
    async with gateway() as h:
        card = (await h.http.get("/v1/models/stability/core")).json()
    assert card["capabilities"]["images"] is True
    assert card["capabilities"]["chat"] is False
    assert card["output_modalities"] == ["image"]
    assert "16:9" in card["parameters"]["properties"]["aspect_ratio"]["enum"]
