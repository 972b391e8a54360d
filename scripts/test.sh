#!/usr/bin/env bash
# npm test: install what the suite needs, build, lint, then run every test for real.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
[ -d node_modules ] || npm ci
npm run build
npm run lint
node scripts/run-tests.mjs "$@"
