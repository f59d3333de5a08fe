"""``plugai models pull|ls|rm|scan`` and ``plugai storage``: the registry API of a running
server, from the shell (like ``ollama pull``), through ``plugai_client``. Kept apart from
``cli.py`` so that the registry's commands change without touching the others'.

The server is ``PLUGAI_BASE_URL`` (default http://127.0.0.1:8080) and the key
``PLUGAI_API_KEY``, else the admin key saved in the data dir (``PLUGAI_DATA_DIR``).
A pull that is interrupted (Ctrl-C) leaves its job running on the server; pulling the same
source again follows that job instead of starting another.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from plugai_client import PlugAI
    from plugai_client.types import DownloadJob

DEFAULT_URL = "http://127.0.0.1:8080"
CALL_TIMEOUT = 60.0  # seconds per call; a followed download's event stream may stay quiet longer


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _api_key(fail: Callable[[str, int], object]) -> str:
    key = os.environ.get("PLUGAI_API_KEY")
    if key:
        return key
    key_file = Path(os.environ.get("PLUGAI_DATA_DIR", "data")) / "admin.key"
    try:
        key = key_file.read_text().strip()
    except OSError:
        key = ""
    if not key:
        fail(f"no API key: set PLUGAI_API_KEY or make {key_file} readable", 2)
        sys.exit(2)  # in case ``fail`` returned
    return key


@contextmanager
def connected(
    *, follow: bool = False, fail: Callable[[str, int], object] = _fail
) -> Iterator[PlugAI]:
    """A client of the server the environment names; every API failure becomes one line
    (``<status>: <message>``, exit 1). ``follow``: no read timeout (event streams)."""
    import httpx
    from plugai_client import APIConnectionError, APIStatusError, PlugAI, PlugAIError

    base = os.environ.get("PLUGAI_BASE_URL", DEFAULT_URL).rstrip("/")
    timeout = httpx.Timeout(CALL_TIMEOUT, read=None if follow else CALL_TIMEOUT)
    client = PlugAI(base, _api_key(fail), timeout=timeout, max_retries=1)
    try:
        with client:
            yield client
    except APIConnectionError as exc:
        fail(f"cannot reach {base}: {exc.message}", 1)
        sys.exit(1)
    except APIStatusError as exc:
        fail(f"{exc.status}: {exc.message}" if exc.status else exc.message, 1)
        sys.exit(1)
    except PlugAIError as exc:
        fail(exc.message, 1)
        sys.exit(1)


def size(n: float | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def progress_line(job: DownloadJob) -> str:
    """``name:  42.0% 1.2 MiB/3.0 MiB 4.0 MiB/s ETA 1s [running]``."""
    done, total = job.bytes_done, job.bytes_total
    pct = f"{100 * done / total:5.1f}%" if total else "  ?  %"
    rate = f"{size(job.rate)}/s" if job.rate else "-"
    eta = f"ETA {duration(job.eta_seconds)}" if job.eta_seconds is not None else ""
    return f"{job.name}: {pct} {size(done)}/{size(total)} {rate} {eta} [{job.state}]"


def register(main: click.Group, models: click.Group) -> None:
    """Add the registry commands to the CLI."""

    @models.command("pull")
    @click.argument("source")
    @click.option("--file", "files", multiple=True, help="Glob of files to take (hf:// only).")
    @click.option("--revision", default=None, help="Branch, tag or commit (hf:// only).")
    @click.option("--name", default=None, help="Registry id (default: derived).")
    @click.option("--sha256", default=None, help="Expected sha256 of a URL's file.")
    @click.option("--detach", is_flag=True, help="Queue the download and return.")
    def pull(
        source: str,
        files: tuple[str, ...],
        revision: str | None,
        name: str | None,
        sha256: str | None,
        detach: bool,
    ) -> None:
        """Download a model: hf://org/repo or an http(s) URL of a .gguf file."""
        from plugai_client import DownloadError

        with connected(follow=True) as client:
            downloads = client.registry.downloads
            job = downloads.create(
                source, sha256=sha256, files=list(files) or None, revision=revision, name=name
            )
            if detach:
                click.echo(job.id)
                return

            def show(event: DownloadJob) -> None:
                click.echo("\r" + progress_line(event).ljust(79), nl=False)

            try:
                done = downloads.wait(job.id, on_progress=show)
            except KeyboardInterrupt:
                click.echo("\ninterrupted: the download goes on; pull again to follow it")
                sys.exit(130)
            except DownloadError as exc:
                click.echo()
                _fail(f"download {exc.job.state}: {exc.job.error or ''}")
            click.echo()
            click.echo(f"ready: local/{done.model}")

    @models.command("ls")
    def ls() -> None:
        """List the registry's models."""
        with connected() as client:
            rows = client.registry.models()
        click.echo(f"{'ID':<36} {'FORMAT':<12} {'SIZE':<10} {'STATE':<9} FLAGS")
        for m in rows:
            flags = ",".join(
                f for f, on in (("pinned", m.pinned), ("discovered", m.discovered)) if on
            )
            click.echo(f"{m.id:<36} {m.format:<12} {size(m.total_size):<10} {m.state:<9} {flags}")

    @models.command("rm")
    @click.argument("model_id")
    def rm(model_id: str) -> None:
        """Delete a downloaded model (a discovered one is only unregistered)."""
        with connected() as client:
            result = client.registry.remove(model_id.removeprefix("local/"))
        click.echo(f"{'deleted' if result.files_deleted else 'unregistered'} {result.id}")

    @models.command("scan")
    def scan() -> None:
        """Find models in the model folders and the Hugging Face cache."""
        with connected() as client:
            result = client.registry.scan()
        for key, ids in (
            ("added", result.added),
            ("updated", result.updated),
            ("missing", result.missing),
        ):
            click.echo(f"{key}: {', '.join(ids) or '-'}")

    @main.group("storage", invoke_without_command=True)
    @click.pass_context
    def storage(ctx: click.Context) -> None:
        """Storage limit, use and free disk."""
        if ctx.invoked_subcommand is not None:
            return
        with connected() as client:
            u = client.storage.get()
        click.echo(f"limit:    {size(u.limit) if u.limit is not None else 'none'}")
        click.echo(f"models:   {size(u.used.get('models', 0))}")
        click.echo(f"reserved: {size(u.reserved)}")
        click.echo(f"disk:     {size(u.disk_free)} free of {size(u.disk_total)}")
        click.echo(f"evictable ({u.eviction}): {size(u.evictable_bytes)}")

    @storage.command("cleanup")
    @click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
    def cleanup(dry_run: bool) -> None:
        """Free what the eviction policy allows."""
        with connected() as client:
            r = client.storage.cleanup(dry_run=dry_run)
        verb = "would free" if dry_run else "freed"
        click.echo(f"{verb} {size(r.freed)}: {', '.join(r.evicted) or 'nothing'}")
