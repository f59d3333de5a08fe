"""A model pulled from the (fake) hub answers through /v1/chat/completions on the local
runner, and storage never evicts or deletes it while it is loaded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.catalog.conftest import FAST, NO_FLOOR, wait_job
from tests.catalog.servers import FakeHub
from tests.conftest import assert_envelope
from tests.local.conftest import needs_local, tiny_gguf, tiny_hf

pytestmark = needs_local


async def wait_for(get: Callable[[], Any], key: str, timeout: float = 5.0) -> dict[str, Any]:
    """The JSON object ``get`` answers, once ``key`` in it is set (or at the timeout)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body: dict[str, Any] = (await get()).json()
        if body.get(key) is not None or asyncio.get_running_loop().time() > deadline:
            return body
        await asyncio.sleep(0.05)


__all__ = ["tiny_gguf", "tiny_hf"]


async def test_pulled_model_serves_and_is_never_evicted_while_loaded(
    plugai: Callable[..., Any], hub: FakeHub, tiny_gguf: Path
) -> None:
    hub.add_repo("org/tiny-GGUF", {"tiny-Q8_0.gguf": tiny_gguf.read_bytes()})
    local = FAST | {"hf_endpoint": hub.url}
    async with plugai(local=local, storage=NO_FLOOR | {"limit": "1 TB"}) as h:
        job = await h.http.post("/v1/registry/downloads", json={"source": "hf://org/tiny-GGUF"})
        done = await wait_job(h.http, job.json()["id"])
        assert done["model"] == "tiny-Q8_0"
        reply = await h.openai.chat.completions.create(
            model="local/tiny-Q8_0",
            messages=[{"role": "user", "content": "Say hello."}],
            max_tokens=4,
            extra_body={"keep_alive": -1},
        )
        assert isinstance(reply.choices[0].message.content, str)
        row = await wait_for(lambda: h.http.get("/v1/registry/models/tiny-Q8_0"), "last_used_at")
        assert row["last_used_at"] is not None  # the use is recorded (off the request path)
        usage = (await h.http.get("/v1/storage")).json()
        assert "tiny-Q8_0" not in usage["evictable"]  # loaded
        assert_envelope(await h.http.delete("/v1/registry/models/tiny-Q8_0"), 409)
        await h.http.post("/v1/registry/models/local/tiny-Q8_0/unload")
        assert (await h.http.get("/v1/storage")).json()["evictable"] == ["tiny-Q8_0"]
