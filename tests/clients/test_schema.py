"""The client's response models match the server's OpenAPI document, route by route:
the same field names, the same required fields, recursively through nested models. A
change on either side that is not made on the other fails here."""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

import httpx
import pytest
from plugai_client.types import (
    ApiKey,
    ApiKeyIssued,
    ApiKeyList,
    Artifact,
    ArtifactDeleted,
    ArtifactList,
    ChatCompletion,
    CleanupResult,
    Deleted,
    DownloadJob,
    DownloadJobList,
    EmbeddingList,
    ImagesResponse,
    Job,
    JobList,
    LoadedList,
    LoadedModel,
    Me,
    MeshesResponse,
    ModelCard,
    ModelList,
    ProviderKey,
    ProviderKeyList,
    RegistryModel,
    RegistryModelList,
    RemoveResult,
    ScanResult,
    SessionDetail,
    SessionInfo,
    SessionPage,
    StorageUsage,
    UnloadResult,
    User,
    UserCreated,
    UserList,
)
from pydantic import BaseModel

from plugai.settings import Settings
from tests.live import live_server

# (method, path, status) → the client model that parses that response
ROUTES: dict[tuple[str, str, str], type[BaseModel]] = {
    ("post", "/v1/chat/completions", "200"): ChatCompletion,
    ("post", "/v1/embeddings", "200"): EmbeddingList,
    ("post", "/v1/images/generations", "200"): ImagesResponse,
    ("post", "/v1/3d/generations", "200"): MeshesResponse,
    ("get", "/v1/models", "200"): ModelList,
    ("get", "/v1/models/{model_id}", "200"): ModelCard,
    ("get", "/v1/me", "200"): Me,
    ("get", "/v1/me/keys", "200"): ProviderKeyList,
    ("put", "/v1/me/keys/{provider}", "200"): ProviderKey,
    ("delete", "/v1/me/keys/{provider}", "200"): Deleted,
    ("post", "/v1/sessions", "201"): SessionInfo,
    ("get", "/v1/sessions", "200"): SessionPage,
    ("get", "/v1/sessions/{session_id}", "200"): SessionDetail,
    ("patch", "/v1/sessions/{session_id}", "200"): SessionInfo,
    ("post", "/v1/sessions/{session_id}/close", "200"): SessionInfo,
    ("delete", "/v1/sessions/{session_id}", "200"): Deleted,
    ("post", "/v1/admin/users", "201"): UserCreated,
    ("get", "/v1/admin/users", "200"): UserList,
    ("get", "/v1/admin/users/{user_id}", "200"): User,
    ("delete", "/v1/admin/users/{user_id}", "200"): User,
    ("get", "/v1/admin/users/{user_id}/keys", "200"): ApiKeyList,
    ("post", "/v1/admin/users/{user_id}/keys", "201"): ApiKeyIssued,
    ("delete", "/v1/admin/users/{user_id}/keys/{key_id}", "200"): ApiKey,
    ("post", "/v1/registry/models/{model_id}/load", "200"): LoadedModel,
    ("post", "/v1/registry/models/{model_id}/unload", "200"): UnloadResult,
    ("get", "/v1/registry/loaded", "200"): LoadedList,
    ("get", "/v1/registry/models", "200"): RegistryModelList,
    ("get", "/v1/registry/models/{model_id}", "200"): RegistryModel,
    ("patch", "/v1/registry/models/{model_id}", "200"): RegistryModel,
    ("delete", "/v1/registry/models/{model_id}", "200"): RemoveResult,
    ("post", "/v1/registry/scan", "200"): ScanResult,
    ("post", "/v1/registry/downloads", "202"): DownloadJob,
    ("get", "/v1/registry/downloads", "200"): DownloadJobList,
    ("get", "/v1/registry/downloads/{job_id}", "200"): DownloadJob,
    ("delete", "/v1/registry/downloads/{job_id}", "200"): DownloadJob,
    ("get", "/v1/storage", "200"): StorageUsage,
    ("post", "/v1/storage/cleanup", "200"): CleanupResult,
    ("get", "/v1/artifacts", "200"): ArtifactList,
    ("get", "/v1/artifacts/{artifact_id}/metadata", "200"): Artifact,
    ("patch", "/v1/artifacts/{artifact_id}", "200"): Artifact,
    ("delete", "/v1/artifacts/{artifact_id}", "200"): ArtifactDeleted,
    ("get", "/v1/jobs", "200"): JobList,
    ("get", "/v1/jobs/{job_id}", "200"): Job,
    ("post", "/v1/jobs/{job_id}/cancel", "200"): Job,
}


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The document a real server serves at ``/openapi.json``."""
    from plugai.settings import load_settings

    data = tmp_path_factory.mktemp("schema")
    settings: Settings = load_settings(
        None, data_dir=data, database_url=f"sqlite+aiosqlite:///{data / 'p.db'}"
    )
    with live_server(settings) as url:
        response = httpx.get(url + "/openapi.json", timeout=10)
    response.raise_for_status()
    doc: dict[str, Any] = response.json()
    return doc


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = doc["components"]["schemas"][name]
    return schema


def _object_schema(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any] | None:
    """The object schema inside ``schema`` (through $ref, anyOf/oneOf and array items)."""
    schema = _resolve(doc, schema)
    if "properties" in schema:
        return schema
    if schema.get("type") == "array" and "items" in schema:
        return _object_schema(doc, schema["items"])
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        found = _object_schema(doc, option)
        if found is not None:
            return found
    return None


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (list, Union, types.UnionType):
        for arg in get_args(annotation):
            found = _nested_model(arg)
            if found is not None:
                return found
    return None


def compare(
    doc: dict[str, Any], model: type[BaseModel], schema: dict[str, Any], where: str
) -> list[str]:
    """Differences between ``model`` and the server's object ``schema``."""
    problems = []
    server_fields = set(schema.get("properties", {}))
    client_fields = set(model.model_fields)
    if server_fields != client_fields:
        problems.append(
            f"{where}: fields differ: server only {sorted(server_fields - client_fields)}, "
            f"client only {sorted(client_fields - server_fields)}"
        )
    server_required = set(schema.get("required", []))
    client_required = {n for n, f in model.model_fields.items() if f.is_required()}
    if server_required != client_required:
        problems.append(
            f"{where}: required fields differ: server {sorted(server_required)}, "
            f"client {sorted(client_required)}"
        )
    for name, field in model.model_fields.items():
        nested = _nested_model(field.annotation)
        if nested is None or name not in schema.get("properties", {}):
            continue
        inner = _object_schema(doc, schema["properties"][name])
        if inner is None:
            problems.append(f"{where}.{name}: the server has no object schema here")
            continue
        problems += compare(doc, nested, inner, f"{where}.{name}")
    return problems


@pytest.mark.parametrize(("route", "model"), ROUTES.items(), ids=lambda v: str(v))
def test_client_model_matches_server_schema(
    openapi: dict[str, Any], route: tuple[str, str, str], model: type[BaseModel]
) -> None:
    method, path, status = route
    operation = openapi["paths"].get(path, {}).get(method)
    assert operation is not None, f"the server has no {method.upper()} {path}"
    content = operation["responses"][status]["content"]["application/json"]["schema"]
    schema = _object_schema(openapi, content)
    assert schema is not None, f"{method.upper()} {path} documents no object"
    assert compare(openapi, model, schema, model.__name__) == []


def test_every_documented_json_route_is_covered(openapi: dict[str, Any]) -> None:
    """A new route with a documented JSON body needs a client model (or a reason here)."""
    untyped = {
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/v1/models/{model_id}/parameters"),  # a JSON Schema, returned as a dict
        ("post", "/v1/messages"),  # the Anthropic front door: use the anthropic SDK
    }
    untyped.add(("get", "/v1/registry/downloads/{job_id}/events"))  # SSE: DownloadJob events
    covered = {(m, p) for m, p, _ in ROUTES}
    missing = []
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if not status.startswith("2") or not schema or (method, path) in untyped:
                    continue
                if (method, path) not in covered:
                    missing.append(f"{method.upper()} {path}")
    assert missing == []
