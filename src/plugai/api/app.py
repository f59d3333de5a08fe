"""The app factory. Long-lived objects are built in the lifespan and kept on ``app.state``."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from plugai import __version__
from plugai.api.errors import install_error_handlers
from plugai.api.middleware import RequestContextMiddleware
from plugai.api.routes import admin, anthropic, health, local, me, models, openai, sessions
from plugai.api.routes import artifacts as artifact_routes
from plugai.api.routes import generation as generation_routes
from plugai.api.routes import jobs as job_routes
from plugai.api.routes import registry as registry_routes
from plugai.api.routes import storage as storage_routes
from plugai.api.webapp import mount_web_app, web_root
from plugai.artifacts.store import ArtifactStore
from plugai.catalog.metrics import RegistryMetrics
from plugai.catalog.service import RegistryService
from plugai.db.database import Database
from plugai.generation.service import GenerationService
from plugai.jobs.metrics import GenerationMetrics
from plugai.jobs.runner import JobRunner
from plugai.local.manager import ModelManager
from plugai.observability.logging import configure_logging
from plugai.observability.metrics import Metrics
from plugai.observability.redaction import Redactor
from plugai.observability.usage import UsageRecorder
from plugai.providers.base import Provider
from plugai.providers.registry import default_registry
from plugai.routing.catalog import ModelCatalog
from plugai.routing.credentials import CredentialResolver
from plugai.routing.gateway import Gateway
from plugai.routing.router import Router
from plugai.security.bootstrap import ensure_admin
from plugai.security.provider_keys import ProviderKeyStore
from plugai.security.users import KeyCache, UserDirectory
from plugai.security.vault import SecretVault, load_master_key
from plugai.sessions.chat import SessionChat
from plugai.sessions.store import SessionStore
from plugai.settings import ProviderSettings, Settings, load_settings
from plugai.storage.manager import StorageManager
from plugai.storage.retention import RetentionSweep


def build_redactor(settings: Settings) -> Redactor:
    """Every secret known at start-up is masked in logs wherever it shows up."""
    redactor = Redactor()
    for secret in (settings.admin_key, settings.master_key):
        redactor.add(secret.get_secret_value() if secret else None)
    for provider in settings.providers:
        redactor.add(provider.api_key.get_secret_value() if provider.api_key else None)
    hf_token = settings.local.hf_token
    redactor.add(hf_token.get_secret_value() if hf_token else None)
    return redactor


@dataclass(frozen=True, slots=True)
class Core:
    """The long-lived objects every request path may need."""

    settings: Settings
    db: Database
    users: UserDirectory
    vault: SecretVault
    provider_keys: ProviderKeyStore


async def open_core(settings: Settings) -> Core:
    """Migrate the schema, load the master key and make sure an admin exists.

    Idempotent: ``plugai serve`` runs it once before starting N workers, and each
    worker's lifespan runs it again as a cheap no-op check.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    try:
        await db.migrate()
        users = UserDirectory(db, KeyCache(settings.server.key_cache_ttl))
        master = settings.master_key.get_secret_value() if settings.master_key else None
        vault = SecretVault(load_master_key(master, settings.data_dir))
        admin_key = settings.admin_key.get_secret_value() if settings.admin_key else None
        await ensure_admin(users, admin_key, settings.data_dir)
    except BaseException:
        await db.dispose()
        raise
    return Core(
        settings=settings,
        db=db,
        users=users,
        vault=vault,
        provider_keys=ProviderKeyStore(db, vault),
    )


@dataclass(frozen=True, slots=True)
class Services:
    """Routing and serving: providers, router, gateway and model catalog."""

    providers: dict[str, Provider]
    router: Router
    gateway: Gateway
    catalog: ModelCatalog
    usage: UsageRecorder
    sessions: SessionStore
    session_chat: SessionChat
    local: ModelManager | None = None  # the `local` provider's models (admin load/unload)

    async def aclose(self) -> None:
        await self.usage.stop()
        for provider in self.providers.values():
            await provider.aclose()


def build_services(settings: Settings, core: Core, metrics: Metrics) -> Services:
    """Build every provider and the routes; a bad provider or route is a ConfigError."""
    registry = default_registry()
    configs = list(settings.providers)
    if not any(p.name == "local" for p in configs):  # local/<model>: folders + registry
        configs.append(ProviderSettings(name="local", type="local"))
    providers = {p.name: registry.build(p, settings) for p in configs}
    router = Router(providers, settings.models, settings.routing, metrics)
    credentials = CredentialResolver(core.provider_keys.lookup)
    usage = UsageRecorder(core.db)
    gateway = Gateway(router, credentials, metrics, settings.routing, usage)
    catalog = ModelCatalog(router, credentials, core.db, settings.routing.models_cache_ttl)
    sessions = SessionStore(core.db)
    return Services(
        providers=providers,
        router=router,
        gateway=gateway,
        catalog=catalog,
        usage=usage,
        sessions=sessions,
        session_chat=SessionChat(sessions, gateway, catalog),
        local=getattr(providers.get("local"), "manager", None),
    )


@dataclass(frozen=True, slots=True)
class ArtifactsAndJobs:
    """Generated files, the long jobs that make them, and their retention sweep."""

    artifacts: ArtifactStore
    jobs: JobRunner
    retention: RetentionSweep

    async def start(self) -> None:
        await self.jobs.start()  # fails the jobs a previous process left running
        self.retention.start()

    async def aclose(self) -> None:
        await self.retention.stop()
        await self.jobs.aclose()


def build_artifacts_and_jobs(
    settings: Settings, core: Core, storage: StorageManager, metrics: GenerationMetrics
) -> ArtifactsAndJobs:
    artifacts = ArtifactStore(
        core.db,
        settings.data_dir / "artifacts",
        settings.storage,
        core.vault.derive("artifact-urls"),
        storage=storage,
    )
    storage.artifacts = artifacts  # storage cleanup expires artifacts too
    jobs = JobRunner(core.db, metrics, settings.jobs.concurrency)
    retention = RetentionSweep(artifacts, jobs.store, job_retention=settings.jobs.retention)
    return ArtifactsAndJobs(artifacts, jobs, retention)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    core = await open_core(settings)
    try:
        services = build_services(settings, core, app.state.metrics)
    except BaseException:
        await core.db.dispose()
        raise
    app.state.db, app.state.users, app.state.vault = core.db, core.users, core.vault
    app.state.provider_keys = core.provider_keys
    app.state.gateway, app.state.catalog = services.gateway, services.catalog
    app.state.sessions, app.state.session_chat = services.sessions, services.session_chat
    app.state.local = services.local
    registry = RegistryService(
        settings, core.db, core.provider_keys, services.local, app.state.registry_metrics
    )
    app.state.registry = registry
    outputs = build_artifacts_and_jobs(
        settings, core, registry.storage, app.state.generation_metrics
    )
    app.state.artifacts, app.state.jobs = outputs.artifacts, outputs.jobs
    app.state.generation = GenerationService(
        services.gateway, outputs.artifacts, app.state.generation_metrics
    )
    try:
        await registry.start()
        await outputs.start()
        await services.catalog.refresh()
        services.usage.start()
        core.provider_keys.start()
        gc.collect()
        gc.freeze()  # start-up objects live forever: keep them out of every later GC pass
        gc.set_threshold(20_000, 20, 20)  # fewer young-generation passes: ~10 % CPU/req
        yield
    finally:
        await outputs.aclose()
        await registry.stop()
        await core.provider_keys.stop()
        await services.aclose()
        await core.db.dispose()


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="PlugAI",
        version=__version__,
        summary="One OpenAI-compatible API for text, image and 3D generation.",
        lifespan=lifespan,
        strict_content_type=False,
    )
    configure_logging(settings.log.level, settings.log.format, build_redactor(settings))
    metrics = Metrics()
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.registry_metrics = RegistryMetrics(metrics.registry)  # downloads, storage
    app.state.generation_metrics = GenerationMetrics(metrics.registry)  # images, 3D, jobs
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(admin.router)
    app.include_router(openai.router)
    app.include_router(generation_routes.router)
    app.include_router(anthropic.router)
    app.include_router(models.router)
    app.include_router(me.router)
    app.include_router(sessions.router)
    app.include_router(local.router)
    app.include_router(registry_routes.router)
    app.include_router(storage_routes.router)
    app.include_router(artifact_routes.router)
    app.include_router(job_routes.router)
    if web := web_root(settings.server.web_dir):  # the built web app at /, after the API
        mount_web_app(app, web)
    app.add_middleware(
        RequestContextMiddleware, metrics=metrics, max_body_size=int(settings.server.max_body_size)
    )
    if settings.server.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.server.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` worker processes: settings from env + YAML."""
    return create_app(load_settings())
