"""A real ``plugai serve`` process killed with SIGKILL mid-download: after a restart the
job resumes from the bytes on disk (an HTTP Range request, not from zero) and finishes
with the right sha256."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import httpx

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

    with run_server(data_dir, env=env) as server:
        with httpx.Client(base_url=server.url, headers=headers) as c:
            done = wait(c, job["id"], lambda j: j["state"] == "done")
            model = c.get(f"/v1/registry/models/{done['model']}").json()
    assert files.range_starts("killme.gguf")[-1] == on_disk  # resumed, not restarted
    assert Path(model["path"]).read_bytes() == data
    assert model["files"][0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert not part.exists()
