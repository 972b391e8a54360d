// identity → directory lookup → cache → KeyProvider decrypt → derive → compare, with lockout and audit around
// it. Every entry point (virtual bind, verify extended operation, CLI) goes through one TokenVerifier.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  CmcParseError,
  decodeCmcRequest,
  deriveProofKeys,
  precheckEnrollment,
  precheckRevocation,
  verifyEnrollment,
  verifyRevocation,
} from '../cmc/index.js';
import type { CmcRequest, CmcResult, ProofKeys } from '../cmc/index.js';
import { DirectoryUnavailableError, LookupFailure } from '../directory/index.js';
import type { TokenRecord } from '../directory/index.js';
import { KeyUnavailableError, TokenError } from '../keys/provider.js';
import { isoNow } from '../log/index.js';
import { decryptToken } from '../token/index.js';
import { nullAuditSink } from './audit.js';
import type { AuditSink } from './audit.js';
import { CredentialCache, normalizeDn } from './cache.js';
import type { CachedCredential } from './cache.js';
import { DEFAULT_CLIENT_LIMIT, DEFAULT_LOCKOUT, Lockout } from './lockout.js';
import type {
  CacheMode,
  ChangeSource,
  Identity,
  TokenVerifierOptions,
  VerifierStats,
  VerifyContext,
  VerifyOutcome,
} from './types.js';

/** A credential, or why there is none (a verification failure, not an outage). Never thrown: warm paths
 * for known and unknown identities must cost the same, and an exception's stack capture does not. */
/** A CMC request whose subject disagrees with the subject named in the extended operation. */
const SUBJECT_MISMATCH = { failedCheck: 'subject_mismatch' } as const;

interface CredentialOutcome {
  cred?: CachedCredential;
  failure?: 'lookup' | 'token';
  dn?: string;
  dnKey?: string;
}

class Unavailable extends Error {
  constructor(readonly source: 'directory' | 'key') {
    super(source);
  }
}

/**
 * Timing equalisation (a wrong passphrase, an unknown identity and a locked one must not be told apart):
 * - every path computes one HMAC of the presented passphrase and one constant-time compare, against a
 *   random dummy when there is no credential; CMC enrollment runs the witness check with dummy keys;
 * - a locked identity goes through the whole verification and is refused afterwards;
 * - in ttl mode an unknown identity is remembered as "not found" like a known one, so neither warm path
 *   reads the directory; no exception is thrown on a warm path (stack capture costs time);
 * - not equalised: a cold path that needs the HSM (a first verification, a changed token), and in strict
 *   mode the directory's own time to return an entry or none. bench/verify-timing.ts measures the rest.
 */
export class TokenVerifier {
  readonly stats: VerifierStats = { directoryReads: 0, decrypts: 0, hsmSkipped: 0 };
  readonly lockout: Lockout;
  readonly clientLimit: Lockout;
  private cache: CredentialCache;
  private readonly inflight = new Map<string, Promise<CredentialOutcome>>();
  private readonly macKey = randomBytes(32);
  /** Compared against when there is no credential, so every path does one keyed hash and one compare. */
  private readonly dummyMac: Buffer;
  private readonly dummyProofKeys: ProofKeys;
  private readonly mode: CacheMode;
  private readonly audit: AuditSink;
  private watcher: ChangeSource | undefined;

  constructor(private readonly opts: TokenVerifierOptions) {
    this.mode = opts.cacheMode ?? 'strict';
    this.cache = this.newCache();
    const clock = opts.clock ?? Date.now;
    this.lockout = new Lockout(opts.lockout ?? DEFAULT_LOCKOUT, clock);
    this.clientLimit = new Lockout(opts.clientLimit ?? DEFAULT_CLIENT_LIMIT, clock);
    this.audit = opts.audit ?? nullAuditSink;
    this.dummyMac = this.mac(randomBytes(32));
    this.dummyProofKeys = deriveProofKeys(randomBytes(32), 'dummy');
  }

  private newCache(): CredentialCache {
    return new CredentialCache({
      maxEntries: this.opts.cacheMaxEntries ?? 10_000,
      ttlMs: this.mode === 'ttl' ? (this.opts.cacheTtlMs ?? 60_000) : undefined,
      onEvict: (reason) => this.opts.metrics?.cacheEviction?.(reason),
    });
  }

  /**
   * Applies new cache and lockout limits (SIGHUP). A changed TTL or size starts an empty cache (what it held
   * is re-read on demand); running lockouts and counted failures are kept. The cache mode needs a restart.
   */
  reconfigure(
    next: Pick<TokenVerifierOptions, 'cacheTtlMs' | 'cacheMaxEntries' | 'lockout' | 'clientLimit'>,
  ): void {
    if (next.lockout) this.lockout.setPolicy(next.lockout);
    if (next.clientLimit) this.clientLimit.setPolicy(next.clientLimit);
    if (next.cacheTtlMs !== this.opts.cacheTtlMs || next.cacheMaxEntries !== this.opts.cacheMaxEntries) {
      this.opts.cacheTtlMs = next.cacheTtlMs;
      this.opts.cacheMaxEntries = next.cacheMaxEntries;
      // Lookups that started before the switch compare against a newer epoch and store nothing.
      const epoch = this.cache.epoch + 1;
      this.cache.clear();
      this.cache = this.newCache();
      this.cache.epoch = epoch;
    }
  }

  /** ttl mode: changes seen by the subscription invalidate at once; losing it empties the cache. */
  attachWatcher(watcher: ChangeSource): void {
    this.watcher = watcher;
    watcher.on('change', (c) => {
      this.cache.invalidateDn(c.dn);
      if (c.previousDn) this.cache.invalidateDn(c.previousDn);
      if (c.uuid) this.cache.invalidateUuid(c.uuid);
    });
    watcher.on('deletedUuids', (uuids) => uuids.forEach((u) => this.cache.invalidateUuid(u)));
    watcher.on('down', () => this.cache.clear());
  }

  /** A write through the proxy touched this entry (modify, delete, modDN). */
  invalidate(dn: string): void {
    this.cache.invalidateDn(dn);
  }

  /** One line for the startup log describing how the cache stays coherent. */
  describeCoherence(): string {
    if (this.mode === 'strict') return 'cache mode strict: every verification reads the directory entry';
    if (this.watcher)
      return 'cache mode ttl: changes made on the backend are seen through a change subscription';
    return (
      'cache mode ttl WITHOUT a change subscription: changes made behind the proxy are seen only after ' +
      `the TTL (${Math.round((this.opts.cacheTtlMs ?? 60_000) / 1000)} s)`
    );
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  async verifyPassword(identity: Identity, password: Buffer, ctx: VerifyContext): Promise<VerifyOutcome> {
    const started = performance.now();
    const who = 'uid' in identity ? { identification: identity.uid } : { serial: identity.serial };
    const outcome = await this.guarded(who, ctx, async () => {
      const got = await this.credential(identity);
      // Equal work on every path: one keyed hash of the password, one constant-time compare.
      const expected = got.cred?.passphraseMac ?? this.dummyMac;
      const matches = timingSafeEqual(this.mac(password), expected) && got.cred !== undefined;
      const failedCheck =
        got.failure ?? (password.length === 0 ? 'empty_passphrase' : matches ? undefined : 'passphrase');
      return {
        dn: got.cred?.dn ?? got.dn,
        dnKey: got.cred?.dnKey ?? got.dnKey,
        failedCheck,
        countFailure: password.length > 0,
      };
    });
    this.record(ctx, who, outcome, started);
    return outcome;
  }

  /**
   * Verifies a CMC Full PKI Request (enrollment: identityProofV2 and POP link; revocation: the passphrase).
   * `expected`, when the caller named a subject, must agree with the request (failedCheck subject_mismatch).
   */
  async verifyCmc(der: Buffer, ctx: VerifyContext, expected?: Identity): Promise<VerifyOutcome> {
    const started = performance.now();
    let req: CmcRequest;
    try {
      req = decodeCmcRequest(der);
    } catch (e) {
      if (!(e instanceof CmcParseError)) throw e;
      const outcome: VerifyOutcome = { result: 'failure', failedCheck: 'parse' };
      this.record({ ...ctx, kind: 'cmc' }, {}, outcome, started);
      return outcome;
    }
    return req.kind === 'revocation'
      ? this.verifyRevocationRequest(req, ctx, expected, started)
      : this.verifyEnrollmentRequest(req, ctx, expected, started);
  }

  private verifyEnrollmentRequest(
    req: CmcRequest,
    ctx: VerifyContext,
    expected: Identity | undefined,
    started: number,
  ): Promise<VerifyOutcome> {
    const identification = req.identification ?? undefined;
    const mismatch = expected !== undefined && !('uid' in expected && expected.uid === identification);
    return this.verifyCmcSubject(
      { ...ctx, kind: 'cmc' },
      { identification },
      identification === undefined ? undefined : { uid: identification },
      precheckEnrollment(req, this.opts.enrollment) ?? (mismatch ? SUBJECT_MISMATCH : null),
      started,
      (got) => verifyEnrollment(req, got.cred?.proofKeys ?? this.dummyProofKeys, this.opts.enrollment),
    );
  }

  private verifyRevocationRequest(
    req: CmcRequest,
    ctx: VerifyContext,
    expected: Identity | undefined,
    started: number,
  ): Promise<VerifyOutcome> {
    const serial = req.revocation?.serial;
    const mismatch = expected !== undefined && !('serial' in expected && expected.serial === serial);
    return this.verifyCmcSubject(
      { ...ctx, kind: 'revocation' },
      { serial },
      serial === undefined ? undefined : { serial },
      precheckRevocation(req) ?? (mismatch ? SUBJECT_MISMATCH : null),
      started,
      (got) => {
        const expectedMac = got.cred?.passphraseMac ?? this.dummyMac;
        const matcher = (p: Buffer): boolean =>
          timingSafeEqual(this.mac(p), expectedMac) && got.cred !== undefined;
        return verifyRevocation(req, got.failure === 'token' ? null : matcher);
      },
    );
  }

  /**
   * The frame both CMC kinds share: a failure found before any lookup (or a missing subject) is recorded as
   * is; otherwise the subject's credential is fetched under lockout and `check` decides.
   */
  private async verifyCmcSubject(
    ctx: VerifyContext,
    who: { identification?: string; serial?: string },
    identity: Identity | undefined,
    early: { failedCheck: string | null } | null,
    started: number,
    check: (got: CredentialOutcome) => CmcResult,
  ): Promise<VerifyOutcome> {
    if (early || identity === undefined) {
      const outcome: VerifyOutcome = {
        result: 'failure',
        ...who,
        failedCheck: early?.failedCheck ?? 'subject_mismatch',
      };
      this.record(ctx, who, outcome, started);
      return outcome;
    }
    const outcome = await this.guarded(who, ctx, async () => {
      const got = await this.credential(identity);
      return {
        dn: got.cred?.dn ?? got.dn,
        dnKey: got.cred?.dnKey ?? got.dnKey,
        failedCheck: got.failure ?? checkOf(check(got)),
        countFailure: true,
      };
    });
    this.record(ctx, who, outcome, started);
    return outcome;
  }

  /**
   * Runs one verification body and applies lockout: a locked identity (or, for binds, a client address over
   * its limit) fails with `locked` after doing the same work as any other attempt. Outages become 'unavailable'.
   */
  private async guarded(
    who: { identification?: string; serial?: string },
    ctx: VerifyContext,
    body: () => Promise<{ dn?: string; dnKey?: string; failedCheck?: string; countFailure: boolean }>,
  ): Promise<VerifyOutcome> {
    let r: Awaited<ReturnType<typeof body>>;
    try {
      r = await body();
    } catch (e) {
      if (!(e instanceof Unavailable)) this.opts.onError?.(e);
      return { result: 'unavailable', ...who, failedCheck: e instanceof Unavailable ? e.source : 'internal' };
    }
    const lockKey = r.dnKey !== undefined ? `dn:${r.dnKey}` : identityLockKey(who);
    const clientKey = `addr:${ctx.clientAddress}`;
    const locked =
      this.lockout.isLocked(lockKey) || (ctx.kind === 'bind' && this.clientLimit.isLocked(clientKey));
    const failedCheck = locked ? 'locked' : r.failedCheck;
    if (failedCheck === undefined) {
      this.lockout.recordSuccess(lockKey);
      return outcomeOf('success', who, r.dn);
    }
    if (r.countFailure) {
      if (this.lockout.recordFailure(lockKey)) this.opts.metrics?.lockoutStarted('identity');
      if (ctx.kind === 'bind' && this.clientLimit.recordFailure(clientKey)) {
        this.opts.metrics?.lockoutStarted('client_address');
      }
    }
    const failed = outcomeOf('failure', who, r.dn);
    failed.failedCheck = failedCheck;
    return failed;
  }

  /**
   * strict: reads the entry every time; the HSM is skipped when the token bytes equal those last decrypted.
   * ttl: a fresh entry (or a fresh "not found") answers without the directory, but only while the change
   * subscription is up (or when there is none). Concurrent calls for one identity share one read and decrypt.
   */
  private credential(identity: Identity): Promise<CredentialOutcome> {
    const key = 'uid' in identity ? `uid:${identity.uid}` : `serial:${identity.serial}`;
    if (this.ttlUsable()) {
      const hit = this.cache.get(key);
      if (hit) {
        this.opts.metrics?.cacheHit();
        return Promise.resolve({ cred: hit });
      }
      const miss = this.cache.getMiss(key);
      if (miss) return Promise.resolve({ failure: miss.reason, dn: miss.dn, dnKey: miss.dnKey });
    }
    let pending = this.inflight.get(key);
    if (!pending) {
      const loading = this.load(key, identity);
      // A side branch clears the entry (cheaper than .finally(), which adds promises to the caller's chain).
      const done = (): void => {
        if (this.inflight.get(key) === loading) this.inflight.delete(key);
      };
      loading.then(done, done);
      this.inflight.set(key, loading);
      pending = loading;
    }
    return pending;
  }

  /** Throws Unavailable for outages only. */
  private async load(key: string, identity: Identity): Promise<CredentialOutcome> {
    const epoch = this.cache.epoch;
    const keep = (): boolean => epoch === this.cache.epoch;
    let record: TokenRecord;
    try {
      this.stats.directoryReads++;
      record =
        'uid' in identity
          ? await this.opts.directory.lookupEnrollmentToken(identity.uid)
          : await this.opts.directory.lookupRevocationToken(identity.serial);
    } catch (e) {
      if (e instanceof LookupFailure) {
        const miss = {
          failure: 'lookup',
          dn: e.dn,
          dnKey: e.dn === undefined ? undefined : normalizeDn(e.dn),
        } as const;
        if (this.ttlUsable() && keep())
          this.cache.setMiss(key, { reason: 'lookup', dn: miss.dn, dnKey: miss.dnKey });
        return miss;
      }
      if (e instanceof DirectoryUnavailableError) throw new Unavailable('directory');
      throw e;
    }
    const previous = this.cache.peek(key);
    if (previous && previous.dn === record.dn && previous.token.equals(record.token)) {
      this.stats.hsmSkipped++;
      this.opts.metrics?.cacheHit();
      if (keep()) this.cache.set(key, previous);
      return { cred: previous };
    }
    this.opts.metrics?.cacheMiss();
    let passphrase: Buffer;
    try {
      this.stats.decrypts++;
      ({ passphrase } = await decryptToken(record.token, this.opts.keyProvider, this.opts.wrap));
    } catch (e) {
      if (e instanceof TokenError) {
        const dnKey = normalizeDn(record.dn);
        if (this.ttlUsable() && keep()) this.cache.setMiss(key, { reason: 'token', dn: record.dn, dnKey });
        return { failure: 'token', dn: record.dn, dnKey };
      }
      if (e instanceof KeyUnavailableError) throw new Unavailable('key');
      throw e;
    }
    try {
      const cred: CachedCredential = {
        dn: record.dn,
        dnKey: normalizeDn(record.dn),
        uuid: record.uuid,
        // Copied: the record's bytes are a view of a whole received chunk.
        token: Buffer.from(record.token),
        passphraseMac: this.mac(passphrase),
        proofKeys: 'uid' in identity ? deriveProofKeys(passphrase, identity.uid) : undefined,
      };
      if (keep()) this.cache.set(key, cred);
      this.opts.metrics?.cacheSize(this.cache.size);
      return { cred };
    } finally {
      passphrase.fill(0);
    }
  }

  private ttlUsable(): boolean {
    return this.mode === 'ttl' && (this.watcher === undefined || this.watcher.active);
  }

  private mac(data: Buffer): Buffer {
    return createHmac('sha256', this.macKey).update(data).digest();
  }

  private record(
    ctx: VerifyContext,
    who: { identification?: string; serial?: string },
    outcome: VerifyOutcome,
    started: number,
  ): void {
    const elapsedMs = performance.now() - started;
    this.opts.metrics?.verification(ctx.kind, outcome.result, outcome.failedCheck ?? null, elapsedMs / 1000);
    this.audit.write({
      time: isoNow(),
      kind: ctx.kind,
      identification: who.identification,
      serial: who.serial,
      entryDn: outcome.entryDn,
      clientAddress: ctx.clientAddress,
      result: outcome.result,
      failedCheck: outcome.failedCheck,
      latencyMs: Math.round(elapsedMs * 1000) / 1000,
    });
  }
}

/**
 * { result, ...who, entryDn? } built field by field: the object spread it replaces was the hottest line of a
 * warm verification in the profile. Keys present in `who` are copied even when undefined, as a spread does.
 */
function outcomeOf(
  result: VerifyOutcome['result'],
  who: { identification?: string; serial?: string },
  dn: string | undefined,
): VerifyOutcome {
  const out: VerifyOutcome = { result };
  if ('identification' in who) out.identification = who.identification;
  if ('serial' in who) out.serial = who.serial;
  if (dn !== undefined) out.entryDn = dn;
  return out;
}

function checkOf(result: CmcResult): string | undefined {
  return result.ok ? undefined : (result.failedCheck ?? 'parse');
}

/** uid matching is case-insensitive in the directory, so the lockout key is too. */
function identityLockKey(who: { identification?: string; serial?: string }): string {
  return who.serial !== undefined
    ? `serial:${who.serial}`
    : `id:${(who.identification ?? '').normalize('NFC').trim().replace(/\s+/g, ' ').toLowerCase()}`;
}
