#!/usr/bin/env bash
# npm run demo: works on a fresh clone. Installs npm and Debian packages when missing, builds, runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci
npm run build >/dev/null
exec node bin/shrtok-proxy demo "$@"
