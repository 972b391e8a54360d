import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyUnavailableError, openKeyProvider, WrapUnsupportedError } from '../../src/keys/index.js';
import type { KeyProvider } from '../../src/keys/index.js';
import type { Pkcs11KeyProvider } from '../../src/keys/pkcs11/pkcs11-provider.js';
import { createToken, decryptToken, TokenError } from '../../src/token/index.js';
import { createSoftHsmToken } from '../helpers/softhsm.js';
import type { SoftHsmToken } from '../helpers/softhsm.js';
import { waitFor } from '../helpers/run.js';
import { cryptoCases, expectedClass } from '../token/crypto-cases.js';
import { CERT_PEM, issuancePublicKey, KEY_PEM, TOKEN_VECTORS } from '../token/vectors.js';

let hsm: SoftHsmToken;
let provider: KeyProvider;
const notices: string[] = [];

before(async () => {
  hsm = await createSoftHsmToken({ importKeyPem: KEY_PEM });
  const { openPkcs11Provider } = await import('../../src/keys/pkcs11/pkcs11-provider.js');
  provider = await openPkcs11Provider(
    {
      kind: 'pkcs11',
      module: hsm.module,
      token: hsm.tokenLabel,
      pinFile: hsm.pinFile,
      keyLabel: hsm.keyLabel,
      wrap: 'rsa-pkcs1v15',
    },
    { log: (m) => notices.push(m) },
  );
});

after(async () => {
  await provider?.close();
  await hsm?.destroy();
});

async function classOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'none';
  } catch (e) {
    if (e instanceof TokenError) return e.errorClass;
    throw e;
  }
}

test('SoftHSM 2.6: PKCS#1 v1.5 unwraps in the token, OAEP-SHA256 falls back to raw RSA (logged once)', () => {
  const modes = (provider as Pkcs11KeyProvider).wrapModes;
  assert.equal(modes['rsa-pkcs1v15'], 'unwrap');
  assert.equal(modes['rsa-oaep-sha256'], 'raw');
  const fallback = notices.filter((n) => n.includes('rsa-oaep-sha256'));
  assert.equal(fallback.length, 1);
  assert.match(fallback[0]!, /CKR_ARGUMENTS_BAD|CKR_MECHANISM/);
});

test('every vector decrypts to the expected bytes through SoftHSM2 (key imported from the vector PEM)', async () => {
  for (const v of TOKEN_VECTORS) {
    for (const value of [v.token, v.token_oneline]) {
      const r = await decryptToken(value, provider, v.wrap);
      assert.equal(r.passphrase.toString('hex'), v.passphrase_utf8_hex, v.id);
    }
  }
});

test('the public key read from the token is the vector certificate key', async () => {
  const pub = await provider.publicKey();
  assert.ok(pub.equals(issuancePublicKey()));
});

test('created tokens round-trip through SoftHSM with both wraps and with auto', async () => {
  const pub = await provider.publicKey();
  for (const wrap of ['rsa-pkcs1v15', 'rsa-oaep-sha256'] as const) {
    for (const pass of ['', 'Secret.123', 'grüße-€-🔑', 'y'.repeat(500)]) {
      const value = createToken(Buffer.from(pass), pub, wrap).toString('base64');
      assert.equal((await decryptToken(value, provider, wrap)).passphrase.toString(), pass);
      const auto = await decryptToken(value, provider, 'auto');
      assert.equal(auto.wrap, wrap);
    }
  }
});

test('malformed crypto gives the same error classes through SoftHSM', async () => {
  for (const c of cryptoCases())
    assert.ok(expectedClass(c, await classOf(decryptToken(c.value, provider, c.wrap))), c.name);
  assert.equal(await provider.healthy(), true);
});

test('200 concurrent decrypts on the session pool are all correct', async () => {
  const pub = await provider.publicKey();
  const items = Array.from({ length: 200 }, (_, i) => {
    const wrap = i % 3 === 0 ? 'rsa-oaep-sha256' : 'rsa-pkcs1v15';
    const pass = `pass-${i}-${'z'.repeat(i % 40)}`;
    return { pass, wrap, value: createToken(Buffer.from(pass), pub, wrap).toString('base64') } as const;
  });
  const results = await Promise.all(items.map((it) => decryptToken(it.value, provider, it.wrap)));
  results.forEach((r, i) => assert.equal(r.passphrase.toString(), items[i]!.pass));
});

test('token removed under the running provider: KeyUnavailableError, never TokenError; recovers when back', async () => {
  const v = TOKEN_VECTORS[0]!;
  await hsm.removeToken();
  try {
    for (let i = 0; i < 3; i++)
      await assert.rejects(decryptToken(v.token, provider, 'rsa-pkcs1v15'), KeyUnavailableError);
    assert.equal(await provider.healthy(), false);
  } finally {
    await hsm.restoreToken();
  }
  await waitFor(async () => (await provider.healthy()) === true, 20_000, 'provider recovery');
  assert.equal(
    (await decryptToken(v.token, provider, 'rsa-pkcs1v15')).passphrase.toString('hex'),
    v.passphrase_utf8_hex,
  );
});

test('PIN changed under the provider: after a session loss it stays unavailable until the PIN file matches', async () => {
  const v = TOKEN_VECTORS[1]!;
  const original = hsm.pin;
  await hsm.changePin('9876-new');
  await hsm.removeToken(); // force the provider to lose its session and log in again
  await assert.rejects(decryptToken(v.token, provider, 'rsa-pkcs1v15'), KeyUnavailableError);
  await hsm.restoreToken();
  // The PIN file still holds the old PIN: re-login fails, still unavailable (and not a token error).
  await new Promise((r) => setTimeout(r, 600));
  await assert.rejects(decryptToken(v.token, provider, 'rsa-pkcs1v15'), (e: unknown) => {
    assert.ok(e instanceof KeyUnavailableError, String(e));
    assert.doesNotMatch(e.message, new RegExp(original));
    return true;
  });
  await hsm.changePin(original);
  await waitFor(async () => (await provider.healthy()) === true, 20_000, 'provider recovery');
  assert.equal(
    (await decryptToken(v.token, provider, 'rsa-pkcs1v15')).passphrase.toString('hex'),
    v.passphrase_utf8_hex,
  );
});

test('openKeyProvider finds the key by CKA_ID', async () => {
  const p = await openKeyProvider({
    kind: 'pkcs11',
    module: hsm.module,
    token: hsm.tokenLabel,
    pinFile: hsm.pinFile,
    keyId: hsm.keyIdHex,
    wrap: 'auto',
    sessions: 2,
  });
  let value: string;
  try {
    value = createToken(Buffer.from('by id'), await p.publicKey(), 'rsa-pkcs1v15').toString('base64');
    assert.equal((await decryptToken(value, p, 'auto')).passphrase.toString(), 'by id');
  } finally {
    await p.close();
  }
  // Closing the second provider left the first one's sessions (and login) alone.
  assert.equal((await decryptToken(value, provider, 'rsa-pkcs1v15')).passphrase.toString(), 'by id');
});

test('a missing key or token is KeyUnavailableError at open', async () => {
  await assert.rejects(
    openKeyProvider({
      kind: 'pkcs11',
      module: hsm.module,
      token: hsm.tokenLabel,
      pinFile: hsm.pinFile,
      keyLabel: 'nope',
      wrap: 'auto',
    }),
    (e: unknown) => e instanceof KeyUnavailableError && /no private key/.test(e.message),
  );
  await assert.rejects(
    openKeyProvider({
      kind: 'pkcs11',
      module: hsm.module,
      token: 'no-such-token',
      pinFile: hsm.pinFile,
      keyLabel: hsm.keyLabel,
      wrap: 'auto',
    }),
    KeyUnavailableError,
  );
});

test('a key that may unwrap but not decrypt: OAEP-SHA256 is unsupported (explicit: unavailable; auto: skipped)', async () => {
  const { acquireModule } = await import('../../src/keys/pkcs11/module-registry.js');
  const pkcs11js = (await import('pkcs11js')).default;
  const { createPrivateKey } = await import('node:crypto');
  const { readFileSync } = await import('node:fs');
  const jwk = createPrivateKey(readFileSync(KEY_PEM)).export({ format: 'jwk' });
  const b = (s: string | undefined) => Buffer.from(s!, 'base64url');
  const mod = acquireModule(hsm.module);
  try {
    const slot = mod.lib
      .C_GetSlotList(true)
      .find((s) => mod.lib.C_GetTokenInfo(s).label.trim() === hsm.tokenLabel)!;
    const session = mod.lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      mod.lib.C_Login(session, pkcs11js.CKU_USER, hsm.pin);
    } catch {
      // already logged in through the open provider
    }
    mod.lib.C_CreateObject(session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_RSA },
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: true },
      { type: pkcs11js.CKA_DECRYPT, value: false },
      { type: pkcs11js.CKA_UNWRAP, value: true },
      { type: pkcs11js.CKA_LABEL, value: 'unwrap-only' },
      { type: pkcs11js.CKA_MODULUS, value: b(jwk.n) },
      { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: b(jwk.e) },
      { type: pkcs11js.CKA_PRIVATE_EXPONENT, value: b(jwk.d) },
      { type: pkcs11js.CKA_PRIME_1, value: b(jwk.p) },
      { type: pkcs11js.CKA_PRIME_2, value: b(jwk.q) },
      { type: pkcs11js.CKA_EXPONENT_1, value: b(jwk.dp) },
      { type: pkcs11js.CKA_EXPONENT_2, value: b(jwk.dq) },
      { type: pkcs11js.CKA_COEFFICIENT, value: b(jwk.qi) },
    ]);
    mod.lib.C_CloseSession(session);
  } finally {
    mod.release();
  }
  const logs: string[] = [];
  const p = await openKeyProvider(
    {
      kind: 'pkcs11',
      module: hsm.module,
      token: hsm.tokenLabel,
      pinFile: hsm.pinFile,
      keyLabel: 'unwrap-only',
      wrap: 'auto',
    },
    { log: (m) => logs.push(m) },
  );
  try {
    assert.deepEqual(
      { ...(p as Pkcs11KeyProvider).wrapModes },
      { 'rsa-pkcs1v15': 'unwrap', 'rsa-oaep-sha256': 'unavailable' },
    );
    assert.match(logs.join('\n'), /rsa-oaep-sha256: not available/);
    const pub = await p.publicKey();
    const v15 = createToken(Buffer.from('v15'), pub, 'rsa-pkcs1v15').toString('base64');
    const oaep = createToken(Buffer.from('oaep'), pub, 'rsa-oaep-sha256').toString('base64');
    assert.equal((await decryptToken(v15, p, 'auto')).passphrase.toString(), 'v15');
    await assert.rejects(decryptToken(oaep, p, 'rsa-oaep-sha256'), WrapUnsupportedError);
    assert.equal(await classOf(decryptToken(oaep, p, 'auto')), 'unwrap');
  } finally {
    await p.close();
  }
});

test('a logout behind the provider is repaired transparently (re-login, same call succeeds)', async () => {
  const { acquireModule } = await import('../../src/keys/pkcs11/module-registry.js');
  const pkcs11js = (await import('pkcs11js')).default;
  const mod = acquireModule(hsm.module);
  try {
    const slot = mod.lib
      .C_GetSlotList(true)
      .find((s) => mod.lib.C_GetTokenInfo(s).label.trim() === hsm.tokenLabel)!;
    const session = mod.lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    mod.lib.C_Logout(session); // login state is per process and token: this logs the provider out too
    mod.lib.C_CloseSession(session);
  } finally {
    mod.release();
  }
  const v = TOKEN_VECTORS[2]!;
  assert.equal(
    (await decryptToken(v.token, provider, 'rsa-pkcs1v15')).passphrase.toString('hex'),
    v.passphrase_utf8_hex,
  );
  assert.ok(notices.some((n) => /sessions re-opened/.test(n)));
});

test('--key-label may name the certificate (Dogtag nickname): certificate CKA_ID → private key', async () => {
  const { acquireModule } = await import('../../src/keys/pkcs11/module-registry.js');
  const pkcs11js = (await import('pkcs11js')).default;
  const { X509Certificate } = await import('node:crypto');
  const { readFileSync } = await import('node:fs');
  const { AsnConvert } = await import('@peculiar/asn1-schema');
  const { Certificate } = await import('@peculiar/asn1-x509');
  const der = new X509Certificate(readFileSync(CERT_PEM)).raw;
  const subject = Buffer.from(
    AsnConvert.serialize(AsnConvert.parse(der, Certificate).tbsCertificate.subject),
  );
  const mod = acquireModule(hsm.module);
  try {
    const slot = mod.lib
      .C_GetSlotList(true)
      .find((s) => mod.lib.C_GetTokenInfo(s).label.trim() === hsm.tokenLabel)!;
    const session = mod.lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    mod.lib.C_CreateObject(session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
      { type: pkcs11js.CKA_CERTIFICATE_TYPE, value: pkcs11js.CKC_X_509 },
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_LABEL, value: 'issuance protection cert-pki-ca' },
      { type: pkcs11js.CKA_ID, value: Buffer.from(hsm.keyIdHex, 'hex') },
      { type: pkcs11js.CKA_SUBJECT, value: subject },
      { type: pkcs11js.CKA_VALUE, value: der },
    ]);
    mod.lib.C_CloseSession(session);
  } finally {
    mod.release();
  }
  const p = await openKeyProvider({
    kind: 'pkcs11',
    module: hsm.module,
    token: hsm.tokenLabel,
    pinFile: hsm.pinFile,
    keyLabel: 'issuance protection cert-pki-ca',
    wrap: 'rsa-pkcs1v15',
  });
  try {
    const v = TOKEN_VECTORS[6]!;
    assert.equal((await decryptToken(v.token, p, v.wrap)).passphrase.toString('hex'), v.passphrase_utf8_hex);
  } finally {
    await p.close();
  }
});
