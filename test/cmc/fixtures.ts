// Loads the CMC vectors copied from /work/shared/vectors into test/fixtures/cmc.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'cmc');

export interface TokenRef {
  token: string;
  wrap: 'rsa-pkcs1v15' | 'rsa-oaep-sha256';
  decrypt_key: string;
  token_oneline?: string;
  metainfo_value?: string;
}

export interface EnrollmentVector {
  id: string;
  format: 'pkcs10' | 'crmf';
  identification: string;
  shared_secret_utf8_hex: string;
  der_file: string;
  b64_file: string;
  expected: { ok: boolean; failed_check: string | null; identification: string | null };
  shared_secret_from_token: TokenRef;
}

export interface RevocationVector {
  id: string;
  envelope: string;
  serial: string;
  issuer: string;
  shared_secret_utf8_hex: string;
  request_passphrase_hex: string | null;
  der_file: string;
  b64_file: string;
  expected: { ok: boolean; failed_check: string | null; serial: string | null; issuer: string | null };
  revocation_token: TokenRef;
}

function load<T>(file: string): T[] {
  return (JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as { requests: T[] }).requests;
}

export const enrollmentVectors = (): EnrollmentVector[] => [
  ...load<EnrollmentVector>('cmc_requests.json'),
  ...load<EnrollmentVector>('dogtag_cmc_requests.json'),
];
export const revocationVectors = (): RevocationVector[] => load<RevocationVector>('revocation_requests.json');

export const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));
export const requestKeyPem = (n: 1 | 2): string => fixture(`request_key_${n}.pem`).toString('utf8');
