#!/usr/bin/env bash
# Builds the web app into web/dist: `npm ci` (only when package-lock.json changed since the
# last install), then `npm run build` (type check + Vite). With --test, also `npx vitest run`.
# Without Node.js it says so and exits 0: the gateway then serves the API only.
set -euo pipefail
WEB="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$WEB"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "Node.js (npm) is not installed: skipping the web app (install Node 20+ to build web/dist)." >&2
  exit 0
fi
stamp="node_modules/.plugai-lock-sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing the web app's packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
npm run --silent build
if [ "${1:-}" = "--test" ]; then
  npx vitest run
fi
