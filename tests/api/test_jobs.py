"""``/v1/jobs`` on a running app, with work functions written here that report steps:
the job object, progress as server-sent events (monotonic, ending with the result), cancel,
failures with their reason, jobs left behind by a stopped server, metrics; another user's
job is a 404."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest

from plugai.api.routes import jobs as job_routes
from plugai.core.errors import UpstreamUnavailable
from plugai.db.tables import JobRow
from plugai.jobs.runner import CRASHED, SHUT_DOWN, STOPPED, JobRunner, Progress
from plugai.security.principal import Role
from tests.conftest import Harness, assert_envelope

Work = Callable[[Progress], Any]


def runner_of(h: Harness) -> JobRunner:
    runner: JobRunner = h.app.state.jobs
    return runner


async def me(h: Harness) -> str:
    user_id: str = (await h.http.get("/v1/me")).json()["id"]
    return user_id


def stepping(n: int, gate: asyncio.Event, delay: float = 0.01) -> Work:
    async def work(progress: Progress) -> dict[str, Any]:
        await gate.wait()
        for i in range(1, n + 1):
            progress(i, n)
            await asyncio.sleep(delay)
        return {"created": 1, "data": [{"b64_json": "AAAA"}]}

    return work


def parse_sse(text: str) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    """(event name, data) of each event, and how many ``: ping`` comments came."""
    events, pings = [], 0
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        if block.startswith(":"):
            pings += 1
            continue
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events, pings


@pytest.fixture
async def h(plugai: Callable[..., Any]) -> AsyncIterator[Harness]:
    async with plugai() as harness:
        yield harness


async def test_job_object_and_event_stream(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_routes, "PING", 0.05)
    gate = asyncio.Event()
    job = await runner_of(h).submit(
        await me(h), "images", "local/sd", {"prompt": "a cat"}, stepping(6, gate)
    )
    body = (await h.http.get(f"/v1/jobs/{job.id}")).json()
    assert body == {
        "id": job.id,
        "object": "generation.job",
        "kind": "images",
        "model": "local/sd",
        "status": body["status"],
        "progress": {
            "step": 0,
            "steps": 0,
            "fraction": body["progress"]["fraction"],
            "eta_seconds": None,
        },
        "result": None,
        "error": None,
        "created_at": body["created_at"],
        "started_at": body["started_at"],
        "finished_at": None,
    }
    assert body["status"] in ("queued", "running")

    async def open_gate() -> None:
        await asyncio.sleep(0.2)  # a few pings first
        gate.set()

    opener = asyncio.create_task(open_gate())
    stream = await h.http.get(f"/v1/jobs/{job.id}/events")
    await opener
    assert stream.status_code == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    events, pings = parse_sse(stream.text)
    assert pings >= 1
    names = [name for name, _ in events]
    assert set(names[:-1]) == {"progress"} and names[-1] == "succeeded"
    steps = [data["progress"]["step"] for _, data in events]
    assert steps == sorted(steps) and steps[-1] == 6
    running = [d["progress"]["step"] for name, d in events if name == "progress"]
    assert [s for s in running if s] == list(range(1, 7))  # every step
    fractions = [d["progress"]["fraction"] for _, d in events if d["progress"]["steps"]]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(d["progress"]["eta_seconds"] is not None for _, d in events[1:-1])
    last = events[-1][1]
    assert last["status"] == "succeeded"
    assert last["result"] == {"created": 1, "data": [{"b64_json": "AAAA"}]}
    assert last["finished_at"] >= last["started_at"] >= last["created_at"]
    again = await h.http.get(f"/v1/jobs/{job.id}/events")  # an ended job: one event
    assert [name for name, _ in parse_sse(again.text)[0]] == ["succeeded"]
    metrics = (await h.http.get("/metrics")).text
    assert 'plugai_generation_jobs_total{kind="images",status="succeeded"} 1.0' in metrics
    assert "plugai_generation_queue_length 0.0" in metrics


async def test_cancel_through_the_api(h: Harness) -> None:
    seen: list[str] = []

    async def forever(progress: Progress) -> dict[str, Any]:
        progress(1, 50)
        try:
            await asyncio.Event().wait()
        finally:
            seen.append("stopped")
        return {}

    job = await runner_of(h).submit(await me(h), "3d", "local/shap-e", {}, forever)
    for _ in range(100):
        if (await h.http.get(f"/v1/jobs/{job.id}")).json()["status"] == "running":
            break
        await asyncio.sleep(0.01)
    cancelled = await h.http.post(f"/v1/jobs/{job.id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert seen == ["stopped"]
    events = parse_sse((await h.http.get(f"/v1/jobs/{job.id}/events")).text)[0]
    assert [name for name, _ in events] == ["cancelled"]
    error = assert_envelope(await h.http.post(f"/v1/jobs/{job.id}/cancel"), 409, param="id")
    assert "cancelled" in error["message"]


async def test_failures_carry_a_reason_and_no_internals(h: Harness) -> None:
    async def crashed_worker(progress: Progress) -> dict[str, Any]:
        progress(2, 10)
        raise UpstreamUnavailable("The local model's worker process died (exit code -9).")

    async def bug(progress: Progress) -> dict[str, Any]:
        raise KeyError("/srv/secret/path")

    user = await me(h)
    one = await runner_of(h).submit(user, "images", "local/sd", {}, crashed_worker)
    two = await runner_of(h).submit(user, "images", "local/sd", {}, bug)
    for job_id in (one.id, two.id):
        events = parse_sse((await h.http.get(f"/v1/jobs/{job_id}/events")).text)[0]
        assert events[-1][0] == "failed"
    first = (await h.http.get(f"/v1/jobs/{one.id}")).json()
    assert first["error"] == {
        "message": "The local model's worker process died (exit code -9).",
        "type": "upstream_error",
        "param": None,
        "code": "upstream_unavailable",
    }
    assert first["result"] is None and first["progress"]["step"] == 2
    second = (await h.http.get(f"/v1/jobs/{two.id}")).json()
    assert second["error"]["message"] == CRASHED and "secret" not in json.dumps(second)


async def test_another_users_job_is_404(h: Harness) -> None:
    gate = asyncio.Event()
    job = await runner_of(h).submit(await me(h), "images", "m", {}, stepping(1, gate))
    _, issued = await h.app.state.users.create_user("bob", Role.USER)
    bob = {"Authorization": f"Bearer {issued.token}"}
    for method, path in (
        ("GET", f"/v1/jobs/{job.id}"),
        ("GET", f"/v1/jobs/{job.id}/events"),
        ("POST", f"/v1/jobs/{job.id}/cancel"),
    ):
        assert_envelope(await h.http.request(method, path, headers=bob), 404, param="id")
    assert (await h.http.get("/v1/jobs", headers=bob)).json()["data"] == []
    gate.set()
    mine = (await h.http.get("/v1/jobs")).json()
    assert [j["id"] for j in mine["data"]] == [job.id] and mine["has_more"] is False
    assert (mine["first_id"], mine["last_id"]) == (job.id, job.id)
    assert_envelope(await h.http.get("/v1/jobs", params={"limit": 0}), 400, param="limit")


async def test_result_links_are_signed_afresh(h: Harness) -> None:
    user = await me(h)
    store = h.app.state.artifacts
    row = await store.save_bytes(user, b"\x89PNG\r\n\x1a\nxyz", kind="image", mime="image/png")
    old = f"http://plugai/v1/artifacts/{row.id}?expires=1&signature=expired"

    async def done(progress: Progress) -> dict[str, Any]:
        return {"created": 1, "data": [{"artifact_id": row.id, "url": old}]}

    job = await runner_of(h).submit(user, "images", "m", {}, done)
    parse_sse((await h.http.get(f"/v1/jobs/{job.id}/events")).text)
    url = (await h.http.get(f"/v1/jobs/{job.id}")).json()["result"]["data"][0]["url"]
    assert url != old and url.startswith(f"http://plugai/v1/artifacts/{row.id}?")
    got = await h.http.get(url, headers={"Authorization": ""})
    assert got.status_code == 200 and got.content.endswith(b"xyz")


async def test_jobs_of_a_stopped_server_fail_with_a_reason(plugai: Callable[..., Any]) -> None:
    async def forever(progress: Progress) -> dict[str, Any]:
        await asyncio.Event().wait()
        return {}

    async with plugai() as h:
        user = await me(h)
        running = await runner_of(h).submit(user, "images", "m", {}, forever)
        now = runner_of(h).clock()
        async with h.app.state.db.session() as s, s.begin():  # a crashed process's job
            s.add(
                JobRow(
                    id="job_orphan",
                    user_id=user,
                    kind="3d",
                    model="local/shap-e",
                    request={"prompt": "a chair"},
                    status="running",
                    step=4,
                    steps=64,
                    owner="elsewhere/4242/gone",
                    heartbeat_at=now - timedelta(minutes=5),
                    created_at=now - timedelta(minutes=6),
                    started_at=now - timedelta(minutes=6),
                )
            )
    async with plugai() as h:  # the restart
        shut = (await h.http.get(f"/v1/jobs/{running.id}")).json()
        assert shut["status"] == "failed" and shut["error"]["message"] == SHUT_DOWN
        orphan = (await h.http.get("/v1/jobs/job_orphan")).json()
        assert orphan["status"] == "failed" and orphan["error"]["message"] == STOPPED
        assert orphan["progress"]["step"] == 4 and orphan["finished_at"] is not None
