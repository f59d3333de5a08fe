"""`plugai serve` as a real process: first start, restart, and several workers."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx

from tests.server import run_server


def test_first_start_prints_and_saves_admin_key_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with run_server(data) as server:
        out = server.stdout.read_text()
        key_file = data / "admin.key"
        key = key_file.read_text().strip()
        assert key in out
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(data / "master.key").st_mode) == 0o600
        me = httpx.get(f"{server.url}/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert me.json()["role"] == "admin"
        assert httpx.get(f"{server.url}/readyz").status_code == 200
    with run_server(data) as server:  # restart: same admin, key not printed again
        assert key not in server.stdout.read_text()
        me = httpx.get(f"{server.url}/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert me.status_code == 200


def test_admin_key_from_env(tmp_path: Path) -> None:
    key = "sk-plugai-operator-chosen-0123456789"
    with run_server(tmp_path / "data", env={"PLUGAI_ADMIN_KEY": key}) as server:
        assert key not in server.output()
        assert not (tmp_path / "data" / "admin.key").exists()
        me = httpx.get(f"{server.url}/v1/me", headers={"x-api-key": key})
        assert me.json()["role"] == "admin"


def test_several_workers_share_the_database_and_metrics(tmp_path: Path) -> None:
    key = "sk-plugai-workers-0123456789"
    with run_server(tmp_path / "data", "--workers", "2", env={"PLUGAI_ADMIN_KEY": key}) as server:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.url, headers=headers) as c:
            for _ in range(20):
                assert c.get("/v1/me").status_code == 200
            created = c.post("/v1/admin/users", json={"name": "w"})
            assert created.status_code == 201
            metrics = c.get("/metrics").text
        line = next(
            ln
            for ln in metrics.splitlines()
            if ln.startswith('plugai_http_requests_total{method="GET",route="/v1/me",status="200"}')
        )
        assert float(line.rsplit(" ", 1)[1]) == 20.0
