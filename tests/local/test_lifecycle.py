"""Load on first use, keep-alive spindown, eviction, the bounded queue, crashed and
unloaded workers — what a user sees through the API."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import ADMIN_KEY
from tests.live import live_server
from tests.local.conftest import needs_local

pytestmark = needs_local
MSG = [{"role": "user", "content": "Tell me a long story."}]
LONG = 400  # tokens: seconds of generation here, long enough to act meanwhile


def local(model_dir: Path, **extra: Any) -> dict[str, Any]:
    return {"local": {"model_dirs": [str(model_dir)], **extra}}


@pytest.fixture(scope="module")
def no_eos(tiny_hf: Path) -> dict[str, float]:
    """A logit bias that bans the special tokens (llama.cpp ends at any of them), so that a
    generation runs to max_tokens."""
    vocab = json.loads((tiny_hf / "tokenizer.json").read_text())
    return {str(t["id"]): -100.0 for t in vocab["added_tokens"]}


def long_body(no_eos: dict[str, float], **extra: Any) -> dict[str, Any]:
    return {
        "model": "local/tiny",
        "messages": MSG,
        "max_tokens": LONG,
        "logit_bias": no_eos,
        **extra,
    }


async def loaded(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    r = await http.get("/v1/registry/loaded")
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


async def wait_busy(http: httpx.AsyncClient, model: str = "local/tiny") -> dict[str, Any]:
    """Until ``model`` is loaded and has a request running."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for row in await loaded(http):
            if row["id"] == model and row["busy"]:
                await asyncio.sleep(0.2)  # into the generation proper
                return row
        await asyncio.sleep(0.02)
    raise AssertionError(f"{model} never got busy")


async def chat(h: Any, **body: Any) -> httpx.Response:
    r: httpx.Response = await h.http.post("/v1/chat/completions", json=body)
    return r


async def test_keep_alive_expires(plugai: Callable[..., Any], model_dir: Path) -> None:
    async with plugai(**local(model_dir, keep_alive="1s")) as h:
        r = await chat(h, model="local/tiny", messages=MSG, max_tokens=2)
        assert r.status_code == 200
        [row] = await loaded(h.http)
        assert row["busy"] == 0 and row["expires_at"] is not None
        await asyncio.sleep(2.0)
        assert await loaded(h.http) == []
        with pytest.raises(ProcessLookupError):
            os.kill(row["pid"], 0)


async def test_request_keep_alive_zero_and_server_maximum(
    plugai: Callable[..., Any], model_dir: Path
) -> None:
    async with plugai(**local(model_dir, keep_alive="1h")) as h:
        r = await chat(h, model="local/tiny", messages=MSG, max_tokens=2, keep_alive=0)
        assert r.status_code == 200
        await asyncio.sleep(0.5)
        assert await loaded(h.http) == []
        # asking for more than the server allows gets the server's maximum
        await chat(h, model="local/tiny", messages=MSG, max_tokens=2, keep_alive=-1)
        [row] = await loaded(h.http)
        assert row["expires_at"] is not None
        bad = await chat(h, model="local/tiny", messages=MSG, keep_alive="soon")
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "keep_alive"


async def test_max_loaded_evicts_least_recently_used(
    plugai: Callable[..., Any], model_dir: Path
) -> None:
    async with plugai(**local(model_dir, max_loaded=1)) as h:
        await chat(h, model="local/tiny", messages=MSG, max_tokens=2)
        [first] = await loaded(h.http)
        await chat(h, model="local/tiny-b", messages=MSG, max_tokens=2)
        rows = await loaded(h.http)
    assert [r["id"] for r in rows] == ["local/tiny-b"]
    with pytest.raises(ProcessLookupError):
        os.kill(first["pid"], 0)


async def test_memory_budget_evicts_least_recently_used(
    plugai: Callable[..., Any], model_dir: Path, tiny_gguf: Path
) -> None:
    """A budget one model fits in: loading the second unloads the first (max_loaded alone
    would keep both); a model larger than the whole budget is refused, saying so."""
    budget = tiny_gguf.stat().st_size * 3 // 2  # a worker's resident memory is far more
    async with plugai(**local(model_dir, memory_budget=budget)) as h:
        await chat(h, model="local/tiny", messages=MSG, max_tokens=2)
        await chat(h, model="local/tiny-b", messages=MSG, max_tokens=2)
        rows = await loaded(h.http)
    assert [r["id"] for r in rows] == ["local/tiny-b"]
    async with plugai(**local(model_dir, memory_budget=1000)) as h:
        refused = await chat(h, model="local/tiny", messages=MSG, max_tokens=2)
    assert refused.status_code == 503
    error = refused.json()["error"]
    assert error["code"] == "local_memory_budget" and "memory_budget" in error["message"]


async def test_full_queue_is_503_with_retry_after(
    plugai: Callable[..., Any], model_dir: Path, no_eos: dict[str, float]
) -> None:
    async with plugai(**local(model_dir, queue_size=0)) as h:
        running = asyncio.create_task(chat(h, **long_body(no_eos)))
        await wait_busy(h.http)
        refused = await chat(h, model="local/tiny", messages=MSG, max_tokens=2)
        await h.http.post("/v1/registry/models/local/tiny/unload")
        await running
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "local_queue_full"
    assert int(refused.headers["Retry-After"]) >= 1


async def test_killed_worker_fails_request_then_recovers(
    plugai: Callable[..., Any], model_dir: Path, no_eos: dict[str, float]
) -> None:
    async with plugai(**local(model_dir)) as h:
        running = asyncio.create_task(chat(h, **long_body(no_eos)))
        row = await wait_busy(h.http)
        os.kill(row["pid"], signal.SIGKILL)
        failed = await asyncio.wait_for(running, 10)
        assert failed.status_code == 503
        error = failed.json()["error"]
        assert error["code"] == "local_worker_crashed" and "SIGKILL" in error["message"]
        assert await loaded(h.http) == []  # reaped
        again = await h.openai.chat.completions.create(
            model="local/tiny", messages=MSG, max_tokens=2
        )
        assert again.choices[0].finish_reason in ("stop", "length")
        [fresh] = await loaded(h.http)
    assert fresh["pid"] != row["pid"]


async def test_unload_during_request(
    plugai: Callable[..., Any], model_dir: Path, no_eos: dict[str, float]
) -> None:
    async with plugai(**local(model_dir)) as h:
        running = asyncio.create_task(chat(h, **long_body(no_eos)))
        row = await wait_busy(h.http)
        r = await h.http.post("/v1/registry/models/local/tiny/unload")
        assert r.json() == {"id": "local/tiny", "unloaded": True}
        failed = await asyncio.wait_for(running, 10)
        again = await h.http.post("/v1/registry/models/local/tiny/unload")
    assert failed.status_code == 503
    assert failed.json()["error"]["code"] == "local_model_unloaded"
    assert again.json()["unloaded"] is False
    with pytest.raises(ProcessLookupError):
        os.kill(row["pid"], 0)


async def test_admin_load_pins_and_needs_admin(plugai: Callable[..., Any], model_dir: Path) -> None:
    async with plugai(**local(model_dir, keep_alive=-1)) as h:
        r = await h.http.post("/v1/registry/models/local/tiny/load", json={"keep_alive": -1})
        assert r.status_code == 200, r.text
        assert r.json()["id"] == "local/tiny" and r.json()["expires_at"] is None
        missing = await h.http.post("/v1/registry/models/local/nope/load")
        anonymous = await h.http.get("/v1/registry/loaded", headers={"Authorization": ""})
    assert missing.status_code == 404
    assert anonymous.status_code == 401


def test_stream_killed_and_healthz_fast(
    make_settings: Callable[..., Any], model_dir: Path, no_eos: dict[str, float]
) -> None:
    """Over real sockets: /healthz answers fast while a model generates, and a worker
    killed mid-stream ends the stream with an error event instead of a hang."""
    settings = make_settings(**local(model_dir))
    with live_server(settings) as url:
        client = openai.OpenAI(api_key=ADMIN_KEY, base_url=f"{url}/v1", max_retries=0)
        admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        stream = client.chat.completions.create(stream=True, **long_body(no_eos))
        pieces = iter(stream)
        for _ in range(5):
            next(pieces)
        timings = []
        for _ in range(10):
            started = time.perf_counter()
            assert admin.get("/healthz").status_code == 200
            timings.append(time.perf_counter() - started)
        [row] = admin.get("/v1/registry/loaded").json()["data"]
        assert row["busy"] == 1  # still generating while /healthz answered
        os.kill(row["pid"], signal.SIGKILL)
        with pytest.raises(openai.APIError, match="stopped during this request"):
            for _ in pieces:
                pass
        admin.close()
    assert max(timings) < 0.1, timings


def test_models_ps_prints_loaded(
    make_settings: Callable[..., Any], model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from plugai.cli import main

    with live_server(make_settings(**local(model_dir))) as url:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        assert httpx.post(f"{url}/v1/registry/models/tiny/load", headers=headers).is_success
        monkeypatch.setenv("PLUGAI_BASE_URL", url)
        monkeypatch.setenv("PLUGAI_API_KEY", ADMIN_KEY)
        result = CliRunner().invoke(main, ["models", "ps"])
        monkeypatch.setenv("PLUGAI_API_KEY", "sk-wrong")
        refused = CliRunner().invoke(main, ["models", "ps"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["MODEL", "PID", "MEMORY", "DEVICE"]
    assert lines[1].startswith("local/tiny ") and " cpu " in lines[1] and "MB" in lines[1]
    assert refused.exit_code == 1 and "401" in refused.output


def test_client_gone_cancels_generation(
    make_settings: Callable[..., Any], model_dir: Path, no_eos: dict[str, float]
) -> None:
    """A client that hangs up mid-stream frees the model at once (the worker stops between
    tokens) instead of generating the rest for nobody."""
    with live_server(make_settings(**local(model_dir, queue_size=0))) as url:
        client = openai.OpenAI(api_key=ADMIN_KEY, base_url=f"{url}/v1", max_retries=0)
        stream = client.chat.completions.create(stream=True, **long_body(no_eos))
        pieces = iter(stream)
        for _ in range(3):
            next(pieces)
        started = time.perf_counter()
        stream.close()
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        body = {"model": "local/tiny", "messages": MSG, "max_tokens": 2}
        deadline = time.monotonic() + 10
        # the next request gets the model once the old generation has stopped (503 before)
        r = http.post("/v1/chat/completions", json=body)
        while r.status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.05)
            r = http.post("/v1/chat/completions", json=body)
        waited = time.perf_counter() - started
        http.close()
    assert r.status_code == 200, r.text
    assert waited < 2.0, waited  # the 400-token generation would take several seconds more
