// The one place every shrtok_ metric is defined. Other modules call the typed methods of `Metrics`;
// they never create metrics themselves (one registry, bounded labels, names checked by the deploy tests).
import client from 'prom-client';
import type { Metric, Registry } from 'prom-client';
import { DenseCounter, DenseHistogram, labelProduct } from './dense.js';
import { definePromFamilies } from './families.js';
import type { PromFamilies } from './families.js';
import {
  OP_NAMES,
  opSlot,
  opSlotForResponse,
  peekResultCode,
  RESULT_NAMES,
  resultSlot,
} from './ldap-names.js';
import {
  bounded,
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
import type {
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

type CounterChild = { inc(by?: number): void };
type GaugeChild = { inc(by?: number): void; dec(by?: number): void; set(v: number): void };
type HistogramChild = { observe(v: number): void };

export interface MetricsOptions {
  /** Collect process_* and nodejs_* metrics (CPU, memory, fds, event-loop lag) into this registry. */
  defaultMetrics?: boolean;
}

export class Metrics {
  readonly registry: Registry;
  private defaultsEnabled = false;
  private lockoutsProvider: (() => number) | undefined;

  // Hot path: dense families addressed by slot, no allocation per update.
  private readonly operations: DenseCounter;
  private readonly operationDuration: DenseHistogram;
  private readonly addedLatency: DenseHistogram;
  /** kind × result × failed_check, and kind × result for the duration (slots: see verification()). */
  private readonly verifications: DenseCounter;
  private readonly verificationDuration: DenseHistogram;
  private readonly resultCount = RESULT_NAMES.length;
  /** Every other family (prom-client), see families.ts. */
  private readonly f: PromFamilies;

  // Pre-bound children, keyed by small integers, so repeated calls do not rebuild label objects.
  private readonly connChildren = new Map<number, { open: GaugeChild; accepted: CounterChild }>();
  private readonly backendChildren = new Map<number, { up: GaugeChild; failures: CounterChild }>();
  private readonly rejectChildren: ReadonlyMap<string, CounterChild>;
  private readonly pduChildren: ReadonlyMap<string, CounterChild>;
  private readonly hsmChildren: ReadonlyMap<
    string,
    { ops: CounterChild; errors: CounterChild; duration: HistogramChild }
  >;

  constructor(registry: Registry, opts: MetricsOptions = {}) {
    this.registry = registry;

    this.operations = new DenseCounter({
      name: 'shrtok_operations_total',
      help: 'LDAP operations completed, by operation type and LDAP result code name',
      series: labelProduct([
        ['op', OP_NAMES],
        ['result', RESULT_NAMES],
      ]),
      preset: (slot) =>
        slot % RESULT_NAMES.length === 0 && slot < (OP_NAMES.length - 1) * RESULT_NAMES.length,
    });
    this.operationDuration = new DenseHistogram({
      name: 'shrtok_operation_duration_seconds',
      help: 'Time from a client request to the end of its response, as seen by the proxy',
      series: labelProduct([['op', OP_NAMES]]),
      buckets: LATENCY_BUCKETS,
      preset: (slot) => slot === OP_NAMES.indexOf('search') || slot === OP_NAMES.indexOf('bind'),
    });
    this.addedLatency = new DenseHistogram({
      name: 'shrtok_proxy_added_latency_seconds',
      help: 'Latency the proxy itself adds to an operation (its own processing and queuing, not the backend)',
      series: [{}],
      buckets: LATENCY_BUCKETS,
      preset: () => true,
    });
    // Every kind × result exported at 0 (failed_check none on success, other otherwise) from the start.
    this.verifications = new DenseCounter({
      name: 'shrtok_verifications_total',
      help: 'Shared-token verifications by kind, result and failed check (none on success)',
      series: labelProduct([
        ['kind', VERIFICATION_KINDS],
        ['result', VERIFICATION_RESULTS],
        ['failed_check', FAILED_CHECKS],
      ]),
      preset: (slot) => {
        const check = slot % FAILED_CHECKS.length;
        const success =
          Math.floor(slot / FAILED_CHECKS.length) % VERIFICATION_RESULTS.length === RESULT_SUCCESS;
        return check === (success ? CHECK_NONE : CHECK_OTHER);
      },
    });
    this.verificationDuration = new DenseHistogram({
      name: 'shrtok_verification_duration_seconds',
      help: 'Time to verify a shared-token proof, including directory lookup and HSM work',
      series: labelProduct([
        ['kind', VERIFICATION_KINDS],
        ['result', VERIFICATION_RESULTS],
      ]),
      buckets: LATENCY_BUCKETS,
    });
    // prom-client's Registry only needs name/help/type/get(); the cast is its nominal class type.
    for (const m of [this.operations, this.operationDuration, this.addedLatency])
      registry.registerMetric(m as unknown as Metric);

    this.f = definePromFamilies(registry, () => this.lockoutsProvider?.());
    // Registered where the prom-client families used to put them (after the backend families).
    for (const m of [this.verifications, this.verificationDuration])
      registry.registerMetric(m as unknown as Metric);

    this.rejectChildren = prebind(CONNECTION_REJECT_REASONS, (r) => this.f.connectionsRejected.labels(r));
    this.pduChildren = prebind(PDU_SOURCES, (s) => this.f.pduLimitViolations.labels(s));
    this.hsmChildren = prebind(HSM_OPS, (op) => ({
      ops: this.f.hsmOperations.labels(op),
      errors: this.f.hsmErrors.labels(op),
      duration: this.f.hsmDuration.labels(op),
    }));
    // Zero series for small fixed label sets, so alerts see the first increment (rate() needs two points).
    for (const r of CONNECTION_REJECT_REASONS) this.f.connectionsRejected.inc({ reason: r }, 0);
    for (const s of PDU_SOURCES) this.f.pduLimitViolations.inc({ source: s }, 0);
    for (const r of TOKEN_WRITE_REJECT_REASONS) this.f.tokenWritesRejected.inc({ reason: r }, 0);
    for (const s of LOCKOUT_SCOPES) this.f.lockouts.inc({ scope: s }, 0);
    for (const r of CACHE_EVICTION_REASONS) this.f.cacheEvictions.inc({ reason: r }, 0);
    // decrypt is the operation every verification may need: its error series exists before the first error.
    this.f.hsmOperations.inc({ op: 'decrypt' }, 0);
    this.f.hsmErrors.inc({ op: 'decrypt' }, 0);
    this.f.backendFailovers.inc(0);
    this.f.cacheHits.inc(0);
    this.f.cacheMisses.inc(0);
    this.f.cacheEntries.set(0);
    this.f.lockoutsActive.set(0);

    if (opts.defaultMetrics) this.enableDefaultMetrics();
  }

  /** Adds process_* and nodejs_* metrics (incl. nodejs_eventloop_lag_seconds). Idempotent. */
  enableDefaultMetrics(): void {
    if (this.defaultsEnabled) return;
    this.defaultsEnabled = true;
    client.collectDefaultMetrics({ register: this.registry });
  }

  /** The text exposition and its content type, for the /metrics endpoint. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  // ---- client connections (listener = configured listener index) ----

  /** A client connection was accepted on listener `listener` (index in --listen order). */
  connectionOpened(listener: number, tls: boolean): void {
    const c = this.connChild(listener, tls);
    c.accepted.inc();
    c.open.inc();
  }

  /** A connection counted by connectionOpened closed; pass its TLS state at close time. */
  connectionClosed(listener: number, tls: boolean): void {
    this.connChild(listener, tls).open.dec();
  }

  /** StartTLS succeeded: the open connection moves from tls="false" to tls="true". */
  connectionUpgraded(listener: number): void {
    this.connChild(listener, false).open.dec();
    this.connChild(listener, true).open.inc();
  }

  /** A connection was refused (limit) or cut off (failed TLS handshake, protocol error). */
  connectionRejected(reason: ConnectionRejectReason): void {
    this.rejectChildren.get(reason)?.inc();
  }

  // ---- operations (hot path: no allocation) ----

  /**
   * One LDAP operation finished. `requestTag` is the request's protocolOp tag byte (0x63 search…),
   * `resultCode` the LDAPResult code of its final response (NO_RESULT for unbind/abandon or a
   * disconnect), `seconds` its latency (pass a negative number to skip the histogram).
   */
  operation(requestTag: number, resultCode: number, seconds: number): void {
    const op = opSlot(requestTag);
    this.operations.inc(op * this.resultCount + resultSlot(resultCode));
    if (seconds >= 0) this.operationDuration.observe(op, seconds);
  }

  /**
   * The final response of a forwarded operation reached the client. `responseTag` is its protocolOp tag
   * (0x65 searchResDone…), `frame` the whole response LDAPMessage (the result code is read in place),
   * `startMs` the performance.now() at which the request arrived.
   */
  operationResponse(responseTag: number, frame: Uint8Array, startMs: number): void {
    const op = opSlotForResponse(responseTag);
    this.operations.inc(op * this.resultCount + resultSlot(peekResultCode(frame)));
    this.operationDuration.observe(op, (performance.now() - startMs) / 1000);
  }

  /** Latency the proxy added to one operation (time spent in the proxy, not waiting on the backend). */
  addedLatencySeconds(seconds: number): void {
    this.addedLatency.observe(0, seconds);
  }

  /** A PDU's declared length exceeded the limit (client: --max-pdu; backend: its own limit). */
  pduLimitViolation(source: PduSource): void {
    this.pduChildren.get(source)?.inc();
  }

  // ---- backends (backend = index in --backend order) ----

  /** Call once at startup with the number of configured backends: every index is exported, up (1)
   *  until the pool marks it down, as the pool presumes. */
  declareBackends(count: number): void {
    for (let i = 0; i < count; i++) if (!this.backendChildren.has(i)) this.backendChild(i).up.set(1);
    // After a reload with fewer backends, the removed indexes stop being exported.
    for (const i of [...this.backendChildren.keys()]) {
      if (i < count) continue;
      this.f.backendUpGauge.remove(String(i));
      this.f.backendConnectFailures.remove(String(i));
      this.backendChildren.delete(i);
    }
  }

  backendUp(index: number, up: boolean): void {
    this.backendChild(index).up.set(up ? 1 : 0);
  }

  backendConnectFailure(index: number): void {
    this.backendChild(index).failures.inc();
  }

  /** A new client connection went to a later backend than the first configured one it tried. */
  backendFailover(): void {
    this.f.backendFailovers.inc();
  }

  // ---- verification (once per verification: dense slots, no label hashing) ----

  /**
   * One verification finished. `failedCheck` is null on success; otherwise a CMC check name, a token
   * error class, or lookup/locked/passphrase/empty_passphrase. Unknown names count as `other`.
   */
  verification(
    kind: VerificationKind,
    result: VerificationResult,
    failedCheck: FailedCheckLabel | null,
    seconds: number,
  ): void {
    const k = KIND_SLOT.get(kind) ?? KIND_SLOT.get('bind')!;
    const r = RESULT_SLOT.get(result) ?? RESULT_SLOT.get('failure')!;
    const check =
      r === RESULT_SUCCESS
        ? CHECK_NONE
        : ((failedCheck === null ? undefined : CHECK_SLOT.get(failedCheck)) ?? CHECK_OTHER);
    const kr = k * VERIFICATION_RESULTS.length + r;
    this.verifications.inc(kr * FAILED_CHECKS.length + check);
    if (seconds >= 0) this.verificationDuration.observe(kr, seconds);
  }

  cacheHit(): void {
    this.f.cacheHits.inc();
  }

  cacheMiss(): void {
    this.f.cacheMisses.inc();
  }

  cacheEviction(reason: CacheEvictionReason): void {
    this.f.cacheEvictions.inc({ reason: bounded(CACHE_EVICTION_REASONS, reason, 'capacity') });
  }

  /** Current number of cache entries (set it after inserts and evictions, or from a scrape hook). */
  cacheSize(entries: number): void {
    this.f.cacheEntries.set(entries);
  }

  /** One key-provider operation: counts it, its error when `ok` is false, and observes its latency.
   *  Count as an error only when the key could not be used (KeyUnavailableError), not a bad token. */
  hsmOperation(op: HsmOp, seconds: number, ok: boolean): void {
    const c = this.hsmChildren.get(op) ?? this.hsmChildren.get('other');
    c?.ops.inc();
    if (!ok) c?.errors.inc();
    if (seconds >= 0) c?.duration.observe(seconds);
  }

  hsmSessionLoggedIn(loggedIn: boolean): void {
    this.f.hsmLoggedIn.set(loggedIn ? 1 : 0);
  }

  /** A lockout started for an identity or a client address. */
  lockoutStarted(scope: LockoutScope): void {
    this.f.lockouts.inc({ scope: bounded(LOCKOUT_SCOPES, scope, 'identity') });
  }

  /** Identities and addresses locked right now. */
  lockoutsActiveCount(n: number): void {
    this.f.lockoutsActive.set(n);
  }

  /** Reads the number of active lockouts at every scrape (locks expire without an event to count). */
  lockoutsActiveFrom(provider: () => number): void {
    this.lockoutsProvider = provider;
  }

  tokenWriteRejected(reason: TokenWriteRejectReason): void {
    this.f.tokenWritesRejected.inc({ reason: bounded(TOKEN_WRITE_REJECT_REASONS, reason, 'other') });
  }

  private connChild(listener: number, tls: boolean): { open: GaugeChild; accepted: CounterChild } {
    const key = listener * 2 + (tls ? 1 : 0);
    let c = this.connChildren.get(key);
    if (!c) {
      const labels = [String(listener), tls ? 'true' : 'false'] as const;
      c = {
        open: this.f.connectionsOpen.labels(...labels),
        accepted: this.f.connectionsAccepted.labels(...labels),
      };
      c.open.inc(0);
      c.accepted.inc(0);
      this.connChildren.set(key, c);
    }
    return c;
  }

  private backendChild(index: number): { up: GaugeChild; failures: CounterChild } {
    let c = this.backendChildren.get(index);
    if (!c) {
      const label = String(index);
      c = { up: this.f.backendUpGauge.labels(label), failures: this.f.backendConnectFailures.labels(label) };
      c.failures.inc(0);
      this.backendChildren.set(index, c);
    }
    return c;
  }
}

const slotsOf = (names: readonly string[]): ReadonlyMap<string, number> =>
  new Map(names.map((n, i) => [n, i] as const));
const KIND_SLOT = slotsOf(VERIFICATION_KINDS);
const RESULT_SLOT = slotsOf(VERIFICATION_RESULTS);
const CHECK_SLOT = slotsOf(FAILED_CHECKS);
const RESULT_SUCCESS = VERIFICATION_RESULTS.indexOf('success');
const CHECK_NONE = FAILED_CHECKS.indexOf('none');
const CHECK_OTHER = FAILED_CHECKS.indexOf('other');

function prebind<K extends string, V>(keys: readonly K[], make: (k: K) => V): ReadonlyMap<string, V> {
  return new Map(keys.map((k) => [k, make(k)] as const));
}

/** A Metrics instance with its own Registry (tests, or a second proxy in one process). */
export function createMetrics(opts: MetricsOptions = {}): Metrics {
  return new Metrics(new client.Registry(), opts);
}
