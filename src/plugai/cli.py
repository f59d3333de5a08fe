"""The ``plugai`` command: run the service; manage users and their API keys and the local
models of a running server (through ``plugai_client``)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from plugai import __version__
from plugai.core.errors import ConfigError, PlugAIError
from plugai.settings import Settings, load_settings, parse_duration

if TYPE_CHECKING:
    from plugai_client import PlugAI
    from plugai_client.types import ApiKey

    from plugai.api.app import Core

T = TypeVar("T")

_config_option = click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path),
    envvar="PLUGAI_CONFIG",
    help="YAML config file (env PLUGAI_CONFIG).",
)
_data_dir_option = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    help="Database, models and artifacts live here (env PLUGAI_DATA_DIR, default ./data).",
)


def _fail(message: str, code: int) -> None:
    click.echo(f"plugai: error: {message}", err=True)
    sys.exit(code)


def _settings(config: Path | None, data_dir: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config, data_dir=data_dir, **overrides)
    except ConfigError as exc:
        _fail(exc.message, 2)
        raise  # unreachable; keeps type checkers satisfied


def _run(settings: Settings, job: Callable[[Core], Awaitable[T]]) -> T:
    """Run ``job(core)`` against the database the server uses; errors become one line."""
    from plugai.api.app import open_core

    async def main() -> T:
        core = await open_core(settings)
        try:
            return await job(core)
        finally:
            await core.db.dispose()

    try:
        return asyncio.run(main())
    except ConfigError as exc:
        _fail(exc.message, 2)
    except PlugAIError as exc:
        _fail(exc.message, 1)
    raise AssertionError("unreachable")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="plugai")
def main() -> None:
    """PlugAI: one OpenAI-compatible API for text, image and 3D generation."""


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8080).")
@_data_dir_option
@_config_option
@click.option("--workers", type=click.IntRange(1, 64), help="Gateway worker processes (default 1).")
@click.option(
    "--log-level", type=click.Choice(["debug", "info", "warning", "error"]), help="Log level."
)
def serve(
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    config: Path | None,
    workers: int | None,
    log_level: str | None,
) -> None:
    """Run the PlugAI service (HTTP API, OpenAPI docs at /docs, metrics at /metrics)."""
    import uvicorn

    from plugai.api.app import build_redactor, create_app
    from plugai.observability.logging import configure_logging

    server = {k: v for k, v in {"host": host, "port": port, "workers": workers}.items() if v}
    settings = _settings(
        config, data_dir, server=server or None, log={"level": log_level} if log_level else None
    )
    configure_logging(settings.log.level, settings.log.format, build_redactor(settings))
    _prestart(settings)  # migrate, bootstrap, check routes: once, before workers
    common: dict[str, Any] = {
        "host": settings.server.host,
        "port": settings.server.port,
        "access_log": False,
        "log_config": None,
        "proxy_headers": False,
        "server_header": False,
        "ws": "none",  # no WebSocket routes: keeps the websockets package out of memory
    }
    if settings.server.workers == 1:
        uvicorn.run(create_app(settings), **common)
        return
    # Worker processes rebuild the settings from the environment.
    os.environ["PLUGAI_DATA_DIR"] = str(settings.data_dir.resolve())
    if settings.config:
        os.environ["PLUGAI_CONFIG"] = str(settings.config.resolve())
    metrics_dir = settings.data_dir / ".metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir.resolve())
    uvicorn.run(
        "plugai.api.app:create_app_from_env",
        factory=True,
        workers=settings.server.workers,
        **common,
    )


def _prestart(settings: Settings) -> None:
    """Migrate, bootstrap and check the routes; in a child process where ``fork`` exists, so
    that what only this needs (alembic: about 10 MB) stays out of the server's memory."""
    if not hasattr(os, "fork"):
        _run(settings, _check_services)
        return
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: exit with _run's code, never return into click
        code = 1
        try:
            _run(settings, _check_services)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 - shown, then the exit code says it failed
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if code:
        sys.exit(code if code > 0 else 1)


async def _check_services(core: Core) -> None:
    """Build providers and routes once so that config mistakes stop start-up (exit 2)."""
    from plugai.api.app import build_services
    from plugai.observability.metrics import Metrics

    services = build_services(core.settings, core, Metrics())
    await services.aclose()


@main.group()
def admin() -> None:
    """Operator tasks on the server's data (stop the server first)."""


@admin.command("rotate-master-key")
@click.option("--new-key", help="The new key: 32 bytes as hex or base64 (default: random).")
@_data_dir_option
@_config_option
def rotate_master_key(new_key: str | None, data_dir: Path | None, config: Path | None) -> None:
    """Re-encrypt every stored secret under a new master key, atomically."""
    from plugai.security.rotation import new_master_key
    from plugai.security.rotation import rotate_master_key as rotate
    from plugai.security.vault import decode_master_key

    settings = _settings(config, data_dir)
    try:
        key = decode_master_key(new_key) if new_key else new_master_key()
    except ValueError as exc:
        _fail(f"--new-key: {exc}", 2)
    from_env = settings.master_key is not None

    async def job(core: Core) -> int:
        return await rotate(core.db, core.vault, key, settings.data_dir, key_from_env=from_env)

    count = _run(settings, job)
    click.echo(f"re-encrypted {count} secret(s) under the new master key")
    if from_env:
        click.echo("PLUGAI_MASTER_KEY is set: replace it with the new key before restarting:")
        click.echo(f"  {key.hex()}")
    else:
        click.echo(f"the new key is in {settings.data_dir / 'master.key'}; restart the server")


_url_option = click.option(
    "--url",
    envvar="PLUGAI_BASE_URL",
    default="http://127.0.0.1:8080",
    show_default=True,
    help="The running server (env PLUGAI_BASE_URL).",
)
_api_key_option = click.option(
    "--api-key",
    envvar="PLUGAI_API_KEY",
    help="An admin API key (env PLUGAI_API_KEY; default: the contents of <data-dir>/admin.key).",
)
_key_dir_option = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    envvar="PLUGAI_DATA_DIR",
    default=Path("data"),
    help="Where admin.key is read when no key is given (env PLUGAI_DATA_DIR, default ./data).",
)


def _client(url: str, api_key: str | None, data_dir: Path) -> PlugAI:
    """A client of the running server with an admin key (argument, env or admin.key)."""
    from plugai_client import PlugAI

    if not api_key:
        try:
            api_key = (data_dir / "admin.key").read_text().strip() or None
        except OSError:
            api_key = None
    if not api_key:
        _fail(
            f"no API key: pass --api-key, set PLUGAI_API_KEY, or make {data_dir / 'admin.key'} "
            "readable",
            2,
        )
    return PlugAI(url, api_key, max_retries=1)


@contextmanager
def _api(client: PlugAI) -> Iterator[PlugAI]:
    """Use ``client``; every failure becomes one line (exit 1)."""
    from plugai_client import APIConnectionError
    from plugai_client import PlugAIError as ClientError

    try:
        with client:
            yield client
    except APIConnectionError:
        _fail(f"cannot reach the server at {client.base_url} (is `plugai serve` running?)", 1)
    except ClientError as exc:
        _fail(exc.message, 1)


def _key_state(key: ApiKey) -> str:
    if key.revoked_at:
        return "revoked"
    if key.expires_at and key.expires_at <= datetime.now(UTC):
        return "expired"
    return "active"


@main.group()
def users() -> None:
    """Manage users and their API keys through a running server's admin API."""


@users.command("create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Give the user the admin role.")
@_url_option
@_api_key_option
@_key_dir_option
def users_create(name: str, admin: bool, url: str, api_key: str | None, data_dir: Path) -> None:
    """Create user NAME and print its first API key (shown once)."""
    with _api(_client(url, api_key, data_dir)) as client:
        user = client.admin.users.create(name, role="admin" if admin else "user")
    click.echo(f"created {user.role} {user.name} ({user.id})")
    click.echo(f"api key (shown once): {user.api_key}")


@users.command("list")
@_url_option
@_api_key_option
@_key_dir_option
def users_list(url: str, api_key: str | None, data_dir: Path) -> None:
    """List users."""
    with _api(_client(url, api_key, data_dir)) as client:
        rows = client.admin.users.list()
    click.echo(f"{'ID':<26} {'NAME':<24} {'ROLE':<6} {'CREATED':<20} STATE")
    for u in rows:
        state = "disabled" if u.disabled else "active"
        created = u.created_at.strftime("%Y-%m-%d %H:%M:%S")
        click.echo(f"{u.id:<26} {u.name:<24} {u.role:<6} {created:<20} {state}")


@users.group("keys")
def keys() -> None:
    """Create, list and revoke a user's API keys."""


@keys.command("create")
@click.argument("user")
@click.option("--name", default="default", show_default=True, help="A label for the key.")
@click.option("--expires-in", help="Lifetime, e.g. 30d or 12h (default: never expires).")
@_url_option
@_api_key_option
@_key_dir_option
def keys_create(
    user: str, name: str, expires_in: str | None, url: str, api_key: str | None, data_dir: Path
) -> None:
    """Create an API key for USER (name or id) and print it (shown once)."""
    expires_at = None
    if expires_in:
        try:
            expires_at = datetime.now(UTC) + timedelta(seconds=parse_duration(expires_in))
        except ValueError as exc:
            _fail(f"--expires-in: {exc}", 2)
    with _api(_client(url, api_key, data_dir)) as client:
        found = client.admin.users.find(user)
        issued = client.admin.keys.create(found.id, name=name, expires_at=expires_at)
    click.echo(f"created key {issued.id} ({name})")
    click.echo(f"api key (shown once): {issued.api_key}")


@keys.command("list")
@click.argument("user")
@_url_option
@_api_key_option
@_key_dir_option
def keys_list(user: str, url: str, api_key: str | None, data_dir: Path) -> None:
    """List USER's API keys (prefixes only)."""
    with _api(_client(url, api_key, data_dir)) as client:
        rows = client.admin.keys.list(client.admin.users.find(user).id)
    click.echo(f"{'ID':<26} {'NAME':<20} {'PREFIX':<16} STATE")
    for k in rows:
        click.echo(f"{k.id:<26} {k.name:<20} {k.prefix:<16} {_key_state(k)}")


@keys.command("revoke")
@click.argument("user")
@click.argument("key_id")
@_url_option
@_api_key_option
@_key_dir_option
def keys_revoke(user: str, key_id: str, url: str, api_key: str | None, data_dir: Path) -> None:
    """Revoke USER's key KEY_ID (servers stop accepting it within 5 seconds)."""
    with _api(_client(url, api_key, data_dir)) as client:
        key = client.admin.keys.revoke(client.admin.users.find(user).id, key_id)
    click.echo(f"revoked key {key.id}")


@main.group()
def models() -> None:
    """Local models of a running server (PLUGAI_BASE_URL, PLUGAI_API_KEY: an admin key)."""


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _until(when: datetime | None) -> str:
    if when is None:
        return "forever"
    left = (when - datetime.now(UTC)).total_seconds()
    if left < 60:
        return f"in {max(left, 0):.0f} s"
    return f"in {left / 60:.0f} min"


@models.command("ps")
def models_ps() -> None:
    """List loaded local models: process, memory, device and when each unloads."""
    from plugai.cli_registry import connected

    with connected(fail=_fail) as client:
        rows = client.registry.loaded()
    click.echo(f"{'MODEL':<36} {'PID':<8} {'MEMORY':<10} {'DEVICE':<7} {'BUSY':<5} UNLOADS")
    for r in rows:
        pid, device = str(r.pid or "-"), r.device or "-"
        memory, until = _size(r.memory_bytes), _until(r.expires_at)
        click.echo(f"{r.id:<36} {pid:<8} {memory:<10} {device:<7} {r.busy:<5} {until}")


def _add_registry_commands() -> None:
    from plugai.cli_registry import register

    register(main, models)


_add_registry_commands()


@main.command()
@click.argument("model_dirs", nargs=-1, type=click.Path(path_type=Path, file_okay=False))
@click.option("--host", help="Address to listen on (default 127.0.0.1; 0.0.0.0 for others).")
@click.option("--port", type=int, default=8081, show_default=True, help="Port to listen on.")
@_data_dir_option
@_config_option
@click.option(
    "--log-level", type=click.Choice(["debug", "info", "warning", "error"]), help="Log level."
)
@click.pass_context
def runner(
    ctx: click.Context,
    model_dirs: tuple[Path, ...],
    host: str | None,
    port: int,
    data_dir: Path | None,
    config: Path | None,
    log_level: str | None,
) -> None:
    """Serve this machine's local models (MODEL_DIRS, else local.model_dirs) to gateways.

    The runner is PlugAI with local models only, in one process (the one owner of this
    machine's models). On the gateway, add it as a provider: `type: runner`,
    `base_url: http://<this host>:<port>/v1`, `api_key:` a key of this runner; its models
    appear there as `<provider>/local/<name>`.
    """
    import json

    if model_dirs:
        dirs = [str(d.expanduser().resolve()) for d in model_dirs]
        os.environ["PLUGAI_LOCAL__MODEL_DIRS"] = json.dumps(dirs)
    os.environ["PLUGAI_PROVIDERS"] = "[]"  # local models only
    os.environ["PLUGAI_MODELS"] = "[]"
    ctx.invoke(
        serve,
        host=host,
        port=port,
        data_dir=data_dir,
        config=config,
        workers=1,
        log_level=log_level,
    )
