// Public surface of the metrics module: every shrtok_ metric lives in one Registry owned here.
//
// Use the process-wide `metrics` in production code, or `createMetrics()` for an isolated registry
// (tests). Helpers take typed, bounded label values; anything else is mapped to `other`, so no DN,
// uid, serial, address or secret can become a label.
//
// Proxy core (hot path, no allocation per call):
//   metrics.operationResponse(responseTag, frame, startMs)  a forwarded op's final response (code read in place)
//   metrics.operation(requestTag, resultCode, seconds)   an op answered locally / without response
//                                                        shrtok_operations_total{op,result},
//                                                        shrtok_operation_duration_seconds{op}
//   metrics.addedLatencySeconds(s)                       shrtok_proxy_added_latency_seconds
//   metrics.pduLimitViolation('client' | 'backend')      shrtok_pdu_limit_violations_total{source}
// Connections and backends (per connection, not per frame):
//   metrics.connectionOpened(listenerIndex, tls) / connectionClosed(listenerIndex, tls)
//   metrics.connectionUpgraded(listenerIndex)            after StartTLS
//                                                        shrtok_client_connections_open{listener,tls},
//                                                        shrtok_client_connections_accepted_total{listener,tls}
//   metrics.connectionRejected('limit' | 'tls_failure' | 'protocol_error')
//                                                        shrtok_client_connections_rejected_total{reason}
//   metrics.declareBackends(n); backendUp(i, bool); backendConnectFailure(i); backendFailover()
//                                                        shrtok_backend_up{backend}, _connect_failures_total,
//                                                        shrtok_backend_failovers_total
// Verification (src/verify, src/directory, key providers):
//   metrics.verification(kind, result, failedCheck | null, seconds)
//       kind: 'bind' | 'extop' | 'cmc' | 'revocation'
//       result: 'success' | 'failure' (49) | 'malformed' (2) | 'unavailable' (52)
//       failedCheck: a CMC check name (src/cmc/types.ts), a TokenErrorClass, or
//                    'lookup' | 'locked' | 'passphrase' | 'empty_passphrase'; null on success
//                                                        shrtok_verifications_total{kind,result,failed_check},
//                                                        shrtok_verification_duration_seconds{kind,result}
//   metrics.cacheHit(); cacheMiss(); cacheEviction('capacity' | 'expired' | 'invalidated'); cacheSize(n)
//                                                        shrtok_cache_{hits,misses,evictions}_total, shrtok_cache_entries
//   metrics.hsmOperation(op, seconds, ok)                op: 'decrypt' | 'login' | 'open_session' | 'find_key'
//                                                        | 'public_key'; ok=false only for KeyUnavailableError
//                                                        shrtok_hsm_operations_total{op}, shrtok_hsm_errors_total{op},
//                                                        shrtok_hsm_operation_duration_seconds{op}
//   metrics.hsmSessionLoggedIn(bool)                     shrtok_hsm_session_logged_in
//   metrics.lockoutStarted('identity' | 'client_address'); lockoutsActiveCount(n) or lockoutsActiveFrom(fn)
//                                                        shrtok_lockouts_total{scope}, shrtok_lockouts_active
//   metrics.tokenWriteRejected(errorClass)               shrtok_token_writes_rejected_total{reason}
//   instrumentKeyProvider(provider, metrics)             wraps a KeyProvider: counts/times decrypt and
//                                                        public_key, sets logged_in from healthy()
// Timing: `const t0 = startTimer(); …; metrics.verification(…, secondsSince(t0))`.
import { Metrics } from './registry.js';
import client from 'prom-client';

export { Metrics, createMetrics } from './registry.js';
export { VERSION } from './families.js';
export { instrumentKeyProvider } from './instrument.js';
export type { MetricsOptions } from './registry.js';
export {
  NO_RESULT,
  OP_NAMES,
  RESULT_NAMES,
  RESULT_CODE_NAMES,
  opSlot,
  opSlotForResponse,
  peekResultCode,
  resultSlot,
} from './ldap-names.js';
export type { OpName } from './ldap-names.js';
export {
  CACHE_EVICTION_REASONS,
  CONNECTION_REJECT_REASONS,
  FAILED_CHECKS,
  HSM_OPS,
  LATENCY_BUCKETS,
  LOCKOUT_SCOPES,
  PDU_SOURCES,
  TOKEN_WRITE_REJECT_REASONS,
  VERIFICATION_KINDS,
  VERIFICATION_RESULTS,
} from './labels.js';
export type {
  CacheEvictionReason,
  ConnectionRejectReason,
  FailedCheckLabel,
  HsmOp,
  LockoutScope,
  PduSource,
  TokenWriteRejectReason,
  VerificationKind,
  VerificationResult,
} from './labels.js';

/** The process-wide metrics. Default process/Node metrics are added when the /metrics server starts. */
export const metrics: Metrics = new Metrics(new client.Registry());

/** A monotonic start time in milliseconds (a plain number: no BigInt allocation). */
export function startTimer(): number {
  return performance.now();
}

/** Seconds since a startTimer() value. */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
