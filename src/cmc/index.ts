// Public surface of the CMC module: decode, prechecks, verification, proof keys and the request builder.
export { CmcParseError } from './errors.js';
export { CMC_LIMITS, decodeCmcRequest } from './decode.js';
export { deriveProofKeys } from './proof-keys.js';
export {
  parseFailure,
  precheckEnrollment,
  precheckRevocation,
  revocationSecretMatcher,
  verifyCmc,
  verifyEnrollment,
  verifyRevocation,
  verifyRevocationWithSecret,
} from './verify.js';
export type { EnrollmentOptions } from './verify.js';
export type {
  CertRequestView,
  CmcRequest,
  RevocationView,
  SignedEnvelope,
  SignerView,
  WitnessV2View,
} from './request.js';
export type {
  CmcResult,
  EnrollmentCheck,
  FailedCheck,
  HashName,
  ProofKeys,
  RevocationCheck,
} from './types.js';
export {
  buildEnrollmentRequest,
  buildRevocationRequest,
  computeWitness,
  keyIdentifier,
  nameFrom,
} from './builder.js';
export type { BuiltRequest, EnrollmentSpec, RevocationSpec, SignerSpec, WitnessSpec } from './builder.js';
