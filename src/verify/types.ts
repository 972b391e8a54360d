// Shared shapes of the verification service.
import type { EnrollmentOptions } from '../cmc/index.js';
import type { DirectoryChange, TokenDirectory } from '../directory/index.js';
import type { KeyProvider, WrapSetting } from '../keys/provider.js';
import type { AuditSink } from './audit.js';
import type { LockoutPolicy } from './lockout.js';

export type VerifyKind = 'bind' | 'extop' | 'cmc' | 'revocation';

export type Identity = { uid: string } | { serial: string };

export interface VerifyContext {
  /** Client IP (after the PROXY header), for audit and the per-address limit. */
  clientAddress: string;
  kind: VerifyKind;
}

export type VerifyResult = 'success' | 'failure' | 'unavailable';

export interface VerifyOutcome {
  result: VerifyResult;
  entryDn?: string;
  identification?: string;
  serial?: string;
  /** CMC check name, or lookup / locked / passphrase / token / subject_mismatch; unavailable: directory|key. */
  failedCheck?: string;
}

/** Milliseconds since the epoch; injectable so lockout tests need no sleeps. */
export type Clock = () => number;

export type CacheMode = 'strict' | 'ttl';

/** The part of ChangeWatcher the verifier listens to. */
export interface ChangeSource {
  readonly active: boolean;
  on(event: 'change', listener: (c: DirectoryChange) => void): unknown;
  on(event: 'deletedUuids', listener: (uuids: string[]) => void): unknown;
  on(event: 'down', listener: (reason: string) => void): unknown;
}

/** The verification metrics of src/metrics (structurally), so tests can pass an isolated registry. */
export interface VerifierMetrics {
  verification(kind: string, result: string, failedCheck: string | null, seconds: number): void;
  cacheHit(): void;
  cacheMiss(): void;
  cacheSize(entries: number): void;
  lockoutStarted(scope: 'identity' | 'client_address'): void;
  cacheEviction?(reason: 'capacity' | 'expired' | 'invalidated'): void;
}

export interface TokenVerifierOptions {
  directory: TokenDirectory;
  keyProvider: KeyProvider;
  wrap: WrapSetting;
  cacheMode?: CacheMode;
  /** ttl mode: how long a verified entry answers without a directory read. Default 60 s. */
  cacheTtlMs?: number;
  cacheMaxEntries?: number;
  lockout?: LockoutPolicy;
  /** Failed virtual binds per client address. */
  clientLimit?: LockoutPolicy;
  audit?: AuditSink;
  /** Lockout time; injectable for tests. */
  clock?: Clock;
  enrollment?: EnrollmentOptions;
  metrics?: VerifierMetrics;
  /** Reports unexpected errors (never with secrets); the outcome is then 'unavailable'. */
  onError?: (e: unknown) => void;
}

export interface VerifierStats {
  directoryReads: number;
  decrypts: number;
  hsmSkipped: number;
}
