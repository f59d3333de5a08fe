#!/usr/bin/env bash
# Sets PlugAI up (first run only) and runs the service on 127.0.0.1:8080 with SQLite in ./data.
# Extra arguments go to `plugai serve` (see `plugai serve --help`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
# The web app at / (web/dist): built on the first run when Node.js is there.
[ -f "$ROOT/web/dist/index.html" ] || "$ROOT/web/scripts/build.sh" \
  || echo "The web app failed to build: serving the API only." >&2
cd "$ROOT"
exec "$ROOT/.venv/bin/plugai" serve "$@"
