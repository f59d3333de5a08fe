"""Loopback file server and fake hub, and a helper to wait for a download job."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.catalog.servers import FakeHub, FileServer, running


@pytest.fixture
def files() -> Iterator[FileServer]:
    with running(FileServer()) as server:
        yield server


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with running(FakeHub()) as server:
        yield server


FAST: dict[str, Any] = {"stall_timeout": 0.5, "download_retries": 3}
NO_FLOOR = {"min_free_disk": 0}


async def wait_job(
    http: httpx.AsyncClient, job_id: str, until: tuple[str, ...] = ("done",), timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = (await http.get(f"/v1/registry/downloads/{job_id}")).json()
        if job["state"] in until:
            return job
        if job["state"] in ("done", "failed", "cancelled") or time.monotonic() > deadline:
            raise AssertionError(f"job ended as {job}")
        await asyncio.sleep(0.05)
