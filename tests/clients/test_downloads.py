"""``client.registry`` downloads and models, and ``client.storage``, against a real server
(uvicorn on a socket) pulling from the loopback file server and the fake Hugging Face hub
of ``tests/catalog/servers.py``."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from plugai_client import (
    AsyncPlugAI,
    BadRequestError,
    DownloadError,
    NotFoundError,
    PlugAI,
    StorageFullError,
)
from plugai_client.types import DownloadJob

from plugai.settings import Settings
from tests.catalog.layouts import write_gguf
from tests.catalog.servers import FakeHub, FileServer, running
from tests.conftest import ADMIN_KEY
from tests.live import live_server

MiB = 1024 * 1024
FAST: dict[str, Any] = {"stall_timeout": 0.5, "download_retries": 3, "scan_hf_cache": False}


def payload(n: int, seed: int = 1) -> bytes:
    return (hashlib.sha256(str(seed).encode()).digest() * (n // 32 + 1))[:n]


@pytest.fixture
def files() -> Iterator[FileServer]:
    with running(FileServer()) as server:
        yield server


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with running(FakeHub()) as server:
        yield server


@pytest.fixture
def serve(make_settings: Callable[..., Settings]) -> Callable[..., Any]:
    """``with serve(local=…, storage=…) as url:`` a live server with downloads enabled."""

    def start(local: dict[str, Any] | None = None, storage: dict[str, Any] | None = None) -> Any:
        settings = make_settings(
            local=FAST | (local or {}), storage={"min_free_disk": 0} | (storage or {})
        )
        return live_server(settings)

    return start


def test_pull_with_progress_then_get_pin_list_storage_remove(
    serve: Callable[..., Any], files: FileServer, tmp_path: Path
) -> None:
    gguf = write_gguf(tmp_path / "src.gguf").read_bytes() + payload(2 * MiB)
    url = files.add("tiny-Q4.gguf", gguf, rate=4 * MiB)
    seen: list[DownloadJob] = []
    with serve() as base, PlugAI(base, ADMIN_KEY) as client:
        job = client.registry.pull(
            url, sha256=hashlib.sha256(gguf).hexdigest(), on_progress=seen.append
        )
        assert (job.state, job.model, job.bytes_done) == ("done", "tiny-Q4", len(gguf))
        assert job.finished and job.fraction == 1.0
        assert seen[-1].state == "done" and seen[-1].id == job.id
        assert [e.bytes_done for e in seen] == sorted(e.bytes_done for e in seen)
        running = [e for e in seen if e.state == "running" and e.bytes_done]
        assert any(e.rate and e.eta_seconds is not None for e in running), seen
        assert all(e.file_progress[0].bytes_done == e.bytes_done for e in running)
        (final,) = job.file_progress
        assert (final.path, final.size, final.bytes_done, final.state) == (
            "tiny-Q4.gguf",
            len(gguf),
            len(gguf),
            "done",
        )
        assert client.registry.downloads.get(job.id).state == "done"
        assert job.id in [j.id for j in client.registry.downloads.list()]

        model = client.registry.get("local/tiny-Q4")
        assert (model.id, model.model, model.format, model.state) == (
            "tiny-Q4",
            "local/tiny-Q4",
            "gguf",
            "ready",
        )
        assert model.total_size == len(gguf) and not model.pinned and not model.discovered
        assert [m.id for m in client.registry.models()] == ["tiny-Q4"]

        usage = client.storage.get()
        assert usage.used == {"models": len(gguf), "artifacts": 0} and usage.reserved == 0
        assert usage.evictable == ["tiny-Q4"] and usage.limit is None and usage.free is None

        assert client.registry.update("tiny-Q4", pinned=True).pinned is True
        assert client.registry.models()[0].pinned
        assert client.storage.get().evictable == []  # pinned: never evicted
        assert client.storage.cleanup(dry_run=True).evicted == []
        assert client.registry.update("local/tiny-Q4", pinned=False).pinned is False
        assert client.storage.get().evictable == ["tiny-Q4"]
        preview = client.storage.cleanup(dry_run=True)  # under the (absent) limit: nothing
        assert (preview.dry_run, preview.evicted, preview.freed) == (True, [], 0)
        assert client.registry.get("tiny-Q4").state == "ready"  # a dry run removes nothing

        removed = client.registry.remove("local/tiny-Q4")
        assert (removed.id, removed.deleted, removed.files_deleted) == ("tiny-Q4", True, True)
        assert not Path(model.path).exists()
        with pytest.raises(NotFoundError):
            client.registry.get("tiny-Q4")
        assert client.registry.models() == []


def test_events_iterator_and_cancel(serve: Callable[..., Any], files: FileServer) -> None:
    url = files.add("slow.gguf", payload(4 * MiB, seed=5), rate=MiB)
    with serve() as base, PlugAI(base, ADMIN_KEY) as client:
        downloads = client.registry.downloads
        job = downloads.create(url)
        assert job.state == "queued" and job.bytes_total == 4 * MiB and job.name == "slow"
        assert downloads.create(url).id == job.id  # one job per source
        events = downloads.events(job.id)
        for event in events:
            assert isinstance(event, DownloadJob) and event.id == job.id
            if event.state == "running" and event.bytes_done:
                break
        (model,) = client.registry.models()  # listed while it downloads, with its job
        assert (model.id, model.state, model.total_size) == ("slow", "downloading", 4 * MiB)
        assert model.download is not None and model.download.id == job.id
        assert model.download.file_progress[0].state == "downloading"
        cancelled = downloads.cancel(job.id)
        assert cancelled.state == "cancelled"
        rest = list(events)  # the stream ends with the final state
        assert rest and rest[-1].state == "cancelled"
        with pytest.raises(DownloadError) as err:
            downloads.wait(job.id)  # following a finished job returns at once
        assert err.value.job.state == "cancelled"
        assert client.registry.models() == []


async def test_async_pull_is_cancelled_from_elsewhere(
    serve: Callable[..., Any], files: FileServer
) -> None:
    url = files.add("slower.gguf", payload(4 * MiB, seed=6), rate=MiB)
    with serve() as base:
        async with AsyncPlugAI(base, ADMIN_KEY) as client:
            started = asyncio.Event()
            progress: list[DownloadJob] = []

            async def on_progress(event: DownloadJob) -> None:
                progress.append(event)
                if event.state == "running" and event.bytes_done:
                    started.set()

            pull = asyncio.create_task(client.registry.pull(url, on_progress=on_progress))
            await asyncio.wait_for(started.wait(), 20)
            job_id = progress[-1].id
            assert (await client.registry.downloads.get(job_id)).state == "running"
            assert (await client.registry.downloads.cancel(job_id)).state == "cancelled"
            with pytest.raises(DownloadError) as err:
                await pull
            assert err.value.job.state == "cancelled" and "cancelled" in str(err.value)
            events = [e async for e in await client.registry.downloads.events(job_id)]
            assert [e.state for e in events] == ["cancelled"]
            assert await client.registry.models() == []
            usage = await client.storage.get()
            assert usage.reserved == 0
            assert (await client.storage.cleanup(dry_run=True)).evicted == []


def test_hf_pull_and_scan(serve: Callable[..., Any], hub: FakeHub, tmp_path: Path) -> None:
    q4 = write_gguf(tmp_path / "q4.gguf").read_bytes() + payload(MiB, seed=7)
    hub.add_repo("org/tiny-GGUF", {"tiny-Q4_K_M.gguf": q4, "tiny-Q8_0.gguf": payload(MiB)})
    models = tmp_path / "models"
    write_gguf(models / "found.gguf")
    local = {"hf_endpoint": hub.url, "model_dirs": [str(models)]}
    with serve(local=local) as base, PlugAI(base, ADMIN_KEY) as client:
        job = client.registry.pull("hf://org/tiny-GGUF", files=["*Q4_K_M.gguf"])
        assert job.model == "tiny-Q4_K_M" and job.files == ["*Q4_K_M.gguf"]
        model = client.registry.get(job.model)
        assert model.source is not None and model.source.startswith("hf://org/tiny-GGUF@")
        assert [f["path"] for f in model.files] == ["tiny-Q4_K_M.gguf"]

        assert "found" in {m.id for m in client.registry.models()}  # found at start-up
        write_gguf(models / "later.gguf")
        (models / "found.gguf").unlink()
        scan = client.registry.scan()
        assert (scan.added, scan.missing) == (["later"], ["found"])
        assert client.registry.get("found").state == "missing"
        later = client.registry.remove("later")
        assert later.files_deleted is False and (models / "later.gguf").exists()  # discovered


def test_errors(serve: Callable[..., Any], files: FileServer) -> None:
    big = files.add("big.gguf", b"\1" * 5000)
    data = payload(MiB, seed=4)
    bad = files.add("bad.gguf", data, corrupt=True)
    storage = {"limit": 4000, "eviction": "refuse"}
    with serve(storage=storage) as base, PlugAI(base, ADMIN_KEY) as client:
        with pytest.raises(StorageFullError) as full:
            client.registry.pull(big)
        assert full.value.status == 507 and full.value.code == "storage_full"
        assert "4.9 KiB needed" in full.value.message

        with pytest.raises(NotFoundError) as missing:
            client.registry.pull(files.url + "/files/nope.gguf")
        assert missing.value.status == 404
        for call in (
            lambda: client.registry.downloads.get("dl_nope"),
            lambda: client.registry.downloads.cancel("dl_nope"),
            lambda: client.registry.downloads.events("dl_nope"),  # raised before iterating
            lambda: client.registry.get("nope"),
            lambda: client.registry.update("nope", pinned=True),
            lambda: client.registry.remove("nope"),
        ):
            with pytest.raises(NotFoundError):
                call()
        with pytest.raises(BadRequestError):
            client.registry.pull("ftp://x/y")

    with serve() as base, PlugAI(base, ADMIN_KEY) as client:
        with pytest.raises(DownloadError) as failed:
            client.registry.pull(bad, sha256=hashlib.sha256(data).hexdigest())
        assert failed.value.job.state == "failed"
        assert "sha256 mismatch" in (failed.value.job.error or "")
        assert "sha256 mismatch" in str(failed.value)
        model = client.registry.get("bad")  # listed as failed, with the error
        assert (model.state, model.error) == ("failed", failed.value.job.error)
        assert model.download is not None and model.download.file_progress[0].state == "failed"
