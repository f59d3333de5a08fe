"""The Stability adapter against a fake Stable Image API over real HTTP: form fields,
size → aspect ratio, seeds, n calls, content filtering and error mapping."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from plugai.core.credentials import Credentials
from plugai.core.errors import (
    InvalidRequest,
    ModelNotFound,
    ProviderError,
    UpstreamAuthError,
    UpstreamRateLimited,
    UpstreamUnavailable,
)
from plugai.core.images import ImageRequest, ImageResult
from plugai.providers.registry import default_registry
from plugai.providers.stability import StabilityProvider, aspect_ratio_for
from plugai.settings import ProviderSettings
from tests.fakes.base import Error, Reply
from tests.fakes.stability import FakeStability

CREDS = Credentials(api_key="sk-stab")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def fake() -> Iterator[FakeStability]:
    with FakeStability(api_key="sk-stab") as server:
        yield server


@pytest.fixture
async def provider(fake: FakeStability) -> AsyncIterator[StabilityProvider]:
    config = ProviderSettings(name="stab", type="stability", base_url=fake.url)
    adapter = default_registry().build(config)
    assert isinstance(adapter, StabilityProvider)
    yield adapter
    await adapter.aclose()


async def generate(
    provider: StabilityProvider, model: str = "core", n: int = 1, **params: Any
) -> ImageResult:
    checked = provider.validate_params(model, params, operation="images", drop_unknown=False)
    return await provider.generate_images(ImageRequest(model, "a red fox", n, checked), CREDS)


async def test_core_sends_a_multipart_form_and_returns_base64_png(
    provider: StabilityProvider, fake: FakeStability
) -> None:
    result = await generate(
        provider, negative_prompt="blur", style_preset="anime", output_format="png"
    )
    assert len(result.images) == 1
    assert base64.b64decode(result.images[0].b64_json or "").startswith(PNG)
    req = fake.last_request
    assert req.path == "/v2beta/stable-image/generate/core"
    assert req.headers["Authorization"] == "Bearer sk-stab"
    assert req.headers["Accept"] == "application/json"
    assert req.headers["Content-Type"].startswith("multipart/form-data")
    assert req.form == {
        "prompt": "a red fox",
        "negative_prompt": "blur",
        "style_preset": "anime",
        "output_format": "png",
    }


@pytest.mark.parametrize(
    ("model", "path", "field"),
    [
        ("ultra", "/ultra", None),
        ("sd3.5-large", "/sd3", "sd3.5-large"),
        ("sd3.5-large-turbo", "/sd3", "sd3.5-large-turbo"),
        ("sd3", "/sd3", None),
        ("stable-image-core", "/core", None),
    ],
)
async def test_model_picks_the_endpoint(
    provider: StabilityProvider, fake: FakeStability, model: str, path: str, field: str | None
) -> None:
    await generate(provider, model)
    req = fake.last_request
    assert req.path == "/v2beta/stable-image/generate" + path
    assert req.form is not None
    assert req.form.get("model") == field


@pytest.mark.parametrize(
    ("size", "ratio"),
    [
        ("1024x1024", "1:1"),
        ("1792x1024", "16:9"),
        ("1024x1792", "9:16"),
        ("1536x1024", "3:2"),
        ("1024x1536", "2:3"),
        ("2560x1080", "21:9"),
        ("1280x1024", "5:4"),
        ("800x1000", "4:5"),
        ("auto", None),
    ],
)
def test_size_maps_to_the_nearest_aspect_ratio(size: str, ratio: str | None) -> None:
    assert aspect_ratio_for(size) == ratio


async def test_size_becomes_aspect_ratio_and_aspect_ratio_wins(
    provider: StabilityProvider, fake: FakeStability
) -> None:
    await generate(provider, size="1792x1024")
    assert fake.last_request.form == {"prompt": "a red fox", "aspect_ratio": "16:9"}
    await generate(provider, size="1792x1024", aspect_ratio="9:21")
    assert (fake.last_request.form or {})["aspect_ratio"] == "9:21"


async def test_seed_is_sent_and_n_images_take_successive_seeds(
    provider: StabilityProvider, fake: FakeStability
) -> None:
    result = await generate(provider, n=3, seed=4294967293)
    assert len(result.images) == 3
    assert len({img.b64_json for img in result.images}) == 3  # distinct images
    seeds = sorted(int((r.form or {})["seed"]) for r in fake.requests)
    assert seeds == [1, 4294967293, 4294967294]  # wraps within 1..4294967294


async def test_n_without_seed_makes_n_calls_without_seed(
    provider: StabilityProvider, fake: FakeStability
) -> None:
    result = await generate(provider, "sd3.5-medium", n=2, cfg_scale=5)
    assert len(result.images) == 2
    assert len(fake.requests) == 2
    for req in fake.requests:
        assert req.form == {
            "prompt": "a red fox",
            "model": "sd3.5-medium",
            "cfg_scale": "5.0",
        }


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"seed": 4294967295}, "seed"),
        ({"seed": -1}, "seed"),
        ({"aspect_ratio": "4:3"}, "aspect_ratio"),
        ({"style_preset": "watercolor"}, "style_preset"),
        ({"output_format": "gif"}, "output_format"),
        ({"size": "1024x0"}, "size"),
        ({"quality": "hd"}, "quality"),
    ],
)
def test_bad_parameters_name_the_parameter(
    provider: StabilityProvider, params: dict[str, Any], param: str
) -> None:
    with pytest.raises(InvalidRequest) as info:
        provider.validate_params("core", params, operation="images", drop_unknown=False)
    assert info.value.param == param


def test_sd3_takes_no_webp_and_core_no_cfg_scale(provider: StabilityProvider) -> None:
    with pytest.raises(InvalidRequest, match="output_format"):
        provider.validate_params(
            "sd3.5-large", {"output_format": "webp"}, operation="images", drop_unknown=False
        )
    with pytest.raises(InvalidRequest, match="cfg_scale"):
        provider.validate_params("core", {"cfg_scale": 4}, operation="images", drop_unknown=False)


async def test_content_filtered_finish_is_a_clear_400(
    provider: StabilityProvider, fake: FakeStability
) -> None:
    fake.enqueue(Reply(finish_reason="CONTENT_FILTERED"))
    with pytest.raises(InvalidRequest) as info:
        await generate(provider)
    assert info.value.code == "content_filter"
    assert info.value.status == 400
    assert "content filter" in info.value.message


async def test_error_finish_is_a_retryable_upstream_error(
    provider: StabilityProvider, fake: FakeStability
) -> None:
    fake.enqueue(Reply(finish_reason="ERROR"))
    with pytest.raises(ProviderError) as info:
        await generate(provider)
    assert info.value.status == 502 and info.value.retryable


async def test_moderation_403_is_a_content_filter_error_not_an_auth_error(
    provider: StabilityProvider, fake: FakeStability
) -> None:
    fake.enqueue(Error(403))
    with pytest.raises(InvalidRequest) as info:
        await generate(provider)
    assert info.value.code == "content_filter"
    assert "content moderation" in info.value.message


@pytest.mark.parametrize(
    ("error", "kind", "status"),
    [
        (Error(400, "aspect_ratio: must be one of 16:9, 1:1"), InvalidRequest, 400),
        (Error(429, retry_after=3), UpstreamRateLimited, 429),
        (Error(500), UpstreamUnavailable, 503),
        (Error(503, "overloaded", type="service_unavailable"), UpstreamUnavailable, 503),
    ],
)
async def test_errors_are_mapped_with_stabilitys_message(
    provider: StabilityProvider,
    fake: FakeStability,
    error: Error,
    kind: type[Exception],
    status: int,
) -> None:
    fake.enqueue(error)
    with pytest.raises(kind) as info:
        await generate(provider)
    exc = info.value
    assert getattr(exc, "status", None) == status
    message = str(exc)
    assert message.startswith("stab: ")
    assert "{" not in message  # the text, not the raw JSON body
    if error.message:
        assert error.message in message
    if error.retry_after:
        assert isinstance(exc, UpstreamRateLimited)
        assert exc.retry_after == 3


async def test_a_wrong_key_is_an_auth_error(fake: FakeStability) -> None:
    config = ProviderSettings(name="stab", type="stability", base_url=fake.url)
    adapter = StabilityProvider(config)
    try:
        with pytest.raises(UpstreamAuthError):
            await adapter.generate_images(ImageRequest("core", "x"), Credentials(api_key="bad"))
        with pytest.raises(UpstreamAuthError):
            await adapter.generate_images(ImageRequest("core", "x"), Credentials())
    finally:
        await adapter.aclose()


async def test_one_failure_among_n_fails_the_request(
    provider: StabilityProvider, fake: FakeStability
) -> None:
    fake.enqueue(Reply(), Error(500))
    with pytest.raises(UpstreamUnavailable):
        await generate(provider, n=2)


async def test_unknown_model_is_not_found(provider: StabilityProvider) -> None:
    with pytest.raises(ModelNotFound):
        await provider.generate_images(ImageRequest("dall-e-3", "x"), CREDS)


async def test_declares_images_and_lists_known_models(
    provider: StabilityProvider,
) -> None:
    caps = provider.capabilities("core")
    assert caps.images and not caps.chat and not caps.embeddings
    assert provider.primary_operation("core") == "images"
    with pytest.raises(InvalidRequest):
        provider.options("core", "chat")
    cards = await provider.list_models(CREDS)
    ids = [c.id for c in cards]
    assert ids == [
        "stab/core",
        "stab/ultra",
        "stab/sd3.5-large",
        "stab/sd3.5-large-turbo",
        "stab/sd3.5-medium",
        "stab/stable-fast-3d",
        "stab/stable-point-aware-3d",
    ]
    core = cards[0]
    assert core.output_modalities[0].value == "image"
    props = core.parameters["properties"]
    assert "aspect_ratio" in props and "16:9" in props["aspect_ratio"]["enum"]
    assert props["seed"]["maximum"] == 4294967294
    assert "cfg_scale" in cards[2].parameters["properties"]
