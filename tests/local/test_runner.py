"""A remote runner: ``plugai runner`` in its own process serving a folder of models, and a
gateway that has it as a ``type: runner`` provider."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY
from tests.local.conftest import needs_local
from tests.server import free_port

pytestmark = needs_local
RUNNER_KEY = "sk-plugai-runner-admin-key-0123456789abcdef"
MSG = [{"role": "user", "content": "Say hello."}]


@pytest.fixture
def runner_url(model_dir: Path, tmp_path: Path) -> Iterator[str]:
    """``plugai runner MODEL_DIR`` as a real process (its own database and admin key)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGAI_")}
    env["PLUGAI_ADMIN_KEY"] = RUNNER_KEY
    log = tmp_path / "runner.log"
    cmd = [sys.executable, "-m", "plugai", "runner", str(model_dir), "--port", str(port)]
    cmd += ["--data-dir", str(tmp_path / "runner-data"), "--log-level", "warning"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


async def test_gateway_serves_a_remote_runners_models(
    plugai: Callable[..., Any], runner_url: str
) -> None:
    provider = {"name": "gpu", "type": "runner", "base_url": f"{runner_url}/v1"}
    async with plugai(providers=[{**provider, "api_key": RUNNER_KEY}]) as h:
        ids = {m.id async for m in h.openai.models.list()}
        card = (await h.http.get("/v1/models/gpu/local/tiny")).json()
        reply = await h.openai.chat.completions.create(
            model="gpu/local/tiny", messages=MSG, max_tokens=4, extra_body={"top_k": 5}
        )
        stream = await h.openai.chat.completions.create(
            model="gpu/local/tiny", messages=MSG, max_tokens=4, stream=True
        )
        chunks = [c async for c in stream]
        vectors = await h.openai.embeddings.create(model="gpu/local/tiny", input="fox")
        bad = await h.http.post(
            "/v1/chat/completions", json={"model": "gpu/local/tiny", "messages": MSG, "n": 3}
        )
    assert {"gpu/local/tiny", "gpu/local/tiny-hf"} <= ids
    assert "min_p" in card["parameters"]["properties"]
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    assert len(vectors.data[0].embedding) == 32
    assert bad.status_code == 400
    loaded = httpx.get(
        f"{runner_url}/v1/registry/loaded", headers={"Authorization": f"Bearer {RUNNER_KEY}"}
    ).json()["data"]
    assert [m["id"] for m in loaded] == ["local/tiny"]  # loaded where the runner runs


def test_runner_needs_base_url_and_workers_need_a_runner(
    make_settings: Callable[..., Any], model_dir: Path
) -> None:
    from plugai.core.errors import ConfigError
    from plugai.providers.registry import default_registry
    from plugai.settings import ProviderSettings

    with pytest.raises(ConfigError, match="base_url is required"):
        default_registry().build(ProviderSettings(name="gpu", type="runner", api_key=ADMIN_KEY))
    with pytest.raises(ConfigError, match="plugai runner"):
        make_settings(local={"model_dirs": [str(model_dir)]}, server={"workers": 2})
