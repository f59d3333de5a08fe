"""Lighthouse (npm, mobile emulation) on the served app in the local Chromium, with the
issue's thresholds: accessibility and best practices >= 95, performance >= 90, and the app
shell's JavaScript <= 200 KB gzipped (the highlighter and the 3D viewer load only when
needed). Installability is checked by test_web_app.py::test_installable_pwa_with_an_offline_shell.

Runs web/scripts/lighthouse.sh twice (the sign-in screen on a first visit, the signed-in
chat on a return visit; ~15 s each). Performance is timing-based: a page is measured again
once when it misses its threshold. Skipped when Lighthouse can't be fetched with npx
(offline) or with PLUGAI_SKIP_LIGHTHOUSE=1.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.e2e.conftest import ADMIN_KEY, CHROMIUM, ROOT, WEB
from tests.server import ServerProcess

SCRIPT = WEB / "scripts" / "lighthouse.sh"
OUT = ROOT / "test-output" / "lighthouse"
MIN = {"accessibility": 95, "best-practices": 95, "performance": 90}
SHELL_JS_LIMIT = 200 * 1024


@pytest.fixture(scope="module")
def lighthouse() -> None:
    if os.environ.get("PLUGAI_SKIP_LIGHTHOUSE"):
        pytest.skip("PLUGAI_SKIP_LIGHTHOUSE is set")
    if not shutil.which("npx") or not Path(CHROMIUM).exists():
        pytest.skip("npx or chromium is missing")
    try:
        subprocess.run(
            ["npx", "--yes", "lighthouse@12", "--version"],
            cwd=WEB,
            check=True,
            capture_output=True,
            timeout=180,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"Lighthouse could not be fetched with npx (offline?): {exc}")


def measure(url: str, name: str, key: str | None = None) -> dict[str, Any]:
    out = OUT / name
    env = {**os.environ, "LIGHTHOUSE_OUT": str(out), "CHROME_PATH": CHROMIUM}
    env.pop("PLUGAI_API_KEY", None)
    if key:
        env["PLUGAI_API_KEY"] = key
    run = subprocess.run(
        [str(SCRIPT), url], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
    print(run.stdout)
    report: dict[str, Any] = json.loads((out / "report.report.json").read_text())
    return report


def scores(report: dict[str, Any]) -> dict[str, int]:
    return {k: round(c["score"] * 100) for k, c in report["categories"].items()}


def checked(url: str, name: str, key: str | None = None) -> dict[str, Any]:
    """Lighthouse's report (measured once more when performance alone fell short: timing
    noise on a busy machine)."""
    report = measure(url, name, key)
    if scores(report)["performance"] < MIN["performance"]:
        report = measure(url, name, key)
    return report


def below(report: dict[str, Any]) -> dict[str, int]:
    """The categories under their floor (empty when every score is good enough)."""
    got = scores(report)
    return {k: got[k] for k, floor in MIN.items() if got[k] < floor}


def scripts_loaded(report: dict[str, Any]) -> list[Path]:
    items = report["audits"]["network-requests"]["details"]["items"]
    names = {
        Path(urlparse(i["url"]).path).name
        for i in items
        if i.get("resourceType") == "Script" and "/assets/" in i["url"]
    }
    return sorted(WEB / "dist" / "assets" / n for n in names)


def test_sign_in_screen(lighthouse: None, gateway: ServerProcess) -> None:
    report = checked(gateway.url + "/", "sign-in")
    assert not below(report), f"sign-in: below {MIN}: {scores(report)}"


def test_signed_in_chat_and_the_app_shell_size(lighthouse: None, gateway: ServerProcess) -> None:
    report = checked(gateway.url + "/", "signed-in", ADMIN_KEY)
    assert not below(report), f"signed-in: below {MIN}: {scores(report)}"
    loaded = scripts_loaded(report)
    names = " ".join(p.name for p in loaded)
    assert "Shell-" in names, names  # it measured the signed-in app
    assert "highlight-" not in names and "scene-" not in names, names  # lazy chunks stay out
    size = sum(len(gzip.compress(p.read_bytes(), 9)) for p in loaded)
    print(f"app shell JavaScript: {size} B gzipped ({names})")
    assert size <= SHELL_JS_LIMIT, f"{size} B gzipped > {SHELL_JS_LIMIT}: {names}"
