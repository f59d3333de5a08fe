#!/usr/bin/env bash
# Regenerates src/api/schema.d.ts from PlugAI's OpenAPI document (no running server needed):
# the FastAPI app is built in-process and app.openapi() is dumped to openapi.json.
set -euo pipefail
WEB="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$(cd "$WEB/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python3
env -u PLUGAI_CONFIG "$PY" - "$WEB/openapi.json" <<'PYEOF'
import json
import sys

from plugai.api.app import create_app
from plugai.settings import Settings

doc = create_app(Settings()).openapi()
with open(sys.argv[1], "w") as f:
    json.dump(doc, f, indent=1, sort_keys=True)
    f.write("\n")
PYEOF
cd "$WEB"
# Fields with a server default stay optional in request bodies.
npx openapi-typescript openapi.json --default-non-nullable false -o src/api/schema.d.ts
