#!/usr/bin/env bash
# Measures the served web app: Lighthouse (npm, mobile emulation) in the local Chromium, and
# the app shell's JavaScript size gzipped. A measurement, not a test.
#   web/scripts/lighthouse.sh [URL]      (default http://127.0.0.1:8080/; run the gateway first)
# With PLUGAI_API_KEY set, it measures the signed-in app: the key is put in a fresh profile's
# localStorage first (Python Playwright from .venv) and Lighthouse keeps that profile's storage
# (so the service worker's cache is warm: a returning visit).
# LIGHTHOUSE_CATEGORIES narrows the audit (default: performance,accessibility,best-practices,seo).
set -euo pipefail
WEB="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
URL="${1:-http://127.0.0.1:8080/}"
OUT="${LIGHTHOUSE_OUT:-$WEB/../test-output/lighthouse}"
CHROME="${CHROME_PATH:-/usr/bin/chromium}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

echo "== web/dist JavaScript by chunk (gzipped; highlight-* and scene-* load only when needed)"
total=0
for f in "$WEB"/dist/assets/*.js; do
  n=$(gzip -9 -c "$f" | wc -c)
  total=$((total + n))
  printf '%8d B  %s\n' "$n" "$(basename "$f")"
done
printf '%8d B  total (%d KB)\n' "$total" $((total / 1024))

PROFILE="$(mktemp -d)"
KEEP=()
if [ -n "${PLUGAI_API_KEY:-}" ]; then
  "$WEB/../.venv/bin/python" - "$URL" "$PROFILE" "$CHROME" <<'PYEOF'
import os
import sys

from playwright.sync_api import sync_playwright

url, profile, chrome = sys.argv[1:4]
flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
with sync_playwright() as pw:
    ctx = pw.chromium.launch_persistent_context(profile, executable_path=chrome, args=flags)
    page = ctx.new_page()
    page.goto(url)
    page.evaluate("k => localStorage.setItem('plugai.apiKey', k)", os.environ["PLUGAI_API_KEY"])
    page.reload()
    page.locator(".topbar").wait_for()
    ctx.close()
PYEOF
  KEEP=(--disable-storage-reset)
  echo "== Lighthouse $URL (mobile, signed in, returning visit)"
else
  echo "== Lighthouse $URL (mobile, sign-in screen, first visit)"
fi
CHROME_PATH="$CHROME" npx --yes lighthouse@12 "$URL" --quiet "${KEEP[@]}" \
  --only-categories="${LIGHTHOUSE_CATEGORIES:-performance,accessibility,best-practices,seo}" \
  --chrome-flags="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --user-data-dir=$PROFILE" \
  --output=json --output=html --output-path="$OUT/report"
node -e '
const r = require(process.argv[1]);
for (const [k, c] of Object.entries(r.categories)) console.log(`${c.title.padEnd(16)} ${Math.round(c.score * 100)}`);
const a = r.audits;
for (const id of ["first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift"])
  console.log(`${a[id].title.padEnd(26)} ${a[id].displayValue}`);
const fails = Object.values(a).filter((x) => x.score !== null && x.score < 1 && x.scoreDisplayMode === "binary");
if (fails.length) console.log("not passed: " + fails.map((x) => x.id).join(", "));
' "$OUT/report.report.json"
echo "reports: $OUT/report.report.html"
