#!/usr/bin/env bash
# Render the report's index page in headless Chromium to a PNG, so a person can look at it.
# Usage: bash scripts/screenshot_report.sh [report-dir]   (default data/processed/report)
# Needs Debian's chromium (apt-get install chromium); `make screenshot` builds the report first.
set -euo pipefail
dir="${1:-data/processed/report}"
index="$dir/index.html"
[ -f "$index" ] || { echo "error: $index not found: run \`python -m analysis report\` first" >&2; exit 2; }
browser="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$browser" ] || { echo "error: chromium not found: apt-get install chromium" >&2; exit 2; }
out="$dir/index.png"
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,2400 \
  --screenshot="$out" "file://$(realpath "$index")" 2>/dev/null
[ -s "$out" ] || { echo "error: chromium wrote no screenshot" >&2; exit 1; }
echo "screenshot: $out ($(stat -c %s "$out") bytes)"
