"""Downloads as persisted jobs over real HTTP: plain URLs and a fake Hugging Face hub,
with resume after dropped connections and stalls, sha256 verification, one job per
source, cancel, and progress over SSE."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.catalog.conftest import FAST, NO_FLOOR, wait_job
from tests.catalog.layouts import write_gguf
from tests.catalog.servers import FakeHub, FileServer
from tests.conftest import assert_envelope

MiB = 1024 * 1024


def payload(n: int, seed: int = 1) -> bytes:
    return (hashlib.sha256(str(seed).encode()).digest() * (n // 32 + 1))[:n]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leftovers(data_dir: Path) -> list[str]:
    partial = data_dir / "models" / ".partial"
    return [str(p) for p in partial.rglob("*")] if partial.exists() else []


async def test_url_download_resumes_after_a_dropped_connection(
    plugai: Callable[..., Any], files: FileServer, tmp_path: Path
) -> None:
    gguf = write_gguf(tmp_path / "src" / "m.gguf").read_bytes() + payload(3 * MiB)
    url = files.add("tiny-Q4.gguf", gguf, drop_at=MiB + 123)
    async with plugai(local=FAST, storage=NO_FLOOR) as h:
        created = await h.http.post("/v1/registry/downloads", json={"source": url})
        assert created.status_code == 202, created.text
        job = created.json()
        assert (job["state"], job["bytes_total"], job["name"]) == ("queued", len(gguf), "tiny-Q4")
        done = await wait_job(h.http, job["id"])
        assert done["bytes_done"] == len(gguf) and done["model"] == "tiny-Q4"
        assert files.range_starts("tiny-Q4.gguf")[-1] == MiB + 123  # resumed from disk
        model = (await h.http.get("/v1/registry/models/tiny-Q4")).json()
        assert model["state"] == "ready" and not model["discovered"]
        assert model["files"] == [{"path": "tiny-Q4.gguf", "size": len(gguf), "sha256": sha(gguf)}]
        assert model["metadata"]["architecture"] == "llama"
        path = Path(model["path"])
        assert path.read_bytes() == gguf
        assert not leftovers(h.app.state.settings.data_dir)
        assert "tiny-Q4" in {s.name for s in h.app.state.local.specs()}  # servable


async def test_stall_is_detected_and_retried(plugai: Callable[..., Any], files: FileServer) -> None:
    data = payload(2 * MiB, seed=2)
    url = files.add("stall.gguf", data, stall_at=MiB // 2)
    async with plugai(local=FAST, storage=NO_FLOOR) as h:
        body = {"source": url, "sha256": sha(data)}
        job = (await h.http.post("/v1/registry/downloads", json=body)).json()
        done = await wait_job(h.http, job["id"])
        assert done["attempts"] >= 1
        assert MiB // 2 in files.range_starts("stall.gguf")
        assert (await h.http.get("/v1/registry/models/stall")).json()["files"][0]["sha256"] == sha(
            data
        )


async def test_server_without_ranges_starts_again(
    plugai: Callable[..., Any], files: FileServer
) -> None:
    data = payload(MiB, seed=3)
    url = files.add("norange.gguf", data, drop_at=MiB // 3, no_range=True)
    async with plugai(local=FAST, storage=NO_FLOOR) as h:
        body = {"source": url, "sha256": sha(data)}
        job = (await h.http.post("/v1/registry/downloads", json=body)).json()
        assert (await wait_job(h.http, job["id"]))["bytes_done"] == len(data)


async def test_corrupted_file_fails_cleanly(plugai: Callable[..., Any], files: FileServer) -> None:
    data = payload(MiB, seed=4)
    url = files.add("bad.gguf", data, corrupt=True)
    async with plugai(local=FAST, storage=NO_FLOOR) as h:
        body = {"source": url, "sha256": sha(data)}
        job = (await h.http.post("/v1/registry/downloads", json=body)).json()
        failed = await wait_job(h.http, job["id"], until=("failed",))
        assert "sha256 mismatch" in failed["error"] and "discarded" in failed["error"]
        assert not leftovers(h.app.state.settings.data_dir)
        assert not (h.app.state.settings.data_dir / "models" / "bad").exists()
        assert failed["file_progress"] == [
            {"path": "bad.gguf", "size": MiB, "bytes_done": 0, "state": "failed"}
        ]
        (row,) = (await h.http.get("/v1/registry/models")).json()["data"]  # listed as failed
        assert (row["id"], row["state"], row["error"]) == ("bad", "failed", failed["error"])
        assert row["download"]["id"] == job["id"] and row["download"]["state"] == "failed"
        assert "bad" not in {s.name for s in h.app.state.local.specs()}  # never served
        usage = (await h.http.get("/v1/storage")).json()
        assert usage["used"]["models"] == 0 and usage["evictable"] == []
        removed = (await h.http.delete("/v1/registry/models/bad")).json()
        assert removed == {"id": "bad", "deleted": True, "files_deleted": False}
        assert (await h.http.get("/v1/registry/models")).json()["data"] == []


async def test_same_source_shares_one_job_and_cancel(
    plugai: Callable[..., Any], files: FileServer
) -> None:
    url = files.add("slow.gguf", payload(4 * MiB, seed=5), rate=MiB)
    async with plugai(local=FAST, storage=NO_FLOOR) as h:
        first = (await h.http.post("/v1/registry/downloads", json={"source": url})).json()
        second = (await h.http.post("/v1/registry/downloads", json={"source": url})).json()
        assert first["id"] == second["id"]
        await wait_job(h.http, first["id"], until=("running",))
        cancelled = (await h.http.delete(f"/v1/registry/downloads/{first['id']}")).json()
        assert cancelled["state"] == "cancelled"
        assert not leftovers(h.app.state.settings.data_dir)
        third = (await h.http.post("/v1/registry/downloads", json={"source": url})).json()
        assert third["id"] != first["id"]  # a finished job is not reused
        await h.http.delete(f"/v1/registry/downloads/{third['id']}")


async def test_progress_events_over_sse(plugai: Callable[..., Any], files: FileServer) -> None:
    url = files.add("sse.gguf", payload(2 * MiB, seed=6), rate=4 * MiB)
    async with plugai(local=FAST, storage=NO_FLOOR) as h:
        job = (await h.http.post("/v1/registry/downloads", json={"source": url})).json()
        events: list[dict[str, Any]] = []
        async with h.http.stream("GET", f"/v1/registry/downloads/{job['id']}/events") as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            async for line in r.aiter_lines():
                if line.startswith("data: {"):
                    events.append(json.loads(line[6:]))
        assert events[-1]["state"] == "done" and events[-1]["bytes_done"] == 2 * MiB
        assert events[-1]["file_progress"] == [
            {"path": "sse.gguf", "size": 2 * MiB, "bytes_done": 2 * MiB, "state": "done"}
        ]
        running = [e for e in events if e["state"] == "running" and e["bytes_done"]]
        assert running, events
        assert any(e["rate"] and e["eta_seconds"] is not None for e in running)
        for e in running:  # one file: its counters are the job's
            (f,) = e["file_progress"]
            assert (f["bytes_done"], f["state"]) == (e["bytes_done"], "downloading")
        done = [e["bytes_done"] for e in events]
        assert done == sorted(done)


async def test_bad_requests(plugai: Callable[..., Any], files: FileServer) -> None:
    async with plugai(local=FAST, storage=NO_FLOOR) as h:
        post = h.http.post
        assert_envelope(await post("/v1/registry/downloads", json={"source": "ftp://x/y"}), 400)
        missing = await post(
            "/v1/registry/downloads", json={"source": files.url + "/files/no.gguf"}
        )
        assert_envelope(missing, 404)
        bad_sha = {"source": files.url + "/files/x.gguf", "sha256": "abc"}
        assert_envelope(await post("/v1/registry/downloads", json=bad_sha), 400)
        assert_envelope(await h.http.get("/v1/registry/downloads/dl_nope"), 404)


async def test_hf_download_with_patterns_and_a_gated_repo(
    plugai: Callable[..., Any], hub: FakeHub, tmp_path: Path
) -> None:
    q4 = write_gguf(tmp_path / "q4.gguf").read_bytes() + payload(MiB, seed=7)
    hub.add_repo(
        "org/tiny-GGUF",
        {"tiny-Q4_K_M.gguf": q4, "tiny-Q8_0.gguf": payload(MiB), "README.md": b"# tiny"},
        drop_at=MiB // 2,
    )
    hub.add_repo("org/gated", {"g.gguf": q4}, gated_token="hf_user_token_123")
    local = FAST | {"hf_endpoint": hub.url}
    async with plugai(local=local, storage=NO_FLOOR) as h:
        body = {"source": "hf://org/tiny-GGUF", "files": ["*Q4_K_M.gguf"]}
        job = (await h.http.post("/v1/registry/downloads", json=body)).json()
        assert job["bytes_total"] == len(q4)
        done = await wait_job(h.http, job["id"])
        model = (await h.http.get(f"/v1/registry/models/{done['model']}")).json()
        assert model["id"] == "tiny-Q4_K_M"
        assert model["source"].startswith("hf://org/tiny-GGUF@")
        assert [f["path"] for f in model["files"]] == ["tiny-Q4_K_M.gguf"]
        assert model["files"][0]["sha256"] == sha(q4)
        assert max(hub.range_starts("tiny-Q4_K_M.gguf")) > 0  # resumed

        gated = await h.http.post("/v1/registry/downloads", json={"source": "hf://org/gated"})
        assert "gated" in assert_envelope(gated, 403)["message"]
        put = await h.http.put("/v1/me/keys/huggingface", json={"api_key": "hf_user_token_123"})
        assert put.status_code in (200, 201), put.text
        job = (
            await h.http.post("/v1/registry/downloads", json={"source": "hf://org/gated"})
        ).json()
        assert (await wait_job(h.http, job["id"]))["model"] == "g"
        assert "Bearer hf_user_token_123" in hub.auth

        nothing = {"source": "hf://org/tiny-GGUF", "files": ["*.safetensors"]}
        assert_envelope(await h.http.post("/v1/registry/downloads", json=nothing), 400)


async def test_hf_transformers_repo_keeps_its_layout(
    plugai: Callable[..., Any], hub: FakeHub
) -> None:
    config = json.dumps({"architectures": ["LlamaForCausalLM"], "max_position_embeddings": 512})
    hub.add_repo(
        "org/tiny-llm",
        {"config.json": config.encode(), "model.safetensors": payload(MiB, seed=9)},
    )
    async with plugai(local=FAST | {"hf_endpoint": hub.url}, storage=NO_FLOOR) as h:
        job = await h.http.post("/v1/registry/downloads", json={"source": "hf://org/tiny-llm"})
        done = await wait_job(h.http, job.json()["id"])
        model = (await h.http.get(f"/v1/registry/models/{done['model']}")).json()
        assert (model["format"], model["metadata"]["context_length"]) == ("safetensors", 512)
        assert os.path.isdir(model["path"])
        assert sorted(os.listdir(model["path"])) == ["config.json", "model.safetensors"]
        deleted = (await h.http.delete("/v1/registry/models/tiny-llm")).json()
        assert deleted["files_deleted"] and not os.path.exists(model["path"])


async def test_metrics_count_downloads(plugai: Callable[..., Any], files: FileServer) -> None:
    data = payload(MiB, seed=11)
    url = files.add("metered.gguf", data)
    async with plugai(local=FAST, storage=NO_FLOOR) as h:
        job = (await h.http.post("/v1/registry/downloads", json={"source": url})).json()
        await wait_job(h.http, job["id"])
        await h.http.get("/v1/storage")
        text = (await h.http.get("/metrics")).text
    values = {
        name: float(value)
        for line in text.splitlines()
        if line and not line.startswith("#")
        for name, value in [line.rsplit(" ", 1)]
    }
    assert values["plugai_download_bytes_total"] == len(data)
    assert values['plugai_downloads_total{state="done"}'] == 1
    assert values['plugai_storage_used_bytes{kind="models"}'] == len(data)


async def test_cancel_by_another_process_stops_the_runner(
    plugai: Callable[..., Any], files: FileServer
) -> None:
    from sqlalchemy import update

    from plugai.db.tables import DownloadJob

    url = files.add("elsewhere.gguf", payload(4 * MiB, seed=12), rate=MiB)
    async with plugai(local=FAST | {"stall_timeout": 5}, storage=NO_FLOOR) as h:
        job = (await h.http.post("/v1/registry/downloads", json={"source": url})).json()
        await wait_job(h.http, job["id"], until=("running",))
        async with h.app.state.db.session() as s, s.begin():  # what another worker's DELETE does
            await s.execute(
                update(DownloadJob).where(DownloadJob.id == job["id"]).values(state="cancelled")
            )
        runner = h.app.state.registry.downloads
        for _ in range(60):
            if job["id"] not in runner._tasks:
                break
            await asyncio.sleep(0.1)
        assert job["id"] not in runner._tasks
        assert not leftovers(h.app.state.settings.data_dir)
        assert (await h.http.get("/v1/registry/models")).json()["data"] == []


async def wait_model(
    http: Any, model_id: str, ok: Callable[[dict[str, Any]], bool], timeout: float = 30
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        row: dict[str, Any] = (await http.get(f"/v1/registry/models/{model_id}")).json()
        if ok(row):
            return row
        assert asyncio.get_running_loop().time() < deadline, row
        await asyncio.sleep(0.05)


async def test_a_download_is_listed_with_file_progress_and_served_only_once_ready(
    plugai: Callable[..., Any], hub: FakeHub
) -> None:
    """From the request on, the registry lists the model-to-be as ``downloading`` with
    its job's progress file by file; it is not served, not counted twice against the
    storage and never evictable; once registered it is ``ready`` (and keeps its pin)."""
    from plugai.db.tables import DownloadJob

    config = json.dumps({"architectures": ["LlamaForCausalLM"], "max_position_embeddings": 64})
    weights = payload(2 * MiB, seed=13)
    repo = hub.add_repo(
        "org/slow-llm", {"config.json": config.encode(), "model.safetensors": weights}
    )
    repo.files["model.safetensors"].behaviour.rate = MiB
    sizes = {"config.json": len(config), "model.safetensors": len(weights)}
    async with plugai(local=FAST | {"hf_endpoint": hub.url}, storage=NO_FLOOR) as h:
        job = (
            await h.http.post("/v1/registry/downloads", json={"source": "hf://org/slow-llm"})
        ).json()
        assert {
            f["path"]: (f["size"], f["bytes_done"], f["state"]) for f in job["file_progress"]
        } == {path: (size, 0, "queued") for path, size in sizes.items()}

        def weights_moving(row: dict[str, Any]) -> bool:
            files = {f["path"]: f for f in (row["download"] or {}).get("file_progress", [])}
            return files.get("model.safetensors", {}).get("bytes_done", 0) > 0

        row = await wait_model(h.http, "slow-llm", weights_moving)
        assert (row["state"], row["discovered"], row["format"]) == (
            "downloading",
            False,
            "safetensors",
        )
        assert row["total_size"] == sum(sizes.values())
        assert row["download"]["id"] == job["id"] and row["download"]["state"] == "running"
        files = {f["path"]: f for f in row["download"]["file_progress"]}
        assert files["config.json"]["state"] == "done"
        assert files["config.json"]["bytes_done"] == len(config)
        assert files["model.safetensors"]["state"] == "downloading"
        assert 0 < files["model.safetensors"]["bytes_done"] < len(weights)
        listed = (await h.http.get("/v1/registry/models")).json()["data"]
        assert [(m["id"], m["state"]) for m in listed] == [("slow-llm", "downloading")]

        assert "slow-llm" not in {s.name for s in h.app.state.local.specs()}
        served = {m["id"] for m in (await h.http.get("/v1/models")).json()["data"]}
        assert "local/slow-llm" not in served
        usage = (await h.http.get("/v1/storage")).json()
        assert (usage["used"]["models"], usage["reserved"]) == (0, sum(sizes.values()))
        assert usage["evictable"] == []
        dry = (await h.http.post("/v1/storage/cleanup", json={"dry_run": True})).json()
        assert dry["evicted"] == [] and dry["removed_records"] == []
        pinned = await h.http.patch("/v1/registry/models/slow-llm", json={"pinned": True})
        assert pinned.json()["pinned"] is True and pinned.json()["state"] == "downloading"

        async def persisted() -> dict[str, Any]:  # what another process sees: the job row
            async with h.app.state.db.session() as s:
                stored = await s.get(DownloadJob, job["id"])
                assert stored is not None
                return {f["path"]: f for f in stored.files}

        while (await persisted())["model.safetensors"].get("done", 0) == 0:
            await asyncio.sleep(0.1)

        done = await wait_job(h.http, job["id"])
        assert {f["path"]: (f["bytes_done"], f["state"]) for f in done["file_progress"]} == {
            path: (size, "done") for path, size in sizes.items()
        }
        assert {p: (f["done"], f["state"]) for p, f in (await persisted()).items()} == {
            path: (size, "done") for path, size in sizes.items()
        }
        row = (await h.http.get("/v1/registry/models/slow-llm")).json()
        assert (row["state"], row["pinned"], row["download"]) == ("ready", True, None)
        assert row["total_size"] == sum(sizes.values())
        assert "slow-llm" in {s.name for s in h.app.state.local.specs()}


async def test_deleting_a_downloading_model_cancels_its_download(
    plugai: Callable[..., Any], files: FileServer
) -> None:
    url = files.add("doomed.gguf", payload(4 * MiB, seed=14), rate=MiB)
    async with plugai(local=FAST, storage=NO_FLOOR) as h:
        job = (await h.http.post("/v1/registry/downloads", json={"source": url})).json()
        await wait_job(h.http, job["id"], until=("running",))
        removed = (await h.http.delete("/v1/registry/models/doomed")).json()
        assert removed == {"id": "doomed", "deleted": True, "files_deleted": True}
        assert (await h.http.get(f"/v1/registry/downloads/{job['id']}")).json()["state"] == (
            "cancelled"
        )
        assert (await h.http.get("/v1/registry/models")).json()["data"] == []
        assert not leftovers(h.app.state.settings.data_dir)
