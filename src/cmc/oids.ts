// Object identifiers and algorithm tables used by CMC verification (spec §3.1).
import type { HashName } from './types.js';

export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  extensionRequest: '1.2.840.113549.1.9.14',
  subjectKeyIdentifier: '2.5.29.14',
  pkiData: '1.3.6.1.5.5.7.12.2',
  identification: '1.3.6.1.5.5.7.7.2',
  identityProof: '1.3.6.1.5.5.7.7.3',
  revokeRequest: '1.3.6.1.5.5.7.7.17',
  popLinkRandom: '1.3.6.1.5.5.7.7.22',
  popLinkWitness: '1.3.6.1.5.5.7.7.23',
  popLinkWitnessV2: '1.3.6.1.5.5.7.7.33',
  identityProofV2: '1.3.6.1.5.5.7.7.34',
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsaPss: '1.2.840.113549.1.1.10',
  mgf1: '1.2.840.113549.1.1.8',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  hmacSha1: '1.2.840.113549.2.7',
  hmacSha256: '1.2.840.113549.2.9',
  hmacSha384: '1.2.840.113549.2.10',
  hmacSha512: '1.2.840.113549.2.11',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
} as const;

/** Hashes accepted for K and for CMS digests. SHA-1 is refused on purpose. */
export const HASH_BY_OID: ReadonlyMap<string, HashName> = new Map([
  [OID.sha256, 'sha256'],
  [OID.sha384, 'sha384'],
  [OID.sha512, 'sha512'],
]);

/** HMACs accepted for witnesses. HMAC-SHA1 is refused on purpose. */
export const HMAC_BY_OID: ReadonlyMap<string, HashName> = new Map([
  [OID.hmacSha256, 'sha256'],
  [OID.hmacSha384, 'sha384'],
  [OID.hmacSha512, 'sha512'],
]);

export const HASH_OID: Record<HashName, string> = {
  sha256: OID.sha256,
  sha384: OID.sha384,
  sha512: OID.sha512,
};
export const HMAC_OID: Record<HashName, string> = {
  sha256: OID.hmacSha256,
  sha384: OID.hmacSha384,
  sha512: OID.hmacSha512,
};

/** Signature algorithms with a fixed hash: RSA PKCS#1 v1.5 and ECDSA. */
export const SIGNATURE_BY_OID: ReadonlyMap<string, { hash: HashName; key: 'rsa' | 'ec' }> = new Map([
  [OID.sha256WithRsa, { hash: 'sha256', key: 'rsa' }],
  [OID.sha384WithRsa, { hash: 'sha384', key: 'rsa' }],
  [OID.sha512WithRsa, { hash: 'sha512', key: 'rsa' }],
  [OID.ecdsaWithSha256, { hash: 'sha256', key: 'ec' }],
  [OID.ecdsaWithSha384, { hash: 'sha384', key: 'ec' }],
  [OID.ecdsaWithSha512, { hash: 'sha512', key: 'ec' }],
] as const);

export const SIGNATURE_OID: Record<HashName, string> = {
  sha256: OID.sha256WithRsa,
  sha384: OID.sha384WithRsa,
  sha512: OID.sha512WithRsa,
};
