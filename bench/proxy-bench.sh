#!/bin/bash
# Proxy benchmark: one slapd (back-mdb, 10,000 users) measured directly, through shrtok-proxy, through
# OpenLDAP's own back-ldap proxy and through HAProxy in TCP mode (a byte relay that parses nothing: the
# floor for any user-space relay on this machine), interleaved in one run.
#
#   bash bench/proxy-bench.sh [-s SECS] [-r RUNS] [-c "16 64"] [-k "search bind"] [-n USERS] [-l LAT_N] [-o FILE]
#
#   -s  measuring window per run in seconds (default 10; quick mode: -s 5)
#   -r  runs per (kind, concurrency); target order rotates each run (default 3, or 1 with -s < 10)
#   -c  ldclt thread counts = client connections (default "16 64")
#   -k  kinds: search (bound as a service account, exact uid=userNNNN on random users) and
#       bind (new connection + simple bind as a random user + unbind, per operation)
#   -n  users in the DIT (default 10000)
#   -l  rounds of the one-connection latency probe (default 2000; 0 skips it)
#   -o  raw RESULT lines go here (default: a file in /tmp, printed at the end)
#
# Throughput is counted at the backend (cn=Monitor, completed Search/Bind operations) over a fixed window
# that opens WARM seconds after ldclt starts, so ldclt's 10-second sampling does not bound the run length
# and connection set-up is outside the window. CPU per operation comes from /proc/<pid>/stat
# (utime+stime) of each server process over the same window. Everything listens on 127.0.0.1 and is
# stopped by the pid this script recorded when it started it. Needs `npm run build` first.
# unattr% = CPU of the whole machine (in % of one core) not used by slapd, the proxies or ldclt during the
# window: loopback softirq plus anything else running on the box; much above ~80 means a busy machine.
# Before each run the script waits up to QUIET_WAIT (8) s for the box to drop under QUIET_MAX_PCT (30) % of
# one core busy, and flags the run otherwise.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
SECS=10; RUNS=""; CONCS="16 64"; KINDS="search bind"; NUSERS=10000; LAT_N=2000; OUT=""; WARM=2
while getopts "s:r:c:k:n:l:o:h" opt; do
  case "$opt" in
    s) SECS="$OPTARG" ;; r) RUNS="$OPTARG" ;; c) CONCS="$OPTARG" ;; k) KINDS="$OPTARG" ;;
    n) NUSERS="$OPTARG" ;; l) LAT_N="$OPTARG" ;; o) OUT="$OPTARG" ;;
    *) sed -n '2,22p' "$0"; exit 2 ;;
  esac
done
[ -z "$RUNS" ] && { if [ "$SECS" -lt 10 ]; then RUNS=1; else RUNS=3; fi; }

PY=/usr/bin/python3
SLAPD=/usr/sbin/slapd
SLAPADD=/usr/sbin/slapadd
LDCLT=/usr/bin/ldclt
HAPROXY=/usr/sbin/haproxy
SUFFIX="dc=bench,dc=example"
PEOPLE="ou=People,$SUFFIX"
ROOT_DN="cn=root,$SUFFIX"
ROOT_PW="bench-root-$$"
SVC_DN="cn=svc,$SUFFIX"
SVC_PW="bench-svc-$$"
TICK=$(getconf CLK_TCK)
PROXY_BIN="${PROXY_BIN:-$REPO/bin/shrtok-proxy}"   # override to measure another build

for f in "$PY" "$SLAPD" "$SLAPADD" "$LDCLT" "$HAPROXY" /usr/bin/ldapsearch; do
  [ -x "$f" ] || { echo "missing $f (Debian packages slapd ldap-utils 389-ds-base python3-ldap haproxy)" >&2; exit 1; }
done
if [ "$PROXY_BIN" = "$REPO/bin/shrtok-proxy" ] && [ ! -f "$REPO/dist/cli/main.js" ]; then echo "dist/ is missing: run 'npm run build' first" >&2; exit 1; fi

WORK="$(mktemp -d /tmp/shrtok-bench.XXXXXX)"
[ -z "$OUT" ] && OUT="/tmp/shrtok-bench-$(date -u +%Y%m%d-%H%M%S).txt"
: >"$OUT"
STARTED=()

stop_pid() {
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}
cleanup() {
  local i
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do stop_pid "${STARTED[$i]}"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_ldap() {
  local port="$1" i
  for i in $(seq 1 300); do
    ldapsearch -x -LLL -H "ldap://127.0.0.1:$port" -b "" -s base namingContexts >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "nothing answers LDAP on 127.0.0.1:$port" >&2
  return 1
}

SCHEMAS="include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema"

# ---- backend: slapd back-mdb, users loaded offline with slapadd
BPORT=$(free_port)
mkdir -p "$WORK/backend/db"
cat >"$WORK/backend/slapd.conf" <<EOF
$SCHEMAS
pidfile $WORK/backend/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload back_monitor
loglevel 0
threads 16
sizelimit 500

database mdb
suffix "$SUFFIX"
rootdn "$ROOT_DN"
rootpw $ROOT_PW
directory $WORK/backend/db
maxsize 2147483648
index objectClass eq
index uid eq
index cn eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read

database monitor
access to * by dn.exact="$ROOT_DN" read by * none
EOF
echo "# generating $NUSERS users ..." >&2
"$PY" "$HERE/lib/make-data.py" "$SUFFIX" "$NUSERS" "$SVC_DN" "$SVC_PW" "$WORK/binddns.txt" >"$WORK/data.ldif"
"$SLAPADD" -q -f "$WORK/backend/slapd.conf" -l "$WORK/data.ldif" || exit 1
"$SLAPD" -d 0 -f "$WORK/backend/slapd.conf" -h "ldap://127.0.0.1:$BPORT/" >"$WORK/backend/log" 2>&1 &
BPID=$!; STARTED+=("$BPID")
wait_ldap "$BPORT" || exit 1

# ---- back-ldap: a stock OpenLDAP proxy in front of the backend
LPORT=$(free_port)
mkdir -p "$WORK/backldap"
cat >"$WORK/backldap/slapd.conf" <<EOF
$SCHEMAS
pidfile $WORK/backldap/slapd.pid
modulepath /usr/lib/ldap
moduleload back_ldap
loglevel 0
threads 16

database ldap
suffix "$SUFFIX"
uri "ldap://127.0.0.1:$BPORT/"
EOF
"$SLAPD" -d 0 -f "$WORK/backldap/slapd.conf" -h "ldap://127.0.0.1:$LPORT/" >"$WORK/backldap/log" 2>&1 &
LPID=$!; STARTED+=("$LPID")
wait_ldap "$LPORT" || exit 1

# ---- shrtok-proxy (stderr JSON log kept in a file; it is part of the proxy's measured CPU)
SPORT=$(free_port)
# shellcheck disable=SC2086  # PROXY_NODE_OPTS is a list of node flags, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
node ${PROXY_NODE_OPTS:-} "$PROXY_BIN" serve --listen "ldap://127.0.0.1:$SPORT" --backend "ldap://127.0.0.1:$BPORT" \
  >"$WORK/shrtok.out" 2>"$WORK/shrtok.log" &
SPID=$!; STARTED+=("$SPID")
wait_ldap "$SPORT" || { tail -5 "$WORK/shrtok.log" >&2; exit 1; }

# ---- HAProxy, TCP mode, one thread: relays bytes without looking at them (the relay floor)
HPORT=$(free_port)
mkdir -p "$WORK/haproxy"
cat >"$WORK/haproxy/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
defaults
  mode tcp
  timeout connect 5s
  timeout client 5m
  timeout server 5m
listen ldap
  bind 127.0.0.1:$HPORT
  server backend 127.0.0.1:$BPORT
EOF
"$HAPROXY" -db -f "$WORK/haproxy/haproxy.cfg" >"$WORK/haproxy/log" 2>&1 &
HPID=$!; STARTED+=("$HPID")
wait_ldap "$HPORT" || { tail -5 "$WORK/haproxy/log" >&2; exit 1; }

declare -A PORT=([direct]=$BPORT [shrtok]=$SPORT [backldap]=$LPORT [haproxy]=$HPORT)
declare -A PROXYPID=([direct]="" [shrtok]=$SPID [backldap]=$LPID [haproxy]=$HPID)
TARGETS=(direct shrtok backldap haproxy)

# every target must return the same entry and accept a user bind before anything is measured
K=$((NUSERS - 7))
for t in "${TARGETS[@]}"; do
  got=$(ldapsearch -x -LLL -H "ldap://127.0.0.1:${PORT[$t]}" -D "$SVC_DN" -w "$SVC_PW" -b "$PEOPLE" "(uid=user$K)" uid |
    grep -c "^uid: user$K$")
  ldapwhoami -x -H "ldap://127.0.0.1:${PORT[$t]}" -D "uid=user$K,$PEOPLE" -w "pass$K" >/dev/null 2>&1 || got=0
  [ "$got" = 1 ] || { echo "pre-flight failed on $t (:${PORT[$t]})" >&2; exit 1; }
done
nkinds=$(wc -w <<<"$KINDS"); nconcs=$(wc -w <<<"$CONCS")
est=$((nkinds * nconcs * RUNS * ${#TARGETS[@]} * (SECS + WARM + 2)))
echo "# backend :$BPORT  shrtok-proxy :$SPORT (pid $SPID)  back-ldap :$LPORT (pid $LPID)  haproxy :$HPORT (pid $HPID)  ~${est}s of load" >&2

# completed Search and Bind operations at the backend
backend_ops() {
  ldapsearch -x -LLL -H "ldap://127.0.0.1:$BPORT" -D "$ROOT_DN" -w "$ROOT_PW" -b "cn=Operations,cn=Monitor" \
    -s one "(|(cn=Search)(cn=Bind))" monitorOpCompleted |
    awk '/^dn: cn=Search/{k="search"} /^dn: cn=Bind/{k="bind"} /^monitorOpCompleted:/{v[k]=$2} END{print v["search"]+0, v["bind"]+0}'
}
ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
uticks() { awk '{print $14}' "/proc/$1/stat" 2>/dev/null || echo 0; }
sys_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }

# Waits (up to QUIET_WAIT s) for the box to be nearly idle before a run, so a neighbour's burst does not
# land in one target's window only; prints 1 if it gave up (the run is then flagged noisy).
QUIET_WAIT="${QUIET_WAIT:-8}"; QUIET_MAX_PCT="${QUIET_MAX_PCT:-30}"
wait_quiet() {
  local waited=0 s0 a0 s1 a1 busy
  while :; do
    read -r s0 a0 < <(sys_busy); sleep 0.5; read -r s1 a1 < <(sys_busy)
    busy=$(( (a1 - a0) > 0 ? 100 * $(nproc) * (s1 - s0) / (a1 - a0) : 0 ))
    [ "$busy" -le "$QUIET_MAX_PCT" ] && { echo 0; return; }
    waited=$((waited + 1))
    [ "$waited" -ge $((QUIET_WAIT * 2)) ] && { echo 1; return; }
  done
}

measure() {
  local kind="$1" conc="$2" target="$3" run="$4" port="${PORT[$3]}" ppid="${PROXYPID[$3]}"
  local log="$WORK/ldclt-$kind-$conc-$target-$run.log" lpid o0s o0b o1s o1b b0 b1 l0 l1 p0 p1 u0 u1
  local s0 a0 s1 a1 t0 t1 ops
  local noisy; noisy=$(wait_quiet)
  local args=(-h 127.0.0.1 -p "$port" -n "$conc" -N 1000 -E 10000 -q)
  case "$kind" in
    search) args+=(-D "$SVC_DN" -w "$SVC_PW" -b "$PEOPLE" -s subtree -f "uid=userXXXX" -r1000 -R9999 -e esearch,random) ;;
    bind) args+=(-e "bindeach,bindonly,randombinddnfromfile=$WORK/binddns.txt") ;;
  esac
  "$LDCLT" "${args[@]}" >"$log" 2>&1 &
  lpid=$!
  sleep "$WARM"
  t0=$(date +%s%N)
  read -r o0s o0b < <(backend_ops)
  b0=$(ticks "$BPID"); l0=$(ticks "$lpid"); p0=0; u0=0; [ -n "$ppid" ] && { p0=$(ticks "$ppid"); u0=$(uticks "$ppid"); }
  read -r s0 a0 < <(sys_busy)
  sleep "$SECS"
  t1=$(date +%s%N)
  read -r o1s o1b < <(backend_ops)
  b1=$(ticks "$BPID"); l1=$(ticks "$lpid"); p1=0; u1=0; [ -n "$ppid" ] && { p1=$(ticks "$ppid"); u1=$(uticks "$ppid"); }
  read -r s1 a1 < <(sys_busy)
  kill -INT "$lpid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$lpid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$lpid" 2>/dev/null
  wait "$lpid" 2>/dev/null
  # the monitor read itself is one bind and one search
  if [ "$kind" = search ]; then ops=$((o1s - o0s - 1)); else ops=$((o1b - o0b - 1)); fi
  local errs
  errs=$(grep -Eo 'Global error .* occurs *[0-9]+ times' "$log" | awk '{s+=$NF} END{print s+0}')
  grep -q 'Global no error' "$log" || [ "$errs" -gt 0 ] || errs="?"
  awk -v kind="$kind" -v conc="$conc" -v t="$target" -v run="$run" -v ops="$ops" -v secs="$(awk -v d="$((t1 - t0))" 'BEGIN{printf "%.4f", d / 1e9}')" \
    -v b="$((b1 - b0))" -v p="$((p1 - p0))" -v u="$((u1 - u0))" -v l="$((l1 - l0))" -v hz="$TICK" -v errs="$errs" -v noisy="$noisy" \
    -v busy="$((s1 - s0))" -v all="$((a1 - a0))" -v ncpu="$(nproc)" 'BEGIN{
      us = 1e6 / hz
      mb = (all > 0) ? 100 * ncpu * busy / all : 0
      ours = 100 * (b + p + l) / hz / secs
      per = (ops > 0) ? us / ops : 0
      proxy = (t == "direct") ? "-" : sprintf("%.1f", p * per)
      puser = (t == "direct") ? "-" : sprintf("%.1f", u * per)
      printf "RESULT kind=%s conc=%d target=%s run=%d ops=%d ops_s=%.1f proxy_us_op=%s proxy_user_us_op=%s backend_us_op=%.1f ldclt_us_op=%.1f errors=%s busy_pct=%.0f other_pct=%.0f noisy=%d\n",
        kind, conc, t, run, ops, ops / secs, proxy, puser, b * per, l * per, errs, mb, mb - ours, noisy
    }'
}

for kind in $KINDS; do
  for conc in $CONCS; do
    for run in $(seq 1 "$RUNS"); do
      for i in "${!TARGETS[@]}"; do
        t=${TARGETS[$(((i + run - 1) % ${#TARGETS[@]}))]}
        measure "$kind" "$conc" "$t" "$run" | tee -a "$OUT" >&2
        kill -0 "$SPID" 2>/dev/null || { echo "shrtok-proxy died; log:" >&2; tail -20 "$WORK/shrtok.log" >&2; exit 1; }
      done
    done
  done
done

LAT=""
if [ "$LAT_N" -gt 0 ]; then
  LAT=$(BENCH_PEOPLE="$PEOPLE" BENCH_NUSERS="$NUSERS" BENCH_SVC_DN="$SVC_DN" BENCH_SVC_PW="$SVC_PW" \
    "$PY" "$HERE/lib/seq-latency.py" "$LAT_N" "direct=ldap://127.0.0.1:$BPORT" \
    "shrtok=ldap://127.0.0.1:$SPORT" "backldap=ldap://127.0.0.1:$LPORT" "haproxy=ldap://127.0.0.1:$HPORT")
  echo "$LAT" | tee -a "$OUT" >&2
fi

echo
echo "shrtok-proxy benchmark $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${SECS}s windows, $RUNS run(s), $NUSERS users"
awk '
function med(list,   n, a, i, j, t) {
  n = split(list, a, " ")
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/^RESULT kind=/ {
  delete f; for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
  k = f["kind"] SUBSEP f["conc"] SUBSEP f["target"]
  if (!(k in seen)) { seen[k] = 1; order[++n] = k }
  ops[k] = ops[k] " " f["ops_s"]; pc[k] = pc[k] " " f["proxy_us_op"]; pu[k] = pu[k] " " f["proxy_user_us_op"]; bc[k] = bc[k] " " f["backend_us_op"]
  if (f["errors"] != "0") er[k] = er[k] " " f["errors"]
  ot[k] = ot[k] " " f["other_pct"]; nz[k] += f["noisy"]; nr[k]++
}
END {
  printf "%-7s %5s %-9s %10s %7s %19s %14s %8s  %s\n", "kind", "conc", "target", "ops/s", "ratio", "proxy_us/op (user)", "backend_us/op", "unattr%", "notes"
  for (i = 1; i <= n; i++) { k = order[i]; m[k] = med(ops[k]) }
  for (i = 1; i <= n; i++) {
    k = order[i]; split(k, p, SUBSEP); d = p[1] SUBSEP p[2] SUBSEP "direct"
    ratio = (d in m && m[d] > 0) ? sprintf("%.2f", m[k] / m[d]) : "-"
    proxy = p[3] == "direct" ? "-" : sprintf("%.1f (%.1f)", med(pc[k]), med(pu[k]))
    note = (k in er) ? "errors:" er[k] : ""
    if (nz[k] > 0) note = note sprintf(" %d/%d runs started on a busy box", nz[k], nr[k])
    printf "%-7s %5s %-9s %10.0f %7s %19s %14.1f %8.0f  %s\n", p[1], p[2], p[3], m[k], ratio, proxy, med(bc[k]), med(ot[k]), note
  }
}' "$OUT"
if [ -n "$LAT" ]; then
  echo
  echo "one connection, sequential exact searches (median over interleaved rounds):"
  echo "$LAT" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    printf "  %-9s p50 %7.1f us  p90 %7.1f us  added p50 %6.1f us\n", f["target"], f["p50_us"], f["p90_us"], f["added_p50_us"] }'
fi
echo
echo "raw results: $OUT"
