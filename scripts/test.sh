#!/usr/bin/env bash
# Sets everything up (first run only) and runs every check and test:
# ruff (lint + format), mypy --strict on src/ and the client, pytest with coverage.
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
echo "== pytest ${PLUGAI_TEST_DATABASE_URL:+(SQLite + PostgreSQL)}"
"$BIN/pytest" -p no:cacheprovider --cov --cov-report=term "$@"
