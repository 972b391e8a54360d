// Shared vectors (copied from /work/shared/vectors) and builders for malformed tokens.
import { createCipheriv, createPublicKey, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { publicWrap } from '../../src/keys/rsa-wrap.js';
import type { WrapAlgorithm } from '../../src/keys/provider.js';
import { encodeTokenDer } from '../../src/token/der.js';

export const VECTOR_DIR = join(import.meta.dirname, '..', 'fixtures', 'vectors');
export const KEY_PEM = join(VECTOR_DIR, 'issuance_protection_key.pem');
export const CERT_PEM = join(VECTOR_DIR, 'issuance_protection_cert.pem');
export const OTHER_KEY_PEM = join(VECTOR_DIR, 'request_key_1.pem');

export interface TokenVector {
  id: string;
  description: string;
  wrap: WrapAlgorithm;
  passphrase_utf8_hex: string;
  token: string;
  token_oneline: string;
  expected: { ok: boolean; passphrase: string };
}

function load(file: string): TokenVector[] {
  return (JSON.parse(readFileSync(join(VECTOR_DIR, file), 'utf8')) as { tokens: TokenVector[] }).tokens;
}

export const TOKEN_VECTORS: TokenVector[] = [...load('tokens.json'), ...load('dogtag_tokens.json')];

export function issuancePublicKey(): KeyObject {
  return createPublicKey(readFileSync(CERT_PEM));
}

export function otherPublicKey(): KeyObject {
  return createPublicKey(readFileSync(OTHER_KEY_PEM));
}

export interface BuildOptions {
  sessionKeyBytes?: number;
  plaintext?: Buffer;
  /** Raw ciphertext instead of encrypting the plaintext (bad padding, bad length). */
  ciphertext?: Buffer;
  wrap?: WrapAlgorithm;
  publicKey?: KeyObject;
}

/** A token built field by field, so each can be wrong in one way; returns the one-line base64. */
export function buildToken(opts: BuildOptions = {}): string {
  const keyBytes = opts.sessionKeyBytes ?? 16;
  const sessionKey = randomBytes(keyBytes);
  let ciphertext = opts.ciphertext;
  if (!ciphertext) {
    const algo = keyBytes === 24 ? 'aes-192-cbc' : keyBytes === 32 ? 'aes-256-cbc' : 'aes-128-cbc';
    // A 15- or 17-byte key cannot be used for AES: encrypt under a 16-byte prefix (it fails at unwrap anyway).
    const k = [24, 32].includes(keyBytes)
      ? sessionKey
      : Buffer.concat([sessionKey, Buffer.alloc(1)]).subarray(0, 16);
    const c = createCipheriv(algo, k, Buffer.alloc(16, 1));
    ciphertext = Buffer.concat([c.update(opts.plaintext ?? Buffer.from('secret')), c.final()]);
  }
  const wrappedKey = publicWrap(
    opts.publicKey ?? issuancePublicKey(),
    sessionKey,
    opts.wrap ?? 'rsa-pkcs1v15',
  );
  return encodeTokenDer({ wrappedKey, ciphertext }).toString('base64');
}

/** Bad PKCS#7 padding: a block whose last byte decrypts to 0x00 under a known key. */
export function badPaddingToken(wrap: WrapAlgorithm = 'rsa-pkcs1v15'): string {
  const sessionKey = randomBytes(16);
  const c = createCipheriv('aes-128-cbc', sessionKey, Buffer.alloc(16, 1));
  c.setAutoPadding(false);
  const ciphertext = Buffer.concat([c.update(Buffer.from('0123456789abcde\x00', 'latin1')), c.final()]);
  const wrappedKey = publicWrap(issuancePublicKey(), sessionKey, wrap);
  return encodeTokenDer({ wrappedKey, ciphertext }).toString('base64');
}

/** Malformed values whose error class does not depend on the key provider. */
export function structuralCases(): { name: string; value: string | Buffer; errorClass: 'base64' | 'der' }[] {
  const good = TOKEN_VECTORS[0]!.token_oneline;
  const der = Buffer.from(good, 'base64');
  const b64 = (b: Buffer): string => b.toString('base64');
  const inner = der.subarray(4); // after 30 82 01 26
  const withLen = (content: Buffer): Buffer => {
    const len = content.length;
    return Buffer.concat([Buffer.from([0x30, 0x82, len >> 8, len & 0xff]), content]);
  };
  return [
    {
      name: 'character outside the alphabet',
      value: good.slice(0, 40) + '!' + good.slice(41),
      errorClass: 'base64',
    },
    {
      name: 'URL-safe alphabet',
      value: good.replaceAll('+', '-').replaceAll('/', '_'),
      errorClass: 'base64',
    },
    { name: 'non-ASCII character', value: good.slice(0, 40) + 'é' + good.slice(41), errorClass: 'base64' },
    { name: 'missing padding', value: good.replace(/=+$/, ''), errorClass: 'base64' },
    { name: 'padding in the middle', value: good.slice(0, 8) + '====' + good.slice(8), errorClass: 'base64' },
    { name: 'length not a multiple of 4', value: good + 'A', errorClass: 'base64' },
    { name: 'non-zero padding bits', value: good.replace(/A==$/, 'B=='), errorClass: 'base64' },
    { name: 'empty value', value: '', errorClass: 'base64' },
    { name: 'whitespace only', value: ' \r\n\t', errorClass: 'base64' },
    {
      name: 'trailing bytes after the SEQUENCE',
      value: b64(Buffer.concat([der, Buffer.from([0])])),
      errorClass: 'der',
    },
    {
      name: 'extra SEQUENCE element',
      value: b64(withLen(Buffer.concat([inner, Buffer.from([0x04, 0x01, 0x00])]))),
      errorClass: 'der',
    },
    { name: 'one element only', value: b64(withLen(inner.subarray(0, 4 + 256))), errorClass: 'der' },
    {
      name: 'BER indefinite length',
      value: b64(Buffer.concat([Buffer.from([0x30, 0x80]), inner, Buffer.from([0, 0])])),
      errorClass: 'der',
    },
    {
      name: 'non-minimal length',
      value: b64(
        Buffer.concat([Buffer.from([0x30, 0x83, 0x00, inner.length >> 8, inner.length & 0xff]), inner]),
      ),
      errorClass: 'der',
    },
    {
      name: 'SET instead of SEQUENCE',
      value: b64(Buffer.concat([Buffer.from([0x31]), der.subarray(1)])),
      errorClass: 'der',
    },
    {
      name: 'constructed OCTET STRING',
      value: b64(Buffer.concat([der.subarray(0, 4), Buffer.from([0x24]), der.subarray(5)])),
      errorClass: 'der',
    },
    {
      name: 'INTEGER instead of OCTET STRING',
      value: b64(Buffer.concat([der.subarray(0, 4), Buffer.from([0x02]), der.subarray(5)])),
      errorClass: 'der',
    },
    { name: 'truncated', value: b64(der.subarray(0, der.length - 1)), errorClass: 'der' },
    { name: 'not DER at all', value: b64(Buffer.from('hello world')), errorClass: 'der' },
  ];
}
