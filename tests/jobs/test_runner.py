"""The job runner on a real database: progress to subscribers and the row, bounded
concurrency, cancel (here and from another worker), failures with their reason, orphans of
a dead process, shutdown."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from plugai.core.errors import Conflict, InvalidRequest, NotFound
from plugai.db.database import Database
from plugai.db.tables import JobRow
from plugai.jobs.metrics import GenerationMetrics
from plugai.jobs.runner import CRASHED, SHUT_DOWN, STOPPED, JobRunner, Progress
from plugai.jobs.store import Job
from tests.artifacts.conftest import Clock, clock, db, users

__all__ = ["clock", "db", "users"]  # fixtures used below
Runners = Callable[..., JobRunner]


@pytest.fixture
async def runners(db: Database) -> AsyncIterator[Runners]:
    """``runners(**kw)`` builds a started runner (one per simulated process)."""
    made: list[JobRunner] = []

    def make(**kw: Any) -> JobRunner:
        kw.setdefault("heartbeat", 0.05)
        runner = JobRunner(db, kw.pop("metrics", GenerationMetrics()), **kw)
        made.append(runner)
        return runner

    yield make
    for runner in made:
        await runner.aclose()


def stepping(n: int, gate: asyncio.Event | None = None, delay: float = 0.0) -> Any:
    async def work(progress: Progress) -> dict[str, Any]:
        if gate is not None:
            await gate.wait()
        for i in range(1, n + 1):
            progress(i, n)
            await asyncio.sleep(delay)
        return {"created": 1, "data": [{"steps": n}], "job": progress.job_id}

    return work


def blocked(seen: list[str]) -> Any:
    async def work(progress: Progress) -> dict[str, Any]:
        progress(1, 10)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        return {}

    return work


async def wait_status(runner: JobRunner, user: str, job_id: str, *statuses: str) -> Job:
    for _ in range(400):
        job = await runner.get(user, job_id)
        if job.status in statuses:
            return job
        await asyncio.sleep(0.01)
    raise AssertionError(f"{job_id} stayed {job.status}")


async def ended(runner: JobRunner, user: str, job_id: str) -> Job:
    """The job's last event (published once everything about its end is recorded)."""
    events = [e async for e in runner.subscribe(user, job_id)]
    return events[-1]


async def test_progress_reaches_subscribers_in_order_and_the_result_is_kept(
    runners: Runners, users: tuple[str, str]
) -> None:
    ann, _ = users
    metrics = GenerationMetrics()
    runner = runners(metrics=metrics)
    gate = asyncio.Event()
    job = await runner.submit(ann, "images", "local/sd", {"prompt": "a cat"}, stepping(5, gate))
    assert (job.status, job.id[:4], job.fraction) == ("queued", "job_", 0.0)
    seen: list[Job] = []

    async def follow() -> None:
        async for event in runner.subscribe(ann, job.id):
            seen.append(event)

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0.05)
    gate.set()
    await asyncio.wait_for(follower, 5)
    assert seen[0].status in ("queued", "running") and seen[-1].status == "succeeded"
    running = [(e.step, e.steps) for e in seen if e.status == "running" and e.steps]
    assert running == [(i, 5) for i in range(1, 6)]  # every step, in order
    final = seen[-1]
    assert final.result == {"created": 1, "data": [{"steps": 5}], "job": job.id}
    assert (final.step, final.steps, final.fraction, final.error) == (5, 5, 1.0, None)
    assert final.started_at is not None and final.finished_at is not None
    stored = await runner.get(ann, job.id)  # from the row now
    assert (stored.status, stored.result) == ("succeeded", final.result)
    assert metrics.jobs.labels("images", "succeeded")._value.get() == 1
    late = [e.status async for e in runner.subscribe(ann, job.id)]
    assert late == ["succeeded"]  # a subscriber after the end gets the end


async def test_the_row_follows_progress_for_other_workers(
    runners: Runners, users: tuple[str, str]
) -> None:
    ann, _ = users
    here, there = runners(), runners()
    job = await here.submit(ann, "3d", "local/shap-e", {}, stepping(40, delay=0.02))
    steps = []
    while (seen := await there.get(ann, job.id)).status != "succeeded":
        steps.append(seen.step)
        await asyncio.sleep(0.05)
    assert steps == sorted(steps) and any(0 < s < 40 for s in steps)  # throttled, monotonic
    follow = [e async for e in there.subscribe(ann, job.id)]  # polls the row: just the end
    assert [e.status for e in follow] == ["succeeded"]


async def test_concurrency_bounds_running_jobs(runners: Runners, users: tuple[str, str]) -> None:
    ann, _ = users
    metrics = GenerationMetrics()
    runner = runners(metrics=metrics, concurrency=1)
    gate = asyncio.Event()
    first = await runner.submit(ann, "images", "m", {}, stepping(2, gate))
    second = await runner.submit(ann, "images", "m", {}, stepping(2))
    await wait_status(runner, ann, first.id, "running")
    assert (await runner.get(ann, second.id)).status == "queued"
    assert metrics.queue_length._value.get() == 1
    gate.set()
    await wait_status(runner, ann, second.id, "succeeded")
    assert metrics.queue_length._value.get() == 0


async def test_cancel_stops_the_work(runners: Runners, users: tuple[str, str]) -> None:
    ann, bob = users
    runner = runners(concurrency=1)
    seen: list[str] = []
    running = await runner.submit(ann, "images", "m", {}, blocked(seen))
    waiting = await runner.submit(ann, "images", "m", {}, stepping(1))
    await wait_status(runner, ann, running.id, "running")
    with pytest.raises(NotFound):
        await runner.cancel(bob, running.id)
    cancelled = await runner.cancel(ann, running.id)
    assert (cancelled.status, seen) == ("cancelled", ["cancelled"])
    assert cancelled.finished_at is not None and cancelled.error is None
    await wait_status(runner, ann, waiting.id, "succeeded")  # the slot was freed
    with pytest.raises(Conflict) as caught:
        await runner.cancel(ann, running.id)
    assert caught.value.status == 409


async def test_a_queued_job_can_be_cancelled(runners: Runners, users: tuple[str, str]) -> None:
    ann, _ = users
    runner = runners(concurrency=1)
    await runner.submit(ann, "images", "m", {}, blocked([]))
    queued = await runner.submit(ann, "images", "m", {}, stepping(1))
    assert (await runner.cancel(ann, queued.id)).status == "cancelled"
    assert (await runner.get(ann, queued.id)).started_at is None


async def test_a_cancel_from_another_worker_stops_the_work(
    runners: Runners, users: tuple[str, str]
) -> None:
    ann, _ = users
    here, there = runners(), runners()
    seen: list[str] = []
    job = await here.submit(ann, "images", "m", {}, blocked(seen))
    await wait_status(here, ann, job.id, "running")
    assert (await there.cancel(ann, job.id)).status == "cancelled"
    for _ in range(200):
        if seen:
            break
        await asyncio.sleep(0.01)
    assert seen == ["cancelled"]  # noticed at the owner's next heartbeat
    assert (await here.get(ann, job.id)).status == "cancelled"


async def test_failures_carry_their_reason(runners: Runners, users: tuple[str, str]) -> None:
    ann, _ = users
    metrics = GenerationMetrics()
    runner = runners(metrics=metrics)

    async def refused(progress: Progress) -> dict[str, Any]:
        raise InvalidRequest("steps must be at most 50", param="steps")

    async def crashed(progress: Progress) -> dict[str, Any]:
        raise RuntimeError("secret internals /home/x/model.bin")

    one = await runner.submit(ann, "images", "m", {}, refused)
    two = await runner.submit(ann, "3d", "m", {}, crashed)
    one = await ended(runner, ann, one.id)
    two = await ended(runner, ann, two.id)
    assert one.status == two.status == "failed"
    assert one.error == {
        "message": "steps must be at most 50",
        "type": "invalid_request_error",
        "param": "steps",
        "code": "invalid_value",
    }
    assert two.error is not None and two.error["message"] == CRASHED
    assert "secret" not in str(two.error) and one.result is None
    assert metrics.jobs.labels("3d", "failed")._value.get() == 1


async def test_progress_may_come_from_a_thread(runners: Runners, users: tuple[str, str]) -> None:
    ann, _ = users
    runner = runners()

    async def threaded(progress: Progress) -> dict[str, Any]:
        def compute() -> None:
            for i in range(1, 4):
                progress.update(i, 3)

        thread = threading.Thread(target=compute)
        thread.start()
        await asyncio.to_thread(thread.join)
        await asyncio.sleep(0.01)  # the hops onto the loop run
        return {}

    job = await runner.submit(ann, "images", "m", {}, threaded)
    done = await wait_status(runner, ann, job.id, "succeeded")
    assert (done.step, done.steps) == (3, 3)


async def test_recover_fails_the_jobs_of_a_dead_process(
    db: Database, runners: Runners, clock: Clock, users: tuple[str, str]
) -> None:
    ann, _ = users
    now = clock()

    def row(job_id: str, status: str, owner: str, beat_ago: float) -> JobRow:
        from datetime import timedelta

        return JobRow(
            id=job_id,
            user_id=ann,
            kind="images",
            model="m",
            request={},
            status=status,
            step=3,
            steps=10,
            owner=owner,
            heartbeat_at=now - timedelta(seconds=beat_ago),
            created_at=now - timedelta(seconds=60),
        )

    async with db.session() as s, s.begin():
        s.add(row("job_dead_running", "running", "host/1/dead", 30))
        s.add(row("job_dead_queued", "queued", "host/1/dead", 30))
        s.add(row("job_alive", "running", "host/2/alive", 1))
        s.add(row("job_done", "succeeded", "host/1/dead", 30))
    metrics = GenerationMetrics()
    runner = runners(metrics=metrics, clock=clock, stale=10)
    await runner.start()  # a restart
    for job_id in ("job_dead_running", "job_dead_queued"):
        job = await runner.get(ann, job_id)
        assert job.status == "failed" and job.error is not None
        assert job.error["message"] == STOPPED and job.finished_at is not None
    assert (await runner.get(ann, "job_alive")).status == "running"  # another live worker's
    assert (await runner.get(ann, "job_done")).status == "succeeded"
    assert metrics.jobs.labels("images", "failed")._value.get() == 2
    clock.advance(20)  # that worker stopped beating too
    assert await runner.recover() == 1
    assert (await runner.get(ann, "job_alive")).status == "failed"


async def test_shutdown_fails_running_and_queued_jobs_with_a_reason(
    db: Database, users: tuple[str, str]
) -> None:
    ann, _ = users
    runner = JobRunner(db, GenerationMetrics(), concurrency=1)
    seen: list[str] = []
    running = await runner.submit(ann, "images", "m", {}, blocked(seen))
    queued = await runner.submit(ann, "images", "m", {}, stepping(1))
    await wait_status(runner, ann, running.id, "running")
    await runner.aclose()
    assert seen == ["cancelled"]
    after = JobRunner(db, GenerationMetrics())
    for job_id in (running.id, queued.id):
        job = await after.get(ann, job_id)
        assert job.status == "failed" and job.error is not None
        assert job.error["message"] == SHUT_DOWN


async def test_pages_are_per_user_and_newest_first(
    runners: Runners, clock: Clock, users: tuple[str, str]
) -> None:
    ann, bob = users
    runner = runners(clock=clock)
    ids = []
    for _ in range(3):
        ids.append((await runner.submit(ann, "images", "m", {}, stepping(1))).id)
        clock.advance(1)
    await runner.submit(bob, "images", "m", {}, stepping(1))
    jobs, more = await runner.page(ann, limit=2)
    assert [j.id for j in jobs] == ids[::-1][:2] and more
    jobs, more = await runner.page(ann, limit=2, after=jobs[-1].id)
    assert [j.id for j in jobs] == [ids[0]] and not more
    with pytest.raises(NotFound):
        await runner.get(bob, ids[0])
