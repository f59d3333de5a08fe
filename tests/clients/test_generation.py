"""Image and 3D generation, jobs and artifacts through ``plugai_client`` against a real
server (uvicorn on a socket) in front of fake Stability and OpenAI upstreams."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from plugai_client import (
    AsyncPlugAI,
    AuthenticationError,
    ConflictError,
    GenerationError,
    NotFoundError,
    PlugAI,
)
from plugai_client.resources._inputs import image_input
from plugai_client.types import Job, MeshesResponse

from plugai.settings import Settings
from tests.conftest import ADMIN_KEY
from tests.fakes.base import Error, tiny_png
from tests.fakes.openai_fake import FakeOpenAI
from tests.fakes.stability import FakeStability
from tests.live import live_server

PNG = b"\x89PNG\r\n\x1a\n"
IMAGE = "stability/core"
MESH = "stability/stable-fast-3d"


@pytest.fixture
def fake_stab() -> Iterator[FakeStability]:
    with FakeStability(api_key="sk-stab") as server:
        yield server


@pytest.fixture
def url(make_settings: Callable[..., Settings], fake_stab: FakeStability) -> Iterator[str]:
    with FakeOpenAI(api_key="sk-x") as fake_oai:
        providers = [
            {
                "name": "stability",
                "type": "stability",
                "base_url": fake_stab.url,
                "api_key": "sk-stab",
            },
            {"name": "openai", "type": "openai", "base_url": fake_oai.url, "api_key": "sk-x"},
        ]
        with live_server(make_settings(providers=providers, routing={"retries": 0})) as base:
            yield base


@pytest.fixture
def client(url: str) -> Iterator[PlugAI]:
    with PlugAI(url, ADMIN_KEY, max_retries=0) as c:
        yield c


@pytest.fixture
async def aclient(url: str) -> AsyncIterator[AsyncPlugAI]:
    async with AsyncPlugAI(url, ADMIN_KEY, max_retries=0) as c:
        yield c


def test_image_to_3d_by_artifact_id_then_download(
    client: PlugAI, fake_stab: FakeStability, tmp_path: Path
) -> None:
    image = client.images.generate(model="openai/dall-e-3", prompt="a chair").data[0]
    assert image.artifact_id is not None and image.artifact_id.startswith("art_")
    png = client.artifacts.download(image.artifact_id)
    assert png.startswith(PNG)

    result = client.meshes.generate(model=MESH, image=image.artifact_id, foreground_ratio=0.5)
    assert isinstance(result, MeshesResponse) and result.model == MESH
    [mesh] = result.data
    assert mesh.format == "glb" and mesh.faces == 12 and mesh.mime_type == "model/gltf-binary"
    assert fake_stab.last_request.form is not None
    assert fake_stab.last_request.form["image"] == png  # the artifact was the input
    assert fake_stab.last_request.form["foreground_ratio"] == "0.5"

    target = tmp_path / "chair.glb"
    glb = client.artifacts.download(mesh.artifact_id, path=target)
    assert glb.startswith(b"glTF") and len(glb) == mesh.bytes
    assert target.read_bytes() == glb
    with PlugAI(client.base_url, api_key="") as anonymous:  # signed URL: no key needed
        assert anonymous.artifacts.download(mesh.url) == glb
        with pytest.raises(AuthenticationError):
            anonymous.artifacts.download(mesh.artifact_id)

    meta = client.artifacts.metadata(mesh.artifact_id)
    assert meta.kind == "mesh" and meta.format == "glb" and meta.model == MESH


def test_image_inputs_path_and_bytes_become_data_urls(
    client: PlugAI, fake_stab: FakeStability, tmp_path: Path
) -> None:
    picture = tiny_png("chair")
    path = tmp_path / "chair.png"
    path.write_bytes(picture)
    expected = "data:image/png;base64," + base64.b64encode(picture).decode()
    assert image_input(path) == image_input(str(path)) == image_input(picture) == expected
    for passed in ("art_123", "https://example.com/a.png", expected):
        assert image_input(passed) == passed
    with pytest.raises(ValueError, match="neither a file"):
        image_input(str(tmp_path / "missing.png"))
    with pytest.raises(ValueError, match="prompt or an image"):
        client.meshes.generate(model=MESH)

    # image-to-image: the server resolves the input (an unknown artifact is a 404)
    assert client.images.generate(model=IMAGE, prompt="a fox", image=path).data
    with pytest.raises(NotFoundError):
        client.images.generate(model=IMAGE, prompt="a fox", image="art_nope")

    for source in (path, picture):
        client.meshes.generate(model=MESH, image=source, format="obj")
        assert fake_stab.last_request.form is not None
        assert fake_stab.last_request.form["image"] == picture


def test_submit_wait_with_progress_and_failures(client: PlugAI, fake_stab: FakeStability) -> None:
    seen: list[Job] = []
    job = client.meshes.submit(model=MESH, image=tiny_png("x"))
    assert job.object == "generation.job" and job.kind == "3d" and not job.finished
    done = client.jobs.wait(job.id, on_progress=seen.append, timeout=30)
    assert done.status == "succeeded" and done.finished
    assert seen and seen[-1].status == "succeeded"
    assert done.progress.step == done.progress.steps == 1
    [mesh] = done.meshes().data
    assert client.artifacts.download(mesh.url)[:4] == b"glTF"
    assert [e.status for e in client.jobs.events(job.id)] == ["succeeded"]
    assert client.jobs.get(job.id).id == job.id
    assert job.id in [j.id for j in client.jobs.list(limit=10).data]
    with pytest.raises(ValueError, match="not 'images'"):
        done.images()

    with pytest.raises(ConflictError) as conflict:  # it has already ended
        client.jobs.cancel(job.id)
    assert conflict.value.status == 409

    images = client.images.submit(model=IMAGE, prompt="a fox")
    assert client.jobs.wait(images.id).images().data[0].artifact_id is not None

    fake_stab.enqueue(Error(400, "image: too small"))
    failing = client.meshes.submit(model=MESH, image=tiny_png("y"))
    with pytest.raises(GenerationError) as failed:
        client.jobs.wait(failing.id, timeout=30)
    assert failed.value.job.status == "failed" and failed.value.type is not None
    assert failed.value.body == {"error": failed.value.job.error.model_dump()}  # type: ignore[union-attr]
    with pytest.raises(NotFoundError):
        client.jobs.get("job_nope")


def test_list_pin_delete_and_other_users(client: PlugAI, url: str) -> None:
    ids = [
        client.images.generate(model=IMAGE, prompt=f"fox {i}").data[0].artifact_id for i in range(3)
    ]
    page = client.artifacts.list(kind="image", limit=2)
    assert len(page.data) == 2 and page.has_more and page.first_id == ids[2]
    assert [a.id for a in client.artifacts.iterate(page_size=2)] == ids[::-1]
    assert client.artifacts.list(kind="mesh").data == []

    target = ids[0]
    assert target is not None
    pinned = client.artifacts.pin(target)
    assert pinned.pinned and pinned.expires_at is None
    assert not client.artifacts.pin(target, pinned=False).pinned

    bob_key = client.admin.users.create("bob").api_key
    with PlugAI(url, bob_key, max_retries=0) as bob:
        assert bob.artifacts.list().data == []
        for call in (
            lambda: bob.artifacts.metadata(target),
            lambda: bob.artifacts.download(target),
            lambda: bob.artifacts.delete(target),
            lambda: bob.meshes.generate(model=MESH, image=target),
        ):
            with pytest.raises(NotFoundError):
                call()

    deleted = client.artifacts.delete(target)
    assert deleted.deleted and deleted.id == target
    with pytest.raises(NotFoundError):
        client.artifacts.metadata(target)


async def test_async_twins(aclient: AsyncPlugAI, fake_stab: FakeStability) -> None:
    image = (await aclient.images.generate(model=IMAGE, prompt="a chair")).data[0]
    assert image.artifact_id is not None
    mesh = (await aclient.meshes.generate(model=MESH, image=image.artifact_id)).data[0]
    assert (await aclient.artifacts.download(mesh.url))[:4] == b"glTF"

    seen: list[str] = []

    async def progress(job: Job) -> None:
        seen.append(job.status)

    job = await aclient.meshes.submit(model=MESH, image=image.artifact_id)
    done = await aclient.jobs.wait(job.id, on_progress=progress, timeout=30)
    assert done.meshes().data[0].format == "glb" and seen[-1] == "succeeded"
    assert [e.status async for e in await aclient.jobs.events(job.id)] == ["succeeded"]
    with pytest.raises(ConflictError):
        await aclient.jobs.cancel(job.id)
    assert (await aclient.jobs.list()).data[0].id == job.id

    fake_stab.enqueue(Error(400, "image: too small"))
    failing = await aclient.meshes.submit(model=MESH, image=image.artifact_id)
    with pytest.raises(GenerationError):
        await aclient.jobs.wait(failing.id)

    listed = [a.id async for a in aclient.artifacts.iterate(page_size=1)]
    assert image.artifact_id in listed and mesh.artifact_id in listed
    assert (await aclient.artifacts.pin(mesh.artifact_id)).pinned
    assert (await aclient.artifacts.metadata(mesh.artifact_id)).pinned
    assert (await aclient.artifacts.delete(mesh.artifact_id)).deleted
    with pytest.raises(NotFoundError):
        await aclient.artifacts.download(mesh.artifact_id)
