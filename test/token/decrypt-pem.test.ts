import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openKeyProvider, SoftwareKeyRefusedError } from '../../src/keys/index.js';
import type { KeyProvider } from '../../src/keys/index.js';
import { createToken, decryptToken, TokenError } from '../../src/token/index.js';
import {
  badPaddingToken,
  buildToken,
  issuancePublicKey,
  KEY_PEM,
  OTHER_KEY_PEM,
  otherPublicKey,
  TOKEN_VECTORS,
} from './vectors.js';
import { cryptoCases, expectedClass } from './crypto-cases.js';

async function classOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'none';
  } catch (e) {
    if (e instanceof TokenError) return e.errorClass;
    throw e;
  }
}

async function withPem<T>(path: string, fn: (p: KeyProvider) => Promise<T>): Promise<T> {
  const provider = await openKeyProvider({
    kind: 'pem',
    keyPem: path,
    allowSoftwareKey: false,
    wrap: 'rsa-pkcs1v15',
  });
  try {
    return await fn(provider);
  } finally {
    await provider.close();
  }
}

test('every vector decrypts to the expected bytes through the pem provider', async () => {
  await withPem(KEY_PEM, async (provider) => {
    for (const v of TOKEN_VECTORS) {
      for (const value of [v.token, v.token_oneline]) {
        const r = await decryptToken(value, provider, v.wrap);
        assert.equal(r.passphrase.toString('hex'), v.passphrase_utf8_hex, v.id);
        assert.equal(r.passphrase.toString('utf8'), v.expected.passphrase, v.id);
        assert.equal(r.wrap, v.wrap);
      }
      const auto = await decryptToken(v.token, provider, 'auto');
      assert.equal(auto.wrap, 'rsa-pkcs1v15');
    }
  });
});

test('created tokens round-trip with both wraps; auto reports the wrap that worked', async () => {
  const pub = issuancePublicKey();
  await withPem(KEY_PEM, async (provider) => {
    for (const wrap of ['rsa-pkcs1v15', 'rsa-oaep-sha256'] as const) {
      for (const pass of ['', 'a', 'Secret.123', 'grüße-€-🔑', 'x'.repeat(3000)]) {
        const der = createToken(Buffer.from(pass), pub, wrap);
        const r = await decryptToken(der.toString('base64'), provider, wrap);
        assert.equal(r.passphrase.toString(), pass);
        const auto = await decryptToken(der.toString('base64'), provider, 'auto');
        assert.equal(auto.wrap, wrap);
        assert.equal(auto.passphrase.toString(), pass);
      }
    }
  });
});

test('malformed crypto gives unwrap, decrypt or utf8 through the pem provider', async () => {
  await withPem(KEY_PEM, async (provider) => {
    for (const c of cryptoCases())
      assert.ok(expectedClass(c, await classOf(decryptToken(c.value, provider, c.wrap))), c.name);
  });
});

test('a token for another key fails with unwrap, and the other key decrypts it', async () => {
  const value = buildToken({ publicKey: otherPublicKey(), plaintext: Buffer.from('for the other key') });
  await withPem(KEY_PEM, async (provider) => {
    assert.equal(await classOf(decryptToken(value, provider, 'auto')), 'unwrap');
  });
  await withPem(OTHER_KEY_PEM, async (provider) => {
    assert.equal(
      (await decryptToken(value, provider, 'rsa-pkcs1v15')).passphrase.toString(),
      'for the other key',
    );
  });
});

test('the pem provider is refused in production unless allowed', async () => {
  const saved = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await assert.rejects(
      openKeyProvider({ kind: 'pem', keyPem: KEY_PEM, allowSoftwareKey: false, wrap: 'rsa-pkcs1v15' }),
      SoftwareKeyRefusedError,
    );
    const p = await openKeyProvider({
      kind: 'pem',
      keyPem: KEY_PEM,
      allowSoftwareKey: true,
      wrap: 'rsa-pkcs1v15',
    });
    const der = createToken(Buffer.from('ok'), await p.publicKey(), 'rsa-pkcs1v15');
    assert.equal((await decryptToken(der.toString('base64'), p, 'rsa-pkcs1v15')).passphrase.toString(), 'ok');
    await p.close();
  } finally {
    process.env.NODE_ENV = saved;
  }
});

test('bad padding vectors', async () => {
  await withPem(KEY_PEM, async (provider) => {
    assert.equal(await classOf(decryptToken(badPaddingToken(), provider, 'rsa-pkcs1v15')), 'decrypt');
  });
});

test('24- and 32-byte session keys are unwrap errors (fixed-offset unpadding)', async () => {
  await withPem(KEY_PEM, async (provider) => {
    for (const wrap of ['rsa-pkcs1v15', 'rsa-oaep-sha256'] as const)
      for (const n of [24, 32])
        assert.equal(
          await classOf(decryptToken(buildToken({ wrap, sessionKeyBytes: n }), provider, wrap)),
          'unwrap',
        );
  });
});
