import { after, before, test } from 'node:test';
import { writeFile } from 'node:fs/promises';
import assert from 'node:assert/strict';
import {
  DEFAULT_NSS_MODULE,
  DEFAULT_NSS_TOKEN,
  KeyUnavailableError,
  openKeyProvider,
} from '../../src/keys/index.js';
import type { KeyProvider, Pkcs11KeyOptions } from '../../src/keys/index.js';
import type { Pkcs11KeyProvider } from '../../src/keys/pkcs11/pkcs11-provider.js';
import { createToken, decryptToken, TokenError } from '../../src/token/index.js';
import { createNssDb } from '../helpers/nssdb.js';
import type { NssDb } from '../helpers/nssdb.js';
import { cryptoCases, expectedClass } from '../token/crypto-cases.js';
import { CERT_PEM, issuancePublicKey, KEY_PEM, TOKEN_VECTORS } from '../token/vectors.js';

// Dogtag's default nickname for this certificate, spaces included: `-d DIR -n NICK` maps to --nss-db/--key-label.
const NICKNAME = 'issuance-protection cert-pki-ca';
let db: NssDb;
let provider: KeyProvider;

const options = (extra: Partial<Pkcs11KeyOptions> = {}): Pkcs11KeyOptions => ({
  kind: 'pkcs11',
  module: DEFAULT_NSS_MODULE,
  token: DEFAULT_NSS_TOKEN,
  nssDb: db.dir,
  keyLabel: NICKNAME,
  pinFile: db.passwordFile,
  wrap: 'rsa-pkcs1v15',
  ...extra,
});

before(async () => {
  db = await createNssDb({
    keyPem: KEY_PEM,
    certPem: CERT_PEM,
    nickname: NICKNAME,
    password: 'nss-db-password',
  });
  provider = await openKeyProvider(options());
});

after(async () => {
  await provider?.close();
  await db?.destroy();
});

test('the NSS softokn unwraps both wraps in the token (no fallback needed)', () => {
  assert.deepEqual(
    { ...(provider as Pkcs11KeyProvider).wrapModes },
    { 'rsa-pkcs1v15': 'unwrap', 'rsa-oaep-sha256': 'unwrap' },
  );
});

test('every vector decrypts through the NSS database, key found by certificate nickname', async () => {
  assert.ok((await provider.publicKey()).equals(issuancePublicKey()));
  for (const v of TOKEN_VECTORS) {
    const r = await decryptToken(v.token, provider, v.wrap);
    assert.equal(r.passphrase.toString('hex'), v.passphrase_utf8_hex, v.id);
  }
});

test('created tokens round-trip through NSS with both wraps', async () => {
  for (const wrap of ['rsa-pkcs1v15', 'rsa-oaep-sha256'] as const) {
    const value = createToken(Buffer.from('nss ✓'), issuancePublicKey(), wrap).toString('base64');
    const r = await decryptToken(value, provider, 'auto');
    assert.equal(r.passphrase.toString(), 'nss ✓');
    assert.equal(r.wrap, wrap);
  }
});

test('malformed crypto gives the same error classes through NSS', async () => {
  for (const c of cryptoCases()) {
    let got = 'none';
    try {
      await decryptToken(c.value, provider, c.wrap);
    } catch (e) {
      if (!(e instanceof TokenError)) throw e;
      got = e.errorClass;
    }
    assert.ok(expectedClass(c, got), `${c.name}: ${got}`);
  }
  assert.equal(await provider.healthy(), true);
});

test('100 concurrent decrypts through NSS', async () => {
  const items = Array.from({ length: 100 }, (_, i) => `nss-${i}`);
  const values = items.map((p, i) =>
    createToken(Buffer.from(p), issuancePublicKey(), i % 2 ? 'rsa-oaep-sha256' : 'rsa-pkcs1v15').toString(
      'base64',
    ),
  );
  const out = await Promise.all(values.map((v) => decryptToken(v, provider, 'auto')));
  out.forEach((r, i) => assert.equal(r.passphrase.toString(), items[i]));
});

test('an unknown nickname is KeyUnavailableError', async () => {
  await provider.close();
  try {
    await assert.rejects(
      openKeyProvider(options({ keyLabel: 'no such nickname' })),
      (e: unknown) => e instanceof KeyUnavailableError && /no private key/.test(e.message),
    );
  } finally {
    provider = await openKeyProvider(options());
  }
});

test('a wrong NSS database password is KeyUnavailableError, never a token error', async () => {
  const wrong = `${db.dir}/wrong-password.txt`;
  await writeFile(wrong, 'not-the-password');
  await provider.close(); // logins are per process and token: the open provider would mask the check
  try {
    await assert.rejects(openKeyProvider(options({ pinFile: wrong })), (e: unknown) => {
      assert.ok(e instanceof KeyUnavailableError, String(e));
      assert.match(e.message, /CKR_PIN_INCORRECT/);
      assert.doesNotMatch(e.message, /nss-db-password|not-the-password/);
      return true;
    });
  } finally {
    provider = await openKeyProvider(options());
  }
});
