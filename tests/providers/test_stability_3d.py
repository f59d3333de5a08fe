"""Stability's image-to-3D models (Stable Fast 3D, SPAR3D) against the fake 3D API over
real HTTP: the multipart image, parameters, the GLB answer counted and converted."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import trimesh

from plugai.core.credentials import Credentials
from plugai.core.errors import InvalidRequest, UpstreamAuthError, UpstreamRateLimited
from plugai.core.images import InputImage
from plugai.core.meshes import MeshRequest, MeshResult
from plugai.providers.registry import default_registry
from plugai.providers.stability import StabilityProvider
from plugai.settings import ProviderSettings
from tests.fakes.base import Error, tiny_png
from tests.fakes.stability import FakeStability

CREDS = Credentials(api_key="sk-stab")


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


def image() -> InputImage:
    return InputImage(tiny_png("chair"), "image/png")


async def build(
    provider: StabilityProvider,
    model: str = "stable-fast-3d",
    fmt: Any = "glb",
    creds: Credentials = CREDS,
    **params: Any,
) -> MeshResult:
    checked = provider.validate_params(model, params, operation="3d", drop_unknown=False)
    return await provider.generate_3d(MeshRequest(model, None, image(), fmt, checked), creds)


async def test_fast_3d_sends_the_image_and_options_and_counts_the_glb(
    provider: StabilityProvider, fake: FakeStability
) -> None:
    steps: list[tuple[int, int]] = []
    checked = provider.validate_params(
        "stable-fast-3d",
        {"texture_resolution": "512", "foreground_ratio": 0.5, "remesh": "triangle"},
        operation="3d",
        drop_unknown=False,
    )
    request = MeshRequest(
        "stable-fast-3d", None, image(), "glb", checked, None, lambda i, n: steps.append((i, n))
    )
    result = await provider.generate_3d(request, CREDS)
    sent = fake.requests[-1]
    assert sent.path == "/v2beta/3d/stable-fast-3d"
    assert sent.headers["Authorization"] == "Bearer sk-stab"
    assert sent.form is not None
    assert sent.form["image"] == tiny_png("chair")
    assert sent.form["texture_resolution"] == "512"
    assert sent.form["foreground_ratio"] == "0.5"
    assert sent.form["remesh"] == "triangle"
    mesh = result.meshes[0].mesh
    assert mesh.mime == "model/gltf-binary"
    assert mesh.data is not None
    loaded = trimesh.load(io.BytesIO(mesh.data), file_type="glb", force="mesh")
    assert mesh.meta == {"format": "glb", "vertices": len(loaded.vertices), "faces": 12}
    assert loaded.extents == pytest.approx([0.5, 0.5, 0.5])
    assert steps == [(0, 1), (1, 1)]


@pytest.mark.parametrize(("fmt", "mime"), [("obj", "model/obj"), ("ply", "application/ply")])
async def test_other_formats_are_converted_from_the_glb(
    provider: StabilityProvider, fmt: str, mime: str
) -> None:
    result = await build(provider, fmt=fmt)
    mesh = result.meshes[0].mesh
    assert mesh.mime == mime
    assert mesh.data is not None
    loaded = trimesh.load(io.BytesIO(mesh.data), file_type=fmt, force="mesh")
    assert len(loaded.faces) == 12
    assert mesh.meta["faces"] == 12


async def test_spar3d_takes_its_own_parameters(
    provider: StabilityProvider, fake: FakeStability
) -> None:
    await build(provider, "stable-point-aware-3d", guidance_scale=4, seed=7, target_count=500)
    sent = fake.requests[-1]
    assert sent.path == "/v2beta/3d/stable-point-aware-3d"
    assert sent.form is not None
    assert (sent.form["guidance_scale"], sent.form["seed"], sent.form["target_count"]) == (
        "4.0",
        "7",
        "500",
    )


async def test_cards_and_parameters_name_the_3d_models(provider: StabilityProvider) -> None:
    card = provider.card("stable-fast-3d")
    assert card.capabilities.meshes and not card.capabilities.images
    assert [m.value for m in card.output_modalities] == ["3d"]
    assert [m.value for m in card.input_modalities] == ["image"]
    assert set(card.parameters["properties"]) >= {"texture_resolution", "vertex_count"}
    with pytest.raises(InvalidRequest) as bad:
        provider.validate_params(
            "stable-fast-3d", {"foreground_ratio": 3}, operation="3d", drop_unknown=False
        )
    assert bad.value.param == "foreground_ratio"
    listed = [c.upstream_id for c in await provider.list_models(CREDS)]
    assert "stable-point-aware-3d" in listed


async def test_a_prompt_without_an_image_is_refused_before_any_call(
    provider: StabilityProvider, fake: FakeStability
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        await provider.generate_3d(MeshRequest("stable-fast-3d", "a chair"), CREDS)
    assert refused.value.param == "image"
    assert not fake.requests


async def test_upstream_errors_are_mapped(provider: StabilityProvider, fake: FakeStability) -> None:
    fake.enqueue(Error(429, retry_after=2))
    with pytest.raises(UpstreamRateLimited):
        await build(provider)
    with pytest.raises(UpstreamAuthError):
        await build(provider, creds=Credentials(api_key="wrong"))
