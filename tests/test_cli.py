"""The `plugai` command: help texts, config errors and user/key management."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from plugai.cli import main


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


def test_users_and_keys_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path)]
    created = runner.invoke(main, ["users", "create", "ops", "--admin", *data])
    assert created.exit_code == 0, created.output
    assert "created admin ops" in created.output
    token = created.output.split("api key (shown once): ")[1].strip()
    assert token.startswith("sk-plugai-")

    listed = runner.invoke(main, ["users", "list", *data])
    assert "ops" in listed.output
    assert "admin" in listed.output
    assert token not in listed.output

    key = runner.invoke(
        main, ["users", "keys", "create", "ops", "--name", "ci", "--expires-in", "1d", *data]
    )
    assert key.exit_code == 0, key.output
    key_id = key.output.split("created key ")[1].split()[0]
    keys = runner.invoke(main, ["users", "keys", "list", "ops", *data])
    assert "ci" in keys.output
    assert "active" in keys.output

    revoked = runner.invoke(main, ["users", "keys", "revoke", "ops", key_id, *data])
    assert revoked.exit_code == 0
    assert "revoked" in runner.invoke(main, ["users", "keys", "list", "ops", *data]).output

    dup = runner.invoke(main, ["users", "create", "ops", *data])
    assert dup.exit_code == 1
    assert "already exists" in dup.output
    ghost = runner.invoke(main, ["users", "keys", "list", "ghost", *data])
    assert ghost.exit_code == 1
