// Allowed values for every non-LDAP label. Helpers map anything else to `other`, so no caller can put
// a DN, uid, serial, address or error text into a label by mistake.
import type { FailedCheck } from '../cmc/types.js';
import type { TokenErrorClass } from '../keys/provider.js';

export const CONNECTION_REJECT_REASONS = ['limit', 'tls_failure', 'protocol_error'] as const;
export type ConnectionRejectReason = (typeof CONNECTION_REJECT_REASONS)[number];

/** Who sent the PDU that broke the size limit. */
export const PDU_SOURCES = ['client', 'backend'] as const;
export type PduSource = (typeof PDU_SOURCES)[number];

export const VERIFICATION_KINDS = ['bind', 'extop', 'cmc', 'revocation'] as const;
export type VerificationKind = (typeof VERIFICATION_KINDS)[number];

/** success: proof accepted; failure: invalidCredentials (49); malformed: protocolError (2);
 *  unavailable: the backend or HSM could not answer (52). */
export const VERIFICATION_RESULTS = ['success', 'failure', 'malformed', 'unavailable'] as const;
export type VerificationResult = (typeof VERIFICATION_RESULTS)[number];

/** failed_check values: the CMC check names (src/cmc/types.ts), token error classes
 *  (src/keys/provider.ts), and the proxy's own lookup/lockout/passphrase outcomes. */
export const FAILED_CHECKS = [
  'none',
  // CMC enrollment
  'parse',
  'signature',
  'identification_missing',
  'identity_proof_missing',
  'identity_proof_alg',
  'identity_proof',
  'pop_link_random_missing',
  'pop_link_missing',
  'pop_link_alg',
  'pop_link',
  // CMC revocation
  'revoke_request_missing',
  'revoke_passphrase_missing',
  'token',
  'revoke_passphrase',
  // token decryption classes
  'base64',
  'der',
  'unwrap',
  'decrypt',
  'utf8',
  // proxy outcomes
  'lookup',
  'locked',
  'passphrase',
  'empty_passphrase',
  'subject_mismatch',
  // unavailable: which side could not answer
  'directory',
  'key',
  'internal',
  'other',
] as const;
export type FailedCheckLabel = (typeof FAILED_CHECKS)[number];

export const CACHE_EVICTION_REASONS = ['capacity', 'expired', 'invalidated'] as const;
export type CacheEvictionReason = (typeof CACHE_EVICTION_REASONS)[number];

export const HSM_OPS = ['decrypt', 'login', 'open_session', 'find_key', 'public_key', 'other'] as const;
export type HsmOp = (typeof HSM_OPS)[number];

export const LOCKOUT_SCOPES = ['identity', 'client_address'] as const;
export type LockoutScope = (typeof LOCKOUT_SCOPES)[number];

/** Why a token write (add/modify of shrTok or revShrTok) was refused: the token error class, or
 *  `other` for a parse failure outside those classes. */
export const TOKEN_WRITE_REJECT_REASONS = ['base64', 'der', 'unwrap', 'decrypt', 'utf8', 'other'] as const;
export type TokenWriteRejectReason = (typeof TOKEN_WRITE_REJECT_REASONS)[number];

/** `value` when it is one of `allowed`, else `fallback`: labels stay bounded whatever a caller passes
 *  at runtime (the types already narrow it at compile time). */
export function bounded<T extends string>(
  allowed: readonly T[],
  value: string | null | undefined,
  fallback: T,
): T {
  return value != null && (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}

/** Latency buckets in seconds, 50 µs to 5 s: sub-millisecond LDAP operations up to HSM stalls. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

// Compile-time guards: every CMC check and token error class has its own label value.
type Assert<T extends true> = T;
export type _FailedChecksCovered = Assert<FailedCheck extends FailedCheckLabel ? true : false>;
export type _TokenClassesCovered = Assert<TokenErrorClass extends TokenWriteRejectReason ? true : false>;
