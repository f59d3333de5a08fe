"""A real ``plugai serve`` process killed with SIGKILL mid-download: after a restart the
job resumes at once (the dead process's lock on it is gone; the heartbeat window is not
waited for) from the bytes on disk (an HTTP Range request, not from zero) and finishes
with the right sha256. In-process: which running jobs go back to the queue, and when."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.catalog.conftest import FAST, NO_FLOOR, wait_job
from tests.catalog.servers import FileServer
from tests.conftest import ADMIN_KEY
from tests.server import run_server

MiB = 1024 * 1024


def wait(client: httpx.Client, job_id: str, ok: Any, timeout: float = 40) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/v1/registry/downloads/{job_id}").json()
        if ok(job):
            return job
        assert job["state"] not in ("failed", "cancelled"), job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_sigkill_mid_download_then_resume(files: FileServer, tmp_path: Path) -> None:
    data = os.urandom(3 * MiB)
    url = files.add("killme.gguf", data, rate=MiB)
    data_dir = tmp_path / "data"
    env = {
        "PLUGAI_ADMIN_KEY": ADMIN_KEY,
        "PLUGAI_LOCAL__STALL_TIMEOUT": "2",
        # the heartbeat window never runs out here: only the lock can give the job back
        "PLUGAI_LOCAL__DOWNLOAD_STALE": "600",
        "PLUGAI_STORAGE__MIN_FREE_DISK": "0",
        "HF_HUB_CACHE": str(tmp_path / "empty-hf-cache"),
    }
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with run_server(data_dir, env=env) as server:
        with httpx.Client(base_url=server.url, headers=headers) as c:
            body = {"source": url, "sha256": hashlib.sha256(data).hexdigest()}
            job = c.post("/v1/registry/downloads", json=body).json()
            wait(c, job["id"], lambda j: j["bytes_done"] >= MiB)
        server.proc.kill()
        server.proc.wait()
    part = data_dir / "models" / ".partial" / job["id"] / "killme.gguf.part"
    on_disk = part.stat().st_size
    assert MiB // 2 <= on_disk < len(data)
    with sqlite3.connect(data_dir / "plugai.db") as db:  # progress is kept with the job
        state, stored = db.execute(
            "SELECT state, files FROM download_jobs WHERE id = ?", (job["id"],)
        ).fetchone()
    (file,) = json.loads(stored)
    assert (state, file["path"], file["state"]) == ("running", "killme.gguf", "downloading")
    assert file["done"] <= on_disk  # as of the last heartbeat

    with run_server(data_dir, env=env) as server:
        with httpx.Client(base_url=server.url, headers=headers) as c:
            done = wait(c, job["id"], lambda j: j["state"] == "done")
            model = c.get(f"/v1/registry/models/{done['model']}").json()
    assert files.range_starts("killme.gguf")[-1] == on_disk  # resumed, not restarted
    assert Path(model["path"]).read_bytes() == data
    assert model["files"][0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert not part.exists()


async def test_running_jobs_go_back_to_the_queue_by_lock_or_by_heartbeat(
    plugai: Callable[..., Any], files: FileServer
) -> None:
    """A running job this process does not run is queued again (and resumed) at once when
    its lock can be taken, never while a process holds the lock (however late its
    heartbeat), and, without a lock on this data dir (a runner on another machine), once
    its heartbeat is older than ``local.download_stale``."""
    from plugai.catalog.downloader import JobLock
    from plugai.catalog.fetch import RemoteFile
    from plugai.db.tables import DownloadJob, utcnow

    blobs = {name: os.urandom(64 * 1024) for name in ("held", "nolock")}
    urls = {name: files.add(f"{name}.gguf", data) for name, data in blobs.items()}
    async with plugai(local=FAST | {"download_stale": 2}, storage=NO_FLOOR) as h:
        partial = h.app.state.settings.data_dir / "models" / ".partial"

        async def running(name: str, beat_ago: float) -> str:
            """A job left ``running`` by some other process."""
            remote = RemoteFile(f"{name}.gguf", urls[name], len(blobs[name]))
            job = DownloadJob(
                id=f"dl_{name}",
                source=urls[name],
                name=name,
                state="running",
                files=[remote.to_json()],
                bytes_total=len(blobs[name]),
                patterns=[],
                updated_at=utcnow() - timedelta(seconds=beat_ago),
            )
            async with h.app.state.db.session() as s, s.begin():
                s.add(job)
            return job.id

        def state(job_id: str) -> Any:
            return h.http.get(f"/v1/registry/downloads/{job_id}")

        # a live runner elsewhere holds the lock: its late heartbeat does not matter
        lock = JobLock(partial / "dl_held.lock")
        assert lock.take()
        held = await running("held", beat_ago=60)
        # no lock on this data dir and a fresh heartbeat: it waits for download_stale
        nolock = await running("nolock", beat_ago=0)
        await asyncio.sleep(1.0)  # a few dispatch rounds
        assert (await state(held)).json()["state"] == "running"
        assert (await state(nolock)).json()["state"] == "running"

        lock.release()  # the other process died: its job goes back at once, and finishes
        assert (await wait_job(h.http, held, timeout=10))["model"] == "held"
        done = await wait_job(h.http, nolock, timeout=20)
        assert done["model"] == "nolock" and done["attempts"] == 0
        assert not list(partial.iterdir())  # no lock file or partial folder stays
