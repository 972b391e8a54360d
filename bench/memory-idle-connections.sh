#!/bin/bash
# Proxy RSS per idle client connection (target < 64 KiB), with N idle clients (default 10,000) against the
# real proxy (dist/, run `npm run build` first) in front of a real slapd. The bench process, the proxy and
# slapd each hold N sockets or more (the proxy 2N: client + backend), so the descriptor limit is raised
# here; that needs root or a hard limit of at least 2N + 100.
#
#   bash bench/memory-idle-connections.sh [N]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
N="${1:-10000}"
NEED=$((2 * N + 200))
if [ "$(ulimit -n)" -lt "$NEED" ]; then
  ulimit -n "$NEED" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi
if [ "$(ulimit -n)" -lt "$NEED" ]; then
  # The hard limit cannot be raised here (no CAP_SYS_RESOURCE in a container): measure the largest N that
  # fits, and say so; the figure is per connection, so it carries over.
  FIT=$((($(ulimit -n) - 200) / 2))
  echo "memory-idle-connections: ulimit -n is $(ulimit -n) (hard $(ulimit -Hn)), $NEED needed for N=$N; measuring N=$FIT" >&2
  N="$FIT"
fi
cd "$HERE/.."
exec node --import tsx bench/memory-idle-connections.ts "$N"
