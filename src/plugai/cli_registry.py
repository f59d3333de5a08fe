"""``plugai models pull|ls|rm|scan`` and ``plugai storage``: the registry API of a running
server, from the shell (like ``ollama pull``). Kept apart from ``cli.py`` so that the
registry's commands change without touching the others'.

The server is ``PLUGAI_BASE_URL`` (default http://127.0.0.1:8080) and the key
``PLUGAI_API_KEY``, else the admin key saved in the data dir (``PLUGAI_DATA_DIR``).
A pull that is interrupted (Ctrl-C) leaves its job running on the server; pulling the same
source again follows that job instead of starting another.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import click
import httpx
import orjson

TERMINAL = ("done", "failed", "cancelled")


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _target() -> tuple[str, dict[str, str]]:
    base = os.environ.get("PLUGAI_BASE_URL", "http://127.0.0.1:8080").rstrip("/")
    key = os.environ.get("PLUGAI_API_KEY")
    if not key:
        key_file = Path(os.environ.get("PLUGAI_DATA_DIR", "data")) / "admin.key"
        try:
            key = key_file.read_text().strip()
        except OSError:
            _fail(f"no API key: set PLUGAI_API_KEY or make {key_file} readable", 2)
    return base, {"Authorization": f"Bearer {key}"}


def _message(r: httpx.Response) -> str:
    try:
        return f"{r.status_code}: {r.json()['error']['message']}"
    except (ValueError, KeyError, TypeError):
        return f"{r.status_code}: {r.text[:200]}"


def call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    base, headers = _target()
    try:
        r = httpx.request(method, base + path, json=body, headers=headers, timeout=60)
    except httpx.HTTPError as exc:
        _fail(f"cannot reach {base}: {exc}")
    if r.status_code >= 400:
        _fail(_message(r))
    return r.json()


def events(job_id: str) -> Iterator[dict[str, Any]]:
    """The job's progress events (SSE) until it ends."""
    base, headers = _target()
    url = f"{base}/v1/registry/downloads/{job_id}/events"
    timeout = httpx.Timeout(30, read=None)
    try:
        with httpx.stream("GET", url, headers=headers, timeout=timeout) as r:
            if r.status_code >= 400:
                r.read()
                _fail(_message(r))
            for line in r.iter_lines():
                if line.startswith("data: {"):
                    yield orjson.loads(line[6:])
    except httpx.HTTPError as exc:
        _fail(f"lost the server at {base}: {exc}")


def size(n: float | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def progress_line(job: dict[str, Any]) -> str:
    done, total = job["bytes_done"], job["bytes_total"]
    pct = f"{100 * done / total:5.1f}%" if total else "  ?  %"
    rate = f"{size(job['rate'])}/s" if job.get("rate") else "-"
    eta = f"ETA {job['eta_seconds']:.0f}s" if job.get("eta_seconds") is not None else ""
    return f"{job['name']}: {pct} {size(done)}/{size(total)} {rate} {eta} [{job['state']}]"


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
        body = {"source": source, "files": list(files) or None, "revision": revision}
        body |= {"name": name, "sha256": sha256}
        job = call("POST", "/v1/registry/downloads", {k: v for k, v in body.items() if v})
        if detach:
            click.echo(job["id"])
            return
        last = job
        try:
            for last in events(job["id"]):
                click.echo("\r" + progress_line(last).ljust(79), nl=False)
        except KeyboardInterrupt:
            click.echo("\ninterrupted: the download goes on; pull again to follow it")
            sys.exit(130)
        click.echo()
        if last["state"] != "done":
            _fail(f"download {last['state']}: {last.get('error') or ''}")
        click.echo(f"ready: local/{last['model']}")

    @models.command("ls")
    def ls() -> None:
        """List the registry's models."""
        rows = call("GET", "/v1/registry/models")["data"]
        click.echo(f"{'ID':<36} {'FORMAT':<12} {'SIZE':<10} {'STATE':<9} FLAGS")
        for m in rows:
            flags = ",".join(f for f in ("pinned", "discovered") if m[f])
            click.echo(
                f"{m['id']:<36} {m['format']:<12} {size(m['total_size']):<10} "
                f"{m['state']:<9} {flags}"
            )

    @models.command("rm")
    @click.argument("model_id")
    def rm(model_id: str) -> None:
        """Delete a downloaded model (a discovered one is only unregistered)."""
        result = call("DELETE", f"/v1/registry/models/{model_id.removeprefix('local/')}")
        click.echo(f"{'deleted' if result['files_deleted'] else 'unregistered'} {result['id']}")

    @models.command("scan")
    def scan() -> None:
        """Find models in the model folders and the Hugging Face cache."""
        result = call("POST", "/v1/registry/scan")
        for key in ("added", "updated", "missing"):
            click.echo(f"{key}: {', '.join(result[key]) or '-'}")

    @main.group("storage", invoke_without_command=True)
    @click.pass_context
    def storage(ctx: click.Context) -> None:
        """Storage limit, use and free disk."""
        if ctx.invoked_subcommand is not None:
            return
        u = call("GET", "/v1/storage")
        click.echo(f"limit:    {size(u['limit']) if u['limit'] is not None else 'none'}")
        click.echo(f"models:   {size(u['used']['models'])}")
        click.echo(f"reserved: {size(u['reserved'])}")
        click.echo(f"disk:     {size(u['disk_free'])} free of {size(u['disk_total'])}")
        click.echo(f"evictable ({u['eviction']}): {size(u['evictable_bytes'])}")

    @storage.command("cleanup")
    @click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
    def cleanup(dry_run: bool) -> None:
        """Free what the eviction policy allows."""
        r = call("POST", "/v1/storage/cleanup", {"dry_run": dry_run})
        verb = "would free" if dry_run else "freed"
        click.echo(f"{verb} {size(r['freed'])}: {', '.join(r['evicted']) or 'nothing'}")
