"""``plugai models pull|ls|rm|scan`` and ``plugai storage`` against a real server whose
Hugging Face endpoint (``HF_ENDPOINT``) is the fake hub."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from plugai.cli import main
from tests.catalog.layouts import write_gguf
from tests.catalog.servers import FakeHub
from tests.conftest import ADMIN_KEY
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
        assert "100.0%" in pulled.output
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
