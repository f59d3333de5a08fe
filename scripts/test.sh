#!/usr/bin/env bash
# Sets everything up (first run only) and runs every check and test:
# ruff (lint + format), mypy --strict on src/ and the client, the web app (build + Vitest),
# pytest with coverage (tests/e2e: the web app in headless Chromium).
# With PLUGAI_TEST_DATABASE_URL set (CI sets it), database tests also run on PostgreSQL.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh" dev,local
cd "$ROOT"
BIN="$ROOT/.venv/bin"

echo "== ruff lint"; "$BIN/ruff" check src tests bench clients/python
echo "== ruff format"; "$BIN/ruff" format --check src tests bench clients/python
echo "== mypy --strict src"; "$BIN/mypy" src
echo "== mypy --strict clients/python/plugai_client"; "$BIN/mypy" clients/python/plugai_client
echo "== web: npm ci (when the lock changed), build, vitest"; "$ROOT/web/scripts/build.sh" --test
# The end-to-end tests (tests/e2e) drive Debian's Chromium; they skip, saying why, without it.
command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) \
  || echo "chromium could not be installed: tests/e2e will be skipped" >&2
echo "== pytest ${PLUGAI_TEST_DATABASE_URL:+(SQLite + PostgreSQL)}"
"$BIN/pytest" -p no:cacheprovider --cov --cov-report=term "$@"
