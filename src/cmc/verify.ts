// CMC shared-secret verification in Dogtag's order; the first failing check wins.
//
// Deliberate differences from Dogtag's CA (spec §3, vectors README "Compatibility notes"):
// - Non-ASCII passphrases and identifications work for identityProofV2: K = HASH(UTF-8 secret || UTF-8
//   identification), as Dogtag's CMCRequest client and the RFC compute it. Dogtag's server overflows a buffer.
// - HMAC-SHA384 works (Dogtag misspells it "HmacSHAS384"). HMAC-SHA1 and SHA-1 are refused as *_alg
//   (Dogtag refuses HMAC-SHA1 by accident and accepts SHA-1 for K; we refuse both).
// - A POPLinkWitnessV2 that is present is always checked; requirePopLink (Dogtag's
//   cmc.popLinkWitnessRequired) makes it mandatory for PKCS#10 and CRMF alike (Dogtag skips CRMF). An
//   idPOPLinkRandom without a witness fails even when the link is not required.
// - The identityProofV2 MAC covers the reqSequence bytes as received; Dogtag re-encodes them. Decoding
//   rejects non-DER input (indefinite or non-minimal lengths, trailing bytes), so the two agree.
// - Witnesses and revocation passphrases are compared in constant time.
// - Besides the SignedData self-signature, the request's own POP (PKCS#10 self-signature, CRMF
//   POPOSigningKey when present) must verify; a failure is reported as `signature`. Dogtag checks POP later.
// - Exactly one certificate request per PKIData (Dogtag accepts several); more, or an orm, is `parse`.
// - Repeated identification / identityProofV2 / popLinkRandom / revokeRequest controls are `parse`.
// - Revocation: the passphrase is compared byte for byte with the UTF-8 secret (no char conversion); a
//   SignedData envelope is accepted but its signature is not what authorises (as in Dogtag).
// - identityProof v1 / popLinkWitness v1 are not supported (broken in Dogtag): v1 alone is identity_proof_missing.
// See README.md in this folder for the full list.
import { HASH_BY_OID, HMAC_BY_OID } from './oids.js';
import { decodeCmcRequest } from './decode.js';
import { CmcParseError } from './errors.js';
import { deriveProofKeys, secretEquals, witnessMatches } from './proof-keys.js';
import type { CertRequestView, CmcRequest } from './request.js';
import { signedDataProblem } from './signature.js';
import type { CmcResult, FailedCheck, ProofKeys } from './types.js';

export interface EnrollmentOptions {
  /** Dogtag's cmc.popLinkWitnessRequired: every request must carry a POPLinkWitnessV2. */
  requirePopLink?: boolean;
}

function fail(failedCheck: FailedCheck, message: string, extra: Partial<CmcResult> = {}): CmcResult {
  return { ok: false, failedCheck, message, ...extra };
}

export function parseFailure(e: CmcParseError): CmcResult {
  return fail('parse', `cannot parse the CMC request: ${e.message}`);
}

/** The single certificate request, or a parse failure. */
function onlyRequest(req: CmcRequest): CertRequestView | CmcResult {
  if (req.otherRequests > 0) return fail('parse', 'otherRequestMsg (orm) requests are not supported');
  if (req.requests.length !== 1)
    return fail('parse', `expected exactly one certificate request, found ${req.requests.length}`);
  return req.requests[0]!;
}

/**
 * Every check that needs no secret and precedes identity_proof: parse, signature, identification_missing,
 * identity_proof_missing, identity_proof_alg. Null when all pass (the proxy may then look up the secret).
 */
export function precheckEnrollment(req: CmcRequest, _opts: EnrollmentOptions = {}): CmcResult | null {
  const request = onlyRequest(req);
  if ('ok' in request) return request;
  const sigProblem = signedDataProblem(req, request);
  if (sigProblem) return fail('signature', sigProblem);
  if (!req.identification) return fail('identification_missing', 'no id-cmc-identification control');
  const proof = req.identityProofV2;
  if (!proof)
    return fail(
      'identity_proof_missing',
      req.identityProofV1
        ? 'only the obsolete identityProof (v1) control is present; identityProofV2 is required'
        : 'no identityProofV2 control',
    );
  if (!HASH_BY_OID.has(proof.hashOid)) return fail('identity_proof_alg', `unsupported hash ${proof.hashOid}`);
  if (!HMAC_BY_OID.has(proof.macOid)) return fail('identity_proof_alg', `unsupported MAC ${proof.macOid}`);
  return null;
}

/** All enrollment checks in Dogtag's order. `keys` come from deriveProofKeys(secret, identification). */
export function verifyEnrollment(req: CmcRequest, keys: ProofKeys, opts: EnrollmentOptions = {}): CmcResult {
  const early = precheckEnrollment(req, opts);
  if (early) return early;
  const request = req.requests[0]!;
  const proof = req.identityProofV2!;
  const ident = req.identification!;
  const key = keys.identityKey(HASH_BY_OID.get(proof.hashOid)!);
  if (!witnessMatches(key, HMAC_BY_OID.get(proof.macOid)!, req.reqSequence, proof.witness))
    return fail('identity_proof', `identityProofV2 does not match for ${JSON.stringify(ident)}`);

  const witness = request.popLinkWitness;
  const random = req.popLinkRandom;
  if (witness && !random) return fail('pop_link_random_missing', 'POPLinkWitnessV2 without idPOPLinkRandom');
  if (!witness && random)
    return fail('pop_link_missing', 'idPOPLinkRandom present but the request has no POPLinkWitnessV2');
  if (!witness && opts.requirePopLink)
    return fail('pop_link_missing', 'a POPLinkWitnessV2 is required but the request has none');
  if (witness && random) {
    const hash = HASH_BY_OID.get(witness.hashOid);
    const mac = HMAC_BY_OID.get(witness.macOid);
    if (!hash)
      return fail('pop_link_alg', `unsupported POP link key generation algorithm ${witness.hashOid}`);
    if (!mac) return fail('pop_link_alg', `unsupported POP link MAC ${witness.macOid}`);
    if (!witnessMatches(keys.identityKey(hash), mac, random, witness.witness))
      return fail('pop_link', `POPLinkWitnessV2 does not match for ${JSON.stringify(ident)}`);
  }
  return {
    ok: true,
    failedCheck: null,
    identification: ident,
    message: `verified CMC enrollment for ${JSON.stringify(ident)}`,
  };
}

/** Revocation checks that need no secret: parse, revoke_request_missing, revoke_passphrase_missing. */
export function precheckRevocation(req: CmcRequest): CmcResult | null {
  const rev = req.revocation;
  if (!rev) return fail('revoke_request_missing', 'no id-cmc-revokeRequest control');
  const where = { serial: rev.serial, issuer: rev.issuer };
  if (!rev.passphrase || rev.passphrase.length === 0)
    return fail(
      'revoke_passphrase_missing',
      `RevokeRequest for serial ${rev.serial} has no passphrase`,
      where,
    );
  return null;
}

/**
 * Revocation in Dogtag's order. `secretMatches` compares the request's passphrase with the decrypted
 * revocation token (use revocationSecretMatcher); pass null when the token did not decrypt (`token`).
 */
export function verifyRevocation(
  req: CmcRequest,
  secretMatches: ((passphrase: Buffer) => boolean) | null,
): CmcResult {
  const early = precheckRevocation(req);
  if (early) return early;
  const rev = req.revocation!;
  const where = { serial: rev.serial, issuer: rev.issuer };
  if (!secretMatches)
    return fail('token', `revocation token for serial ${rev.serial} cannot be decrypted`, where);
  if (!secretMatches(rev.passphrase!))
    return fail('revoke_passphrase', `revocation passphrase does not match for serial ${rev.serial}`, where);
  return {
    ok: true,
    failedCheck: null,
    ...where,
    message: `verified CMC revocation of serial ${rev.serial}`,
  };
}

/** A constant-time matcher for the decrypted revocation secret (its exact UTF-8 bytes). */
export function revocationSecretMatcher(secret: Buffer): (passphrase: Buffer) => boolean {
  return (passphrase) => secretEquals(passphrase, secret);
}

/** Revocation with the decrypted secret (null when the token did not decrypt). */
export function verifyRevocationWithSecret(req: CmcRequest, secret: Buffer | null): CmcResult {
  return verifyRevocation(req, secret ? revocationSecretMatcher(secret) : null);
}

/** Decode and verify with a known secret: enrollment or revocation, by what the request carries. */
export function verifyCmc(input: Buffer, secret: Buffer | null, opts: EnrollmentOptions = {}): CmcResult {
  let req: CmcRequest;
  try {
    req = decodeCmcRequest(input);
  } catch (e) {
    if (e instanceof CmcParseError) return parseFailure(e);
    throw e;
  }
  if (req.kind === 'revocation') return verifyRevocationWithSecret(req, secret);
  const early = precheckEnrollment(req, opts);
  if (early) return early;
  if (!secret) return fail('token', `no shared secret available for ${JSON.stringify(req.identification)}`);
  return verifyEnrollment(req, deriveProofKeys(secret, req.identification!), opts);
}
