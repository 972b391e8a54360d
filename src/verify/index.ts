// Public surface of the verification service: the verifier, its cache/lockout/audit parts, the verify
// extended operation's codecs and the virtual bind DN parser.
export { TokenVerifier } from './verifier.js';
export type {
  CacheMode,
  ChangeSource,
  Clock,
  Identity,
  TokenVerifierOptions,
  VerifierMetrics,
  VerifierStats,
  VerifyContext,
  VerifyKind,
  VerifyOutcome,
  VerifyResult,
} from './types.js';
export { DEFAULT_CLIENT_LIMIT, DEFAULT_LOCKOUT, Lockout } from './lockout.js';
export type { LockoutPolicy } from './lockout.js';
export { StreamAuditSink, fileAuditSink, nullAuditSink } from './audit.js';
export type { AuditRecord, AuditSink } from './audit.js';
export { normalizeDn } from './cache.js';
export {
  MAX_VERIFY_REQUEST_BYTES,
  VERIFY_OID,
  VerifyProtocolError,
  decodeVerifyRequest,
  decodeVerifyResponse,
  encodeVerifyRequest,
  encodeVerifyResponse,
} from './extop-codec.js';
export type { VerifyRequest, VerifyResponse, VerifySubject } from './extop-codec.js';
export { DEFAULT_VIRTUAL_SUFFIX, VirtualDnParser, parseDn } from './virtual-dn.js';
export type { VirtualDn } from './virtual-dn.js';
