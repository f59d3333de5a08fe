"""The `plugai` command: help texts, config errors, user/key management, and pulling a
model with per-file progress bars."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from plugai_client.types import DownloadJob

from plugai.cli import main
from tests.catalog.servers import FakeHub, running
from tests.conftest import ADMIN_KEY
from tests.server import run_server


def test_help_documents_every_command_and_flag() -> None:
    runner = CliRunner()
    top = runner.invoke(main, ["--help"]).output
    for command in ("serve", "users"):
        assert command in top
    serve = runner.invoke(main, ["serve", "--help"]).output
    for flag in ("--host", "--port", "--data-dir", "--config", "--workers", "--log-level"):
        assert flag in serve
    users = runner.invoke(main, ["users", "--help"]).output
    for command in ("create", "list", "keys"):
        assert command in users
    create = runner.invoke(main, ["users", "create", "--help"]).output
    for flag in ("--url", "--api-key", "--data-dir", "PLUGAI_BASE_URL", "PLUGAI_API_KEY"):
        assert flag in create
    keys = runner.invoke(main, ["users", "keys", "--help"]).output
    for command in ("create", "list", "revoke"):
        assert command in keys


def test_broken_config_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("server:\n  port: not-a-number\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "plugai",
            "serve",
            "--config",
            str(bad),
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"plugai: error: {bad}: server.port:")
    assert "Traceback" not in proc.stderr


def test_users_and_keys_commands_against_a_running_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    runner = CliRunner(env={"PLUGAI_BASE_URL": None, "PLUGAI_API_KEY": None})
    with run_server(data) as server:
        # the admin key comes from <data-dir>/admin.key, written at the first start
        where = ["--url", server.url, "--data-dir", str(data)]
        created = runner.invoke(main, ["users", "create", "ops", "--admin", *where])
        assert created.exit_code == 0, created.output
        assert "created admin ops" in created.output
        token = created.output.split("api key (shown once): ")[1].strip()
        assert token.startswith("sk-plugai-")

        # or from PLUGAI_BASE_URL / PLUGAI_API_KEY
        env = {"PLUGAI_BASE_URL": server.url, "PLUGAI_API_KEY": token}
        listed = runner.invoke(main, ["users", "list"], env=env)
        assert listed.exit_code == 0, listed.output
        assert "ops" in listed.output
        assert "admin" in listed.output
        assert token not in listed.output

        key = runner.invoke(
            main, ["users", "keys", "create", "ops", "--name", "ci", "--expires-in", "1d"], env=env
        )
        assert key.exit_code == 0, key.output
        key_id = key.output.split("created key ")[1].split()[0]
        keys = runner.invoke(main, ["users", "keys", "list", "ops"], env=env)
        assert "ci" in keys.output
        assert "active" in keys.output

        revoked = runner.invoke(main, ["users", "keys", "revoke", "ops", key_id], env=env)
        assert revoked.exit_code == 0, revoked.output
        listed_keys = runner.invoke(main, ["users", "keys", "list", "ops"], env=env).output
        assert "revoked" in listed_keys

        by_flag = ["--url", server.url, "--api-key", token]
        dup = runner.invoke(main, ["users", "create", "ops", *by_flag])
        assert dup.exit_code == 1
        assert "already exists" in dup.output
        ghost = runner.invoke(main, ["users", "keys", "list", "ghost", *by_flag])
        assert ghost.exit_code == 1
        assert "ghost" in ghost.output

        user = runner.invoke(main, ["users", "create", "plain", *by_flag])
        plain_key = user.output.split("api key (shown once): ")[1].strip()
        denied = runner.invoke(main, ["users", "list", "--url", server.url, "--api-key", plain_key])
        assert denied.exit_code == 1
        assert "Traceback" not in denied.output

    keyless = runner.invoke(main, ["users", "list", "--data-dir", str(tmp_path / "none")])
    assert keyless.exit_code == 2
    assert "no API key" in keyless.output
    down = runner.invoke(main, ["users", "list", "--url", server.url, "--api-key", token])
    assert down.exit_code == 1
    assert "cannot reach the server" in down.output


def test_route_mistake_found_before_serving_exits_2(tmp_path: Path) -> None:
    """Routes are checked before the server starts (in a child process, see cli._prestart)."""
    config = tmp_path / "plugai.yaml"
    config.write_text("models:\n  - {id: fast, route: [nowhere/model]}\n")
    where = ["--config", str(config), "--data-dir", str(tmp_path / "data")]
    proc = subprocess.run(
        [sys.executable, "-m", "plugai", "serve", *where, "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("plugai: error: models: target 'nowhere/model'")


def bars(output: str) -> dict[str, str]:
    """The progress lines printed by ``models pull``, by their first word (file or total)."""
    return {line.split()[0]: line for line in output.splitlines() if "━" in line}


def test_models_pull_shows_a_bar_per_file_and_ctrl_c_leaves_the_job_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``plugai models pull`` against a real server and a (fake) hub: a progress bar per
    file (bytes, rate, ETA) and a total; Ctrl-C says the download goes on, ``models ls``
    shows the model downloading, and the next pull follows the same job to the end."""
    import plugai.cli_registry as cli_registry

    config = json.dumps({"architectures": ["LlamaForCausalLM"], "max_position_embeddings": 64})
    weights = os.urandom(3 * 1024 * 1024)
    with running(FakeHub()) as hub:
        repo = hub.add_repo(
            "org/tiny-llm", {"config.json": config.encode(), "model.safetensors": weights}
        )
        repo.files["model.safetensors"].behaviour.rate = 1024 * 1024
        env = {
            "PLUGAI_ADMIN_KEY": ADMIN_KEY,
            "PLUGAI_STORAGE__MIN_FREE_DISK": "0",
            "HF_ENDPOINT": hub.url,
            "HF_HUB_CACHE": str(tmp_path / "empty-hf-cache"),
        }
        with run_server(tmp_path / "data", env=env) as server:
            cli = CliRunner(env={"PLUGAI_BASE_URL": server.url, "PLUGAI_API_KEY": ADMIN_KEY})
            real_update = cli_registry.PullProgress.update

            def ctrl_c(self: cli_registry.PullProgress, job: DownloadJob) -> None:
                real_update(self, job)
                if any(f.path == "model.safetensors" and f.bytes_done for f in job.file_progress):
                    raise KeyboardInterrupt

            monkeypatch.setattr(cli_registry.PullProgress, "update", ctrl_c)
            stopped = cli.invoke(main, ["models", "pull", "hf://org/tiny-llm"])
            assert stopped.exit_code == 130, stopped.output
            assert "interrupted: the download goes on on the server (dl_" in stopped.output
            assert "pull hf://org/tiny-llm again to follow it" in stopped.output
            assert set(bars(stopped.output)) == {"config.json", "model.safetensors", "total"}
            assert "100%" in bars(stopped.output)["config.json"]

            listed = cli.invoke(main, ["models", "ls"])
            (row,) = [line for line in listed.output.splitlines() if line.startswith("tiny-llm")]
            assert row.split()[1:4] == ["safetensors", "3.0", "MiB"] and "downloading" in row

            monkeypatch.setattr(cli_registry.PullProgress, "update", real_update)
            followed = cli.invoke(main, ["models", "pull", "hf://org/tiny-llm"])
            assert followed.exit_code == 0, followed.output
            assert "following the download already under way (dl_" in followed.output
            lines = bars(followed.output)
            assert list(lines) == ["config.json", "model.safetensors", "total"]
            assert "100%" in lines["config.json"] and "70/70 bytes" in lines["config.json"]
            assert (
                "100%" in lines["model.safetensors"] and "3.0/3.0 MiB" in lines["model.safetensors"]
            )
            assert "100%" in lines["total"] and "/s" in lines["total"]
            assert followed.output.strip().endswith("ready: local/tiny-llm")

            jobs = httpx.get(
                f"{server.url}/v1/registry/downloads",
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            ).json()["data"]
            assert [j["state"] for j in jobs] == ["done"]  # one job, followed twice
            listed = cli.invoke(main, ["models", "ls"])
            assert "ready" in listed.output
