// The prom-client metric families of every non-hot-path shrtok_ metric. Only src/metrics/registry.ts
// calls this; other modules use the typed methods of Metrics.
import client from 'prom-client';
import type { Registry } from 'prom-client';
import { LATENCY_BUCKETS } from './labels.js';

export const VERSION = '0.1.0';

/** Creates and registers the families; `activeLockouts` is read at every scrape when it returns a number. */
export function definePromFamilies(registry: Registry, activeLockouts: () => number | undefined) {
  const registers = [registry];
  const connectionsOpen = new client.Gauge({
    name: 'shrtok_client_connections_open',
    help: 'Client connections currently open, by listener index and whether TLS is active',
    labelNames: ['listener', 'tls'],
    registers,
  });
  const connectionsAccepted = new client.Counter({
    name: 'shrtok_client_connections_accepted_total',
    help: 'Client connections accepted, by listener index and TLS at accept time',
    labelNames: ['listener', 'tls'],
    registers,
  });
  const connectionsRejected = new client.Counter({
    name: 'shrtok_client_connections_rejected_total',
    help: 'Client connections refused or cut off: connection limit, TLS handshake failure, protocol error',
    labelNames: ['reason'],
    registers,
  });
  const pduLimitViolations = new client.Counter({
    name: 'shrtok_pdu_limit_violations_total',
    help: 'PDUs whose declared length exceeded the configured limit, by sender',
    labelNames: ['source'],
    registers,
  });
  const backendUpGauge = new client.Gauge({
    name: 'shrtok_backend_up',
    help: '1 when the backend (configured index) is considered healthy, 0 while marked down',
    labelNames: ['backend'],
    registers,
  });
  const backendConnectFailures = new client.Counter({
    name: 'shrtok_backend_connect_failures_total',
    help: 'Failed connection attempts to a backend (TCP, TLS or timeout), by configured index',
    labelNames: ['backend'],
    registers,
  });
  const backendFailovers = new client.Counter({
    name: 'shrtok_backend_failovers_total',
    help: 'New client connections sent to a later backend because an earlier one was down or failed',
    registers,
  });
  const cacheHits = new client.Counter({
    name: 'shrtok_cache_hits_total',
    help: 'Verifier cache lookups answered from the cache',
    registers,
  });
  const cacheMisses = new client.Counter({
    name: 'shrtok_cache_misses_total',
    help: 'Verifier cache lookups that needed the directory and/or the HSM',
    registers,
  });
  const cacheEvictions = new client.Counter({
    name: 'shrtok_cache_evictions_total',
    help: 'Verifier cache entries removed: capacity, expired, invalidated by a write',
    labelNames: ['reason'],
    registers,
  });
  const cacheEntries = new client.Gauge({
    name: 'shrtok_cache_entries',
    help: 'Entries currently held by the verifier cache',
    registers,
  });
  const hsmOperations = new client.Counter({
    name: 'shrtok_hsm_operations_total',
    help: 'Key-provider (PKCS#11 or PEM) operations attempted, by operation',
    labelNames: ['op'],
    registers,
  });
  const hsmErrors = new client.Counter({
    name: 'shrtok_hsm_errors_total',
    help: 'Key-provider operations that failed because the key could not be used (not bad tokens)',
    labelNames: ['op'],
    registers,
  });
  const hsmDuration = new client.Histogram({
    name: 'shrtok_hsm_operation_duration_seconds',
    help: 'Key-provider operation latency, by operation',
    labelNames: ['op'],
    buckets: [...LATENCY_BUCKETS],
    registers,
  });
  const hsmLoggedIn = new client.Gauge({
    name: 'shrtok_hsm_session_logged_in',
    help: '1 when the PKCS#11 session is logged in (always 1 for a PEM key, absent when no key is configured)',
    registers,
  });
  const lockoutsActive = new client.Gauge({
    name: 'shrtok_lockouts_active',
    help: 'Identities and client addresses currently locked out',
    registers,
    collect() {
      const n = activeLockouts();
      if (n !== undefined) this.set(n);
    },
  });
  const lockouts = new client.Counter({
    name: 'shrtok_lockouts_total',
    help: 'Lockouts started, by scope (identity or client address)',
    labelNames: ['scope'],
    registers,
  });
  const tokenWritesRejected = new client.Counter({
    name: 'shrtok_token_writes_rejected_total',
    help: 'Adds or modifies setting shrTok or revShrTok refused before reaching the backend, by token error class',
    labelNames: ['reason'],
    registers,
  });
  const buildInfo = new client.Gauge({
    name: 'shrtok_build_info',
    help: 'Always 1; labels carry the shrtok-proxy and Node.js versions',
    labelNames: ['version', 'node_version'],
    registers,
  });
  buildInfo.set({ version: VERSION, node_version: process.versions.node }, 1);
  return {
    connectionsOpen,
    connectionsAccepted,
    connectionsRejected,
    pduLimitViolations,
    backendUpGauge,
    backendConnectFailures,
    backendFailovers,
    cacheHits,
    cacheMisses,
    cacheEvictions,
    cacheEntries,
    hsmOperations,
    hsmErrors,
    hsmDuration,
    hsmLoggedIn,
    lockoutsActive,
    lockouts,
    tokenWritesRejected,
  };
}

export type PromFamilies = ReturnType<typeof definePromFamilies>;
