// K = HASH(UTF-8 secret || UTF-8 identification), computed once for every supported hash so the caller can
// cache this object instead of the passphrase. No separator, as Dogtag's client and server do.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';
import type { HashName, ProofKeys } from './types.js';

export const HASH_NAMES: readonly HashName[] = ['sha256', 'sha384', 'sha512'];

class DerivedProofKeys implements ProofKeys {
  readonly #keys: Record<HashName, Buffer>;
  constructor(secret: Buffer, identification: string) {
    const ident = Buffer.from(identification, 'utf8');
    const derive = (h: HashName): Buffer => createHash(h).update(secret).update(ident).digest();
    this.#keys = { sha256: derive('sha256'), sha384: derive('sha384'), sha512: derive('sha512') };
  }
  identityKey(hash: HashName): Buffer {
    return this.#keys[hash];
  }
  toJSON(): string {
    return '[ProofKeys]';
  }
  [inspect.custom](): string {
    return '[ProofKeys]';
  }
}

export function deriveProofKeys(secret: Buffer, identification: string): ProofKeys {
  return new DerivedProofKeys(secret, identification);
}

/** HMAC(K, data) compared with the witness in constant time (the length is public: it is the MAC size). */
export function witnessMatches(key: Buffer, mac: HashName, data: Buffer, witness: Buffer): boolean {
  const expected = createHmac(mac, key).update(data).digest();
  return expected.length === witness.length && timingSafeEqual(expected, witness);
}

/** Equality of two secrets in constant time, lengths included: compares HMACs under a one-off random key. */
export function secretEquals(a: Buffer, b: Buffer): boolean {
  const key = randomBytes(32);
  const ha = createHmac('sha256', key).update(a).digest();
  const hb = createHmac('sha256', key).update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}
