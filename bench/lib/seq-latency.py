#!/usr/bin/python3
"""Unloaded latency on one connection per target, measured interleaved so drift hits every target alike.

  seq-latency.py N NAME=URL [NAME=URL ...]

Each target gets one connection bound as the service account (BENCH_SVC_DN / BENCH_SVC_PW, base
BENCH_PEOPLE). Then N rounds: in every round each target (in rotating order) runs one exact-match
subtree search for a random user, timed with perf_counter. Prints one RESULT line per target with
p50/p90/p99 in microseconds and the p50 difference to the first target.
"""
import os
import random
import statistics
import sys
import time

import ldap

n = int(sys.argv[1])
targets = [a.split("=", 1) for a in sys.argv[2:]]
people = os.environ["BENCH_PEOPLE"]
nusers = int(os.environ.get("BENCH_NUSERS", "10000"))

conns = []
for name, url in targets:
    c = ldap.initialize(url)
    c.protocol_version = 3
    c.set_option(ldap.OPT_NETWORK_TIMEOUT, 10)
    c.simple_bind_s(os.environ["BENCH_SVC_DN"], os.environ["BENCH_SVC_PW"])
    conns.append(c)


def one(c):
    k = random.randrange(nusers)
    t0 = time.perf_counter()
    r = c.search_s(people, ldap.SCOPE_SUBTREE, f"(uid=user{k})", ["cn"])
    dt = time.perf_counter() - t0
    if len(r) != 1:
        raise SystemExit(f"search for user{k} returned {len(r)} entries")
    return dt


for c in conns:  # warm-up
    for _ in range(200):
        one(c)

samples = [[] for _ in targets]
for i in range(n):
    for j in range(len(targets)):
        k = (i + j) % len(targets)
        samples[k].append(one(conns[k]))


def q(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1e6


base = statistics.median(samples[0]) * 1e6
for (name, url), xs in zip(targets, samples):
    p50 = statistics.median(xs) * 1e6
    print(
        f"RESULT latency target={name} n={len(xs)} p50_us={p50:.1f} p90_us={q(xs, 0.9):.1f} "
        f"p99_us={q(xs, 0.99):.1f} added_p50_us={p50 - base:.1f}",
        flush=True,
    )
