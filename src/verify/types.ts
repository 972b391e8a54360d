// Shared shapes of the verification service.

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
