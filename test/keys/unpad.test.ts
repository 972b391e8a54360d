import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createPrivateKey, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { TokenError, unpadOaepSha256, unpadPkcs1v15 } from '../../src/keys/index.js';
import { issuancePublicKey, KEY_PEM } from '../token/vectors.js';

const priv = createPrivateKey(readFileSync(KEY_PEM));
const pub = issuancePublicKey();
const raw = (c: Buffer): Buffer => privateDecrypt({ key: priv, padding: constants.RSA_NO_PADDING }, c);
const v15 = (m: Buffer): Buffer => publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_PADDING }, m);
const oaep = (m: Buffer): Buffer =>
  publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, m);
const oaepSha1 = (m: Buffer): Buffer =>
  publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, m);

function rejects(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof TokenError && e.errorClass === 'unwrap');
}

test('16-byte keys come back exactly, for both paddings', () => {
  for (let i = 0; i < 50; i++) {
    const k = randomBytes(16);
    assert.deepEqual(unpadPkcs1v15(raw(v15(k))), k);
    assert.deepEqual(unpadOaepSha256(raw(oaep(k))), k);
  }
});

test('keys of any other length are refused as unwrap', () => {
  for (const n of [0, 1, 8, 15, 17, 24, 32, 100]) {
    rejects(() => unpadPkcs1v15(raw(v15(randomBytes(n)))));
    rejects(() => unpadOaepSha256(raw(oaep(randomBytes(n)))));
  }
});

test('the wrong padding, OAEP with SHA-1, and garbage are refused', () => {
  const k = randomBytes(16);
  rejects(() => unpadPkcs1v15(raw(oaep(k))));
  rejects(() => unpadOaepSha256(raw(v15(k))));
  rejects(() => unpadOaepSha256(raw(oaepSha1(k))));
  rejects(() => unpadPkcs1v15(Buffer.alloc(256)));
  rejects(() => unpadOaepSha256(Buffer.alloc(256)));
  rejects(() => unpadPkcs1v15(Buffer.alloc(20)));
});

test('PKCS#1 v1.5 with a zero byte inside PS is refused (separator in the wrong place)', () => {
  const em = raw(v15(randomBytes(16)));
  em[50] = 0;
  rejects(() => unpadPkcs1v15(em));
});

test('random encoded messages never decode by accident and never throw anything but TokenError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 256, maxLength: 256 }), (bytes) => {
      const em = Buffer.from(bytes);
      for (const f of [unpadPkcs1v15, unpadOaepSha256]) {
        try {
          f(em);
          // A structurally valid v1.5 block is possible when built that way; random input essentially never is.
          return em[0] === 0 && em[1] === 2;
        } catch (e) {
          if (!(e instanceof TokenError)) return false;
        }
      }
      return true;
    }),
    { numRuns: 500 },
  );
});

test('a valid v1.5 block built by hand decodes', () => {
  const em = Buffer.alloc(256, 0x55);
  em[0] = 0;
  em[1] = 2;
  em[256 - 17] = 0;
  const key = randomBytes(16);
  key.copy(em, 256 - 16);
  assert.deepEqual(unpadPkcs1v15(em), key);
});
