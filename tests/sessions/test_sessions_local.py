"""A session outlives its local model process: after an explicit unload or a keep-alive
spindown the model reloads and carries on with the full stored history."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.local.conftest import needs_local

pytestmark = needs_local


async def _turn(h: Any, sid: str, text: str, **extra: Any) -> dict[str, Any]:
    r: httpx.Response = await h.http.post(
        "/v1/chat/completions",
        json={
            "model": "local/tiny",
            "messages": [{"role": "user", "content": text}],
            "max_tokens": 8,
            "session_id": sid,
            **extra,
        },
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _pids(h: Any) -> list[int]:
    return [row["pid"] for row in (await h.http.get("/v1/registry/loaded")).json()["data"]]


async def test_session_continues_after_unload_and_spindown(
    plugai: Callable[..., Any], model_dir: Path
) -> None:
    async with plugai(local={"model_dirs": [str(model_dir)]}) as h:
        sid = (await h.http.post("/v1/sessions", json={"system_prompt": "Be brief."})).json()["id"]
        first = await _turn(h, sid, "hello there")
        (pid_before,) = await _pids(h)
        unloaded = await h.http.post("/v1/registry/models/local/tiny/unload")
        assert unloaded.json()["unloaded"] is True
        assert await _pids(h) == []
        second = await _turn(h, sid, "hello there", keep_alive=0)  # spins down after this turn
        for _ in range(100):
            if not await _pids(h):
                break
            await asyncio.sleep(0.05)
        assert await _pids(h) == []
        third = await _turn(h, sid, "hello there")
        (pid_after,) = await _pids(h)
        stored = (await h.http.get(f"/v1/sessions/{sid}")).json()
    assert pid_after != pid_before
    # the same new message each time: the prompt grows by the stored turns only
    assert second["usage"]["prompt_tokens"] > first["usage"]["prompt_tokens"]
    assert third["usage"]["prompt_tokens"] > second["usage"]["prompt_tokens"]
    assert stored["message_count"] == 6
    assert [m["role"] for m in stored["messages"]["data"]] == ["user", "assistant"] * 3
    assert all(m["model"] == "local/tiny" for m in stored["messages"]["data"])
