"""Shared fixtures: a fresh database per test (SQLite always, PostgreSQL when
``PLUGAI_TEST_DATABASE_URL`` is set), settings and an in-process app + client."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from plugai.api.app import create_app
from plugai.settings import Settings, load_settings

PG_URL = os.environ.get("PLUGAI_TEST_DATABASE_URL")
ADMIN_KEY = "sk-plugai-test-admin-key-0123456789abcdef"
BACKENDS = (
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)] if PG_URL else ["sqlite"]
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: runs against the PostgreSQL server")


async def _pg_admin(sql: str) -> None:
    import asyncpg

    assert PG_URL
    url = make_url(PG_URL)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database=url.database
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new, empty database for one test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'plugai.db'}"
        return
    assert PG_URL
    name = f"plugai_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        overrides.setdefault("data_dir", tmp_path / "data")
        overrides.setdefault("database_url", database_url)
        overrides.setdefault("admin_key", ADMIN_KEY)
        return load_settings(None, **overrides)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://plugai") as c:
        yield c


@dataclass
class Harness:
    """An app in its lifespan with an httpx client and an official OpenAI client on it."""

    app: FastAPI
    http: httpx.AsyncClient
    openai: openai.AsyncOpenAI


@pytest.fixture
def plugai(make_settings: Callable[..., Settings]) -> Callable[..., Any]:
    """``async with plugai(providers=[...], models=[...]) as h:`` starts a configured app."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Harness]:
        application = create_app(make_settings(**overrides))
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://plugai", headers=headers
            ) as http:
                client = openai.AsyncOpenAI(
                    api_key=ADMIN_KEY, base_url="http://plugai/v1", http_client=http, max_retries=0
                )
                yield Harness(application, http, client)

    return start


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_KEY}"}


def assert_envelope(
    response: httpx.Response, status: int, *, param: str | None = None
) -> dict[str, Any]:
    """The response is an OpenAI error envelope with this status (and parameter)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    if param is not None:
        assert error["param"] == param
    return dict(error)
