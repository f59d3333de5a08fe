#!/usr/bin/env bash
# Sets PlugAI up (first run only) and runs the service on 127.0.0.1:8080 with SQLite in ./data.
# Extra arguments go to `plugai serve` (see `plugai serve --help`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/plugai" serve "$@"
