"""``client.registry``: load, list and unload the server's local models (tiny GGUF model
built by the local-runner fixtures, served by a real worker process)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from plugai_client import AsyncPlugAI, NotFoundError, PlugAI

from plugai.settings import Settings
from tests.conftest import ADMIN_KEY
from tests.live import live_server
from tests.local.conftest import model_dir, needs_local, tiny_gguf, tiny_hf

__all__ = ["model_dir", "tiny_gguf", "tiny_hf"]  # fixtures used below


def test_unknown_local_model_is_not_found(client: PlugAI) -> None:
    with pytest.raises(NotFoundError) as err:
        client.registry.load("local/no-such-model")
    assert err.value.status == 404


@needs_local
def test_load_loaded_unload(make_settings: Callable[..., Settings], model_dir: Path) -> None:
    settings = make_settings(local={"model_dirs": [str(model_dir)]})
    with live_server(settings) as url, PlugAI(url, ADMIN_KEY) as client:
        assert client.registry.loaded() == []
        row = client.registry.load("local/tiny", keep_alive="5m")
        assert row.id == "local/tiny"
        assert row.expires_at is not None
        loaded = client.registry.loaded()
        assert [m.id for m in loaded] == ["local/tiny"]
        assert loaded[0].engine
        assert client.chat.create(model="local/tiny", messages="hi", max_tokens=3).choices
        result = client.registry.unload("local/tiny")
        assert result.unloaded and result.id == "local/tiny"
        assert client.registry.unload("local/tiny").unloaded is False
        assert client.registry.loaded() == []


@needs_local
async def test_registry_async(make_settings: Callable[..., Settings], model_dir: Path) -> None:
    settings = make_settings(local={"model_dirs": [str(model_dir)]})
    with live_server(settings) as url:
        async with AsyncPlugAI(url, ADMIN_KEY) as client:
            row = await client.registry.load("local/tiny", keep_alive=600)
            assert row.id == "local/tiny"
            assert [m.id for m in await client.registry.loaded()] == ["local/tiny"]
            assert (await client.registry.unload("local/tiny")).unloaded
