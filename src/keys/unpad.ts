// Constant-time removal of RSA encryption padding from a raw RSA result (m = c^d mod n, k bytes).
// The session key is always 16 bytes, so every field sits at a fixed offset: the checks never branch
// on secret data and never stop early; only the final valid/invalid outcome is revealed.
import { createHash } from 'node:crypto';
import { SESSION_KEY_BYTES } from './session-cipher.js';
import { TokenError } from './provider.js';
import type { WrapAlgorithm } from './provider.js';

const SHA256_BYTES = 32;
const EMPTY_LABEL_HASH = createHash('sha256').update(Buffer.alloc(0)).digest();

/** 1 when b (0..255) is zero, else 0, without a branch. */
function isZeroByte(b: number): number {
  return ((b - 1) >>> 31) & 1;
}

/** 1 when the accumulated difference is non-zero (a check failed). */
function nonZero(x: number): number {
  return 1 - isZeroByte(x & 0xff) * isZeroByte((x >>> 8) & 0xff);
}

function fail(): never {
  throw new TokenError('unwrap', 'session key unwrap failed');
}

/**
 * RSAES-PKCS1-v1_5 (RFC 8017 §7.2.2) for a 16-byte message: 00 02 PS(nonzero, ≥ 8) 00 M(16).
 * A 15- or 17-byte key puts the separator elsewhere and fails like any other bad padding.
 */
export function unpadPkcs1v15(em: Buffer): Buffer {
  const k = em.length;
  const sep = k - SESSION_KEY_BYTES - 1;
  if (sep < 10) fail(); // public: depends only on the modulus size
  let bad = (em[0] as number) | ((em[1] as number) ^ 2) | (em[sep] as number);
  let zeroInPs = 0;
  for (let i = 2; i < sep; i++) zeroInPs |= isZeroByte(em[i] as number);
  bad = nonZero(bad) | zeroInPs;
  return finish(em.subarray(sep + 1), bad);
}

function mgf1Sha256(seed: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  const counter = Buffer.alloc(4);
  for (let done = 0, i = 0; done < length; i++, done += SHA256_BYTES) {
    counter.writeUInt32BE(i, 0);
    const block = createHash('sha256').update(seed).update(counter).digest();
    block.copy(out, done, 0, Math.min(SHA256_BYTES, length - done));
    block.fill(0);
  }
  return out;
}

/** RSAES-OAEP (RFC 8017 §7.1.2), SHA-256, MGF1-SHA-256, empty label, for a 16-byte message. */
export function unpadOaepSha256(em: Buffer): Buffer {
  const k = em.length;
  const dbLen = k - SHA256_BYTES - 1;
  const one = dbLen - SESSION_KEY_BYTES - 1; // offset of the 0x01 separator in DB
  if (one < SHA256_BYTES) fail(); // public: modulus too small for a 16-byte key
  const maskedSeed = em.subarray(1, 1 + SHA256_BYTES);
  const maskedDb = em.subarray(1 + SHA256_BYTES);
  const seed = mgf1Sha256(maskedDb, SHA256_BYTES);
  for (let i = 0; i < SHA256_BYTES; i++) seed[i] = (seed[i] as number) ^ (maskedSeed[i] as number);
  const db = mgf1Sha256(seed, dbLen);
  for (let i = 0; i < dbLen; i++) db[i] = (db[i] as number) ^ (maskedDb[i] as number);
  let diff = em[0] as number;
  for (let i = 0; i < SHA256_BYTES; i++) diff |= (db[i] as number) ^ (EMPTY_LABEL_HASH[i] as number);
  for (let i = SHA256_BYTES; i < one; i++) diff |= db[i] as number;
  diff |= (db[one] as number) ^ 1;
  const result = finish(db.subarray(one + 1), nonZero(diff), [seed, db]);
  return result;
}

function finish(message: Buffer, bad: number, scratch: Buffer[] = []): Buffer {
  const key = Buffer.alloc(SESSION_KEY_BYTES);
  message.copy(key, 0, 0, SESSION_KEY_BYTES);
  for (const b of scratch) b.fill(0);
  if (bad !== 0) {
    key.fill(0);
    fail();
  }
  return key;
}

/** Unpads a raw RSA result for the given wrap; the caller zeroes `em`, this zeroes its own scratch. */
export function unpadSessionKey(em: Buffer, wrap: WrapAlgorithm): Buffer {
  return wrap === 'rsa-pkcs1v15' ? unpadPkcs1v15(em) : unpadOaepSha256(em);
}
