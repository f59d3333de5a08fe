"""The `plugai` command: help texts, config errors and user/key management."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from plugai.cli import main
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
