"""A real PlugAI server (uvicorn on a socket, in a thread) in front of a fake OpenAI
upstream over HTTP, and ``plugai_client`` clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from plugai_client import AsyncPlugAI, PlugAI

from plugai.settings import Settings
from tests.conftest import ADMIN_KEY
from tests.fakes.openai_fake import FakeOpenAI
from tests.live import live_server

CHAT = "openai/gpt-4o-mini"


@dataclass
class Gateway:
    url: str
    fake: FakeOpenAI

    def client(self, api_key: str = ADMIN_KEY, **kw: Any) -> PlugAI:
        return PlugAI(self.url, api_key, **kw)

    def aclient(self, api_key: str = ADMIN_KEY, **kw: Any) -> AsyncPlugAI:
        return AsyncPlugAI(self.url, api_key, **kw)


def gateway_config(fake: FakeOpenAI, **extra: Any) -> dict[str, Any]:
    return {
        "providers": [{"name": "openai", "type": "openai", "base_url": fake.url, "api_key": "k"}],
        "models": [{"id": "tiny", "provider": "openai", "model": "gpt-4o-mini"}],
        "routing": {"retries": 0},
        **extra,
    }


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def gateway(make_settings: Callable[..., Settings], fake: FakeOpenAI) -> Iterator[Gateway]:
    with live_server(make_settings(**gateway_config(fake))) as url:
        yield Gateway(url, fake)


@pytest.fixture
def client(gateway: Gateway) -> Iterator[PlugAI]:
    with gateway.client() as c:
        yield c


@pytest.fixture
async def aclient(gateway: Gateway) -> AsyncIterator[AsyncPlugAI]:
    async with gateway.aclient() as c:
        yield c
