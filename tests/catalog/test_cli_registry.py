"""``plugai models pull|ls|rm|scan|ps`` and ``plugai storage`` (through ``plugai_client``)
against a real server whose Hugging Face endpoint (``HF_ENDPOINT``) is the fake hub, or
that pulls from the loopback file server."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from plugai_client.types import DownloadJob

from plugai.cli import main
from plugai.settings import Settings
from tests.catalog.conftest import FAST, NO_FLOOR
from tests.catalog.layouts import write_gguf
from tests.catalog.servers import FakeHub, FileServer
from tests.conftest import ADMIN_KEY
from tests.live import live_server
from tests.server import run_server


def test_pull_ls_storage_rm(hub: FakeHub, tmp_path: Path) -> None:
    q4 = write_gguf(tmp_path / "q4.gguf").read_bytes() + b"\1" * 300_000
    hub.add_repo("org/tiny-GGUF", {"tiny-Q4_K_M.gguf": q4, "tiny-Q8_0.gguf": b"\2" * 10})
    env = {
        "PLUGAI_ADMIN_KEY": ADMIN_KEY,
        "PLUGAI_STORAGE__MIN_FREE_DISK": "0",
        "HF_ENDPOINT": hub.url,
        "HF_HUB_CACHE": str(tmp_path / "empty-hf-cache"),
    }
    with run_server(tmp_path / "data", env=env) as server:
        cli = CliRunner(env={"PLUGAI_BASE_URL": server.url, "PLUGAI_API_KEY": ADMIN_KEY})
        pulled = cli.invoke(main, ["models", "pull", "hf://org/tiny-GGUF", "--file", "*Q4_K_M*"])
        assert pulled.exit_code == 0, pulled.output
        assert "ready: local/tiny-Q4_K_M" in pulled.output
        assert any(
            line.startswith("tiny-Q4_K_M.gguf") and "100%" in line
            for line in pulled.output.splitlines()
        ), pulled.output
        listed = cli.invoke(main, ["models", "ls"])
        assert "tiny-Q4_K_M" in listed.output and "gguf" in listed.output
        usage = cli.invoke(main, ["storage"])
        assert usage.exit_code == 0 and "models:" in usage.output
        dry = cli.invoke(main, ["storage", "cleanup", "--dry-run"])
        assert dry.exit_code == 0 and "would free" in dry.output
        assert cli.invoke(main, ["models", "scan"]).exit_code == 0
        removed = cli.invoke(main, ["models", "rm", "local/tiny-Q4_K_M"])
        assert removed.output.strip() == "deleted tiny-Q4_K_M"
        missing = cli.invoke(main, ["models", "pull", "hf://org/none"])
        assert missing.exit_code == 1 and "404" in missing.output


def test_pull_follows_an_interrupted_job_and_reports_failures(
    make_settings: Callable[..., Settings],
    files: FileServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C leaves the job running and the next pull follows it; --detach prints the job
    id; a failed download, a wrong key and an unreachable server are one line each; the key
    may come from <PLUGAI_DATA_DIR>/admin.key; ``models ps`` lists nothing loaded."""
    from plugai_client import PlugAI

    import plugai.cli_registry as cli_registry

    slow = files.add("slow.gguf", write_gguf(tmp_path / "s.gguf").read_bytes() + b"\3" * 400_000)
    files.files["slow.gguf"].behaviour.rate = 400_000
    data = b"\4" * 1000
    bad = files.add("bad.gguf", data, corrupt=True)
    settings = make_settings(local=FAST | {"scan_hf_cache": False}, storage=NO_FLOOR)
    with live_server(settings) as url, PlugAI(url, ADMIN_KEY) as client:
        cli = CliRunner(env={"PLUGAI_BASE_URL": url, "PLUGAI_API_KEY": ADMIN_KEY})
        real_update = cli_registry.PullProgress.update

        def interrupt(self: cli_registry.PullProgress, job: DownloadJob) -> None:
            if job.state == "running":
                raise KeyboardInterrupt
            real_update(self, job)

        monkeypatch.setattr(cli_registry.PullProgress, "update", interrupt)
        stopped = cli.invoke(main, ["models", "pull", slow])
        assert stopped.exit_code == 130, stopped.output
        assert "the download goes on" in stopped.output
        (job,) = client.registry.downloads.list()
        assert job.state in ("queued", "running")  # still going on the server
        monkeypatch.setattr(cli_registry.PullProgress, "update", real_update)

        detached = cli.invoke(main, ["models", "pull", slow, "--detach"])
        assert detached.output.strip() == job.id  # the same job, not a new one
        followed = cli.invoke(main, ["models", "pull", slow])
        assert followed.exit_code == 0, followed.output
        assert f"following the download already under way ({job.id})" in followed.output
        assert "100%" in followed.output and "ready: local/slow" in followed.output
        assert [j.id for j in client.registry.downloads.list()] == [job.id]

        sha = hashlib.sha256(data).hexdigest()
        failed = cli.invoke(main, ["models", "pull", bad, "--sha256", sha])
        assert (
            failed.exit_code == 1
            and "error: download failed: bad.gguf: sha256 mismatch" in failed.output
        )

        (tmp_path / "keys").mkdir()
        (tmp_path / "keys" / "admin.key").write_text(ADMIN_KEY + "\n")
        by_file = {"PLUGAI_API_KEY": None, "PLUGAI_DATA_DIR": str(tmp_path / "keys")}
        listed = cli.invoke(main, ["models", "ls"], env=by_file)
        assert listed.exit_code == 0 and "slow" in listed.output, listed.output
        no_key = cli.invoke(main, ["models", "ls"], env=by_file | {"PLUGAI_DATA_DIR": "/nope"})
        assert no_key.exit_code == 2 and "no API key" in no_key.output
        wrong = cli.invoke(main, ["storage"], env={"PLUGAI_API_KEY": "sk-wrong"})
        assert wrong.exit_code == 1 and "error: 401: " in wrong.output

        ps = cli.invoke(main, ["models", "ps"])
        assert ps.exit_code == 0 and ps.output.split() == [
            "MODEL",
            "PID",
            "MEMORY",
            "DEVICE",
            "BUSY",
            "UNLOADS",
        ]
        refused = cli.invoke(main, ["models", "ps"], env={"PLUGAI_API_KEY": "sk-wrong"})
        assert refused.exit_code == 1 and "401" in refused.output
        removed = cli.invoke(main, ["models", "rm", "slow"])
        assert removed.output.strip() == "deleted slow"

    gone = cli.invoke(main, ["models", "ls"])
    assert gone.exit_code == 1 and "cannot reach" in gone.output
