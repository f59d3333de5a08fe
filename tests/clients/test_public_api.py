"""The public surface of ``plugai_client``: ``__all__`` is pinned, configuration comes
from arguments or the environment, clients are context managers, the drift check bites."""

from __future__ import annotations

import plugai_client
import pytest
from plugai_client import AsyncPlugAI, PlugAI
from plugai_client.types import User
from pydantic import BaseModel

from tests.clients.conftest import Gateway
from tests.clients.test_schema import compare

PUBLIC = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncPlugAI",
    "AsyncSession",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "DownloadError",
    "GenerationError",
    "InternalServerError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PlugAI",
    "PlugAIError",
    "RateLimitError",
    "Session",
    "StorageFullError",
    "Stream",
    "UpstreamError",
    "__version__",
    "types",
]


def test_all_is_pinned() -> None:
    assert sorted(plugai_client.__all__) == PUBLIC
    for name in PUBLIC:
        assert hasattr(plugai_client, name)
    for name in PUBLIC:
        obj = getattr(plugai_client, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, plugai_client.PlugAIError)


def test_configuration_from_environment(monkeypatch: pytest.MonkeyPatch, gateway: Gateway) -> None:
    monkeypatch.delenv("PLUGAI_BASE_URL", raising=False)
    monkeypatch.delenv("PLUGAI_API_KEY", raising=False)
    with PlugAI() as default:
        assert default.base_url == "http://127.0.0.1:8080"
        assert default.api_key is None
    monkeypatch.setenv("PLUGAI_BASE_URL", gateway.url + "/v1/")
    from tests.conftest import ADMIN_KEY

    monkeypatch.setenv("PLUGAI_API_KEY", ADMIN_KEY)
    with PlugAI() as client:
        assert client.base_url == gateway.url
        assert client.me().role == "admin"
    with PlugAI(api_key="sk-other") as explicit:
        assert explicit.api_key == "sk-other"
    with pytest.raises(ValueError, match="max_retries"):
        PlugAI(max_retries=-1)


async def test_async_configuration_and_close(
    monkeypatch: pytest.MonkeyPatch, gateway: Gateway
) -> None:
    from tests.conftest import ADMIN_KEY

    monkeypatch.setenv("PLUGAI_BASE_URL", gateway.url)
    monkeypatch.setenv("PLUGAI_API_KEY", ADMIN_KEY)
    client = AsyncPlugAI()
    assert (await client.me()).role == "admin"
    assert "AsyncPlugAI" in repr(client)
    await client.close()
    assert client._transport.http.is_closed


def test_one_connection_pool_per_client(gateway: Gateway) -> None:
    with gateway.client() as client:
        transport = client._transport.http
        for _ in range(3):
            client.me()
        assert client._transport.http is transport
    assert transport.is_closed


def test_drift_check_fails_on_a_changed_model() -> None:
    """The comparison used by test_schema flags a renamed field and a changed default."""

    class Renamed(BaseModel):
        id: str
        title: str  # the server calls it ``name``

    schema = {"properties": {"id": {}, "name": {}}, "required": ["id", "name"]}
    assert "fields differ" in compare({}, Renamed, schema, "Renamed")[0]
    server_user = {
        "properties": {name: {} for name in User.model_fields},
        "required": ["id", "name", "role", "created_at", "disabled"],
    }
    problems = compare({}, User, server_user, "User")
    assert problems and "required" in problems[0]
