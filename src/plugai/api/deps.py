"""Typed dependencies: routes declare what they need in their signature."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from plugai.artifacts.store import ArtifactStore
from plugai.core.errors import AuthenticationFailed, PermissionDenied
from plugai.db.database import Database
from plugai.generation.service import GenerationService
from plugai.jobs.metrics import GenerationMetrics
from plugai.jobs.runner import JobRunner
from plugai.observability.metrics import Metrics
from plugai.routing.catalog import ModelCatalog
from plugai.routing.gateway import CallContext, Gateway
from plugai.security.principal import Principal
from plugai.security.provider_keys import ProviderKeyStore
from plugai.security.users import UserDirectory
from plugai.security.vault import SecretVault
from plugai.sessions.chat import SessionChat
from plugai.sessions.store import SessionStore
from plugai.settings import Settings


async def _principal(request: Request) -> Principal:
    principal = request.scope.get("state", {}).get("principal")
    if not isinstance(principal, Principal):  # only when a route escapes the /v1 prefix
        raise AuthenticationFailed("You didn't provide an API key.", code="missing_api_key")
    return principal


async def _admin(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    if not principal.is_admin:
        raise PermissionDenied("This route needs an admin API key.")
    return principal


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def _users(request: Request) -> UserDirectory:
    users: UserDirectory = request.app.state.users
    return users


async def _vault(request: Request) -> SecretVault:
    vault: SecretVault = request.app.state.vault
    return vault


async def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


async def _catalog(request: Request) -> ModelCatalog:
    catalog: ModelCatalog = request.app.state.catalog
    return catalog


async def _provider_keys(request: Request) -> ProviderKeyStore:
    keys: ProviderKeyStore = request.app.state.provider_keys
    return keys


async def _sessions(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.sessions
    return store


async def _session_chat(request: Request) -> SessionChat:
    chat: SessionChat = request.app.state.session_chat
    return chat


async def _artifacts(request: Request) -> ArtifactStore:
    store: ArtifactStore = request.app.state.artifacts
    return store


async def _jobs(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.jobs
    return runner


async def _generation(request: Request) -> GenerationService:
    service: GenerationService = request.app.state.generation
    return service


async def _generation_metrics(request: Request) -> GenerationMetrics:
    metrics: GenerationMetrics = request.app.state.generation_metrics
    return metrics


async def _call_context(
    request: Request, principal: Annotated[Principal, Depends(_principal)]
) -> CallContext:
    state = request.scope.setdefault("state", {})
    return CallContext(principal=principal, log=state.setdefault("log", {}))


CurrentUser = Annotated[Principal, Depends(_principal)]
GatewayDep = Annotated[Gateway, Depends(_gateway)]
CatalogDep = Annotated[ModelCatalog, Depends(_catalog)]
CallCtx = Annotated[CallContext, Depends(_call_context)]
ProviderKeysDep = Annotated[ProviderKeyStore, Depends(_provider_keys)]
SessionsDep = Annotated[SessionStore, Depends(_sessions)]
SessionChatDep = Annotated[SessionChat, Depends(_session_chat)]
AdminUser = Annotated[Principal, Depends(_admin)]
SettingsDep = Annotated[Settings, Depends(_settings)]
DatabaseDep = Annotated[Database, Depends(_db)]
UsersDep = Annotated[UserDirectory, Depends(_users)]
VaultDep = Annotated[SecretVault, Depends(_vault)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
ArtifactsDep = Annotated[ArtifactStore, Depends(_artifacts)]
JobsDep = Annotated[JobRunner, Depends(_jobs)]
GenerationMetricsDep = Annotated[GenerationMetrics, Depends(_generation_metrics)]
GenerationDep = Annotated[GenerationService, Depends(_generation)]
