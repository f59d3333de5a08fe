"""``plugai models pull|ls|rm|scan`` and ``plugai storage``: the registry API of a running
server, from the shell (like ``ollama pull``), through ``plugai_client``. Kept apart from
``cli.py`` so that the registry's commands change without touching the others'.

The server is ``PLUGAI_BASE_URL`` (default http://127.0.0.1:8080) and the key
``PLUGAI_API_KEY``, else the admin key saved in the data dir (``PLUGAI_DATA_DIR``).
``models pull`` shows a Rich progress bar per file (bytes, rate, ETA) and one for the
total, from the job's progress events. A pull that is interrupted (Ctrl-C) leaves its job
running on the server; pulling the same source again follows that job instead of starting
another.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from plugai_client import PlugAI
    from plugai_client.types import DownloadJob
    from rich.progress import Progress, ProgressColumn, TaskID

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


def _rate_column() -> ProgressColumn:
    """Bytes per second in the units of the sizes (KiB, MiB), ``-`` until known."""
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{size(speed)}/s" if speed else "-", style="progress.data.speed")

    return Rate()


class PullProgress:
    """Rich progress bars of a download job: one per file (bytes, rate, ETA; a file waiting
    its turn shows no rate yet) and a total below them, fed with the job's progress
    events. On a terminal they redraw in place; elsewhere (a pipe, a log) the final state
    of the bars is printed when the display stops."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress: Progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(bar_width=24),
            TaskProgressColumn(),
            DownloadColumn(binary_units=True),
            _rate_column(),
            TimeRemainingColumn(),
            console=Console(highlight=False),
        )
        self.files: dict[str, TaskID] = {}
        self.started: set[str] = set()  # files past ``queued``: their clock runs
        self.total: TaskID | None = None

    def __enter__(self) -> PullProgress:
        self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def update(self, job: DownloadJob) -> None:
        """Show one progress event of the job."""
        bars = self.progress
        for f in job.file_progress:
            label = f.path if f.state != "failed" else f"{f.path} (failed)"
            task = self.files.get(f.path)
            if task is None:
                task = bars.add_task(label, total=f.size, completed=f.bytes_done, start=False)
                self.files[f.path] = task
            if f.state != "queued" and f.path not in self.started:
                self.started.add(f.path)
                bars.start_task(task)
            bars.update(task, description=label, completed=f.bytes_done, total=f.size)
        if self.total is None:  # below the files
            self.total = bars.add_task("total", total=job.bytes_total, completed=job.bytes_done)
        label = "total" if job.state in ("queued", "running", "done") else f"total ({job.state})"
        bars.update(self.total, description=label, completed=job.bytes_done, total=job.bytes_total)


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
            if job.started_at is not None:  # the same source was being downloaded
                click.echo(f"following the download already under way ({job.id})")
            try:
                with PullProgress() as bars:
                    done = downloads.wait(job.id, on_progress=bars.update)
            except KeyboardInterrupt:
                click.echo(
                    f"interrupted: the download goes on on the server ({job.id}); "
                    f"pull {source} again to follow it"
                )
                sys.exit(130)
            except DownloadError as exc:
                _fail(f"download {exc.job.state}: {exc.job.error or ''}")
            click.echo(f"ready: local/{done.model}")

    @models.command("ls")
    def ls() -> None:
        """List the registry's models."""
        with connected() as client:
            rows = client.registry.models()
        click.echo(f"{'ID':<36} {'FORMAT':<12} {'SIZE':<10} {'STATE':<12} FLAGS")
        for m in rows:
            notes = [f for f, on in (("pinned", m.pinned), ("discovered", m.discovered)) if on]
            job = m.download
            if m.state == "downloading" and job is not None and job.bytes_total:
                notes.append(f"{100 * job.bytes_done / job.bytes_total:.0f}%")
            elif m.state == "failed" and m.error:
                notes.append(m.error)
            line = f"{m.id:<36} {m.format:<12} {size(m.total_size):<10} {m.state:<12} "
            click.echo(line + ",".join(notes))

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
