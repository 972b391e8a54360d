// Results of CMC verification, shared by the CLI and the proxy. Names match the shared vectors.

export type EnrollmentCheck =
  | 'parse'
  | 'signature'
  | 'identification_missing'
  | 'identity_proof_missing'
  | 'identity_proof_alg'
  | 'identity_proof'
  | 'pop_link_random_missing'
  | 'pop_link_missing'
  | 'pop_link_alg'
  | 'pop_link';

export type RevocationCheck =
  'parse' | 'revoke_request_missing' | 'revoke_passphrase_missing' | 'token' | 'revoke_passphrase';

export type FailedCheck = EnrollmentCheck | RevocationCheck;

export type HashName = 'sha256' | 'sha384' | 'sha512';

export interface CmcResult {
  ok: boolean;
  failedCheck: FailedCheck | null;
  /** Enrollment: the id-cmc-identification value (when present). */
  identification?: string;
  /** Revocation: decimal serial number and RFC 4514 issuer. */
  serial?: string;
  issuer?: string;
  /** Human-readable, for logs; never contains a secret or witness. */
  message: string;
}

/**
 * The keys K = HASH(UTF-8 secret || UTF-8 identification) for each hash the request may name.
 * The proxy's cache stores these instead of the passphrase.
 */
export interface ProofKeys {
  identityKey(hash: HashName): Buffer;
}
