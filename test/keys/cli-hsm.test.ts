// The real CLI: `hsm init` (SoftHSM2 token, generated or imported key) and token create/verify through
// PKCS#11 flags in separate processes, plus an NSS database via --nss-db/--key-label.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNssDb } from '../helpers/nssdb.js';
import { run } from '../helpers/run.js';
import { CERT_PEM, issuancePublicKey, KEY_PEM, TOKEN_VECTORS } from '../token/vectors.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'shrtok-proxy');
let dir: string;

before(async () => {
  assert.ok(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'run `npm run build` first');
  dir = await mkdtemp(join(tmpdir(), 'shrtok-cli-hsm-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(BIN, args, { env: { ...process.env, NODE_ENV: 'test', ...env } });

interface InitResult {
  softhsm2Conf: string;
  tokenLabel: string;
  keyLabel: string;
  keyIdHex: string;
  pinFile: string;
  certificate: string;
  keySource: string;
  flags: string[];
}

async function init(label: string, extra: string[] = []): Promise<InitResult> {
  const r = await cli([
    'hsm',
    'init',
    '--softhsm-dir',
    join(dir, 'softhsm'),
    '--label',
    label,
    '--json',
    ...extra,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as InitResult;
}

test('hsm init generates a key in the token; token create (--oaep) and verify run through it', async () => {
  const res = await init('generated');
  assert.equal(res.keySource, 'generated');
  assert.equal((await stat(res.pinFile)).mode & 0o777, 0o600);
  const cert = new X509Certificate(await readFile(res.certificate));
  assert.ok(cert.verify(cert.publicKey), 'self-signed');
  assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  const env = { SOFTHSM2_CONF: res.softhsm2Conf };
  // The private key is sensitive and never extractable.
  const pin = await readFile(res.pinFile, 'utf8');
  const objs = await run(
    'pkcs11-tool',
    [
      '--module',
      '/usr/lib/softhsm/libsofthsm2.so',
      '--token-label',
      res.tokenLabel,
      '--login',
      '--pin',
      pin,
      '-O',
    ],
    { env: { ...process.env, ...env } },
  );
  assert.match(
    objs.stdout,
    /Private Key Object; RSA[\s\S]*Access:\s+sensitive, always sensitive, never extractable/,
  );

  for (const [wrapFlag, wrap] of [
    [[], 'rsa-pkcs1v15'],
    [['--oaep'], 'rsa-oaep-sha256'],
  ] as const) {
    const t = join(dir, `gen-${wrap}.b64`);
    const c = await cli(['token', 'create', '-s', 'über-secret', ...res.flags, ...wrapFlag, '-o', t], env);
    assert.equal(c.code, 0, c.stderr);
    const v = await cli(
      ['token', 'verify', '--token-file', t, '-s', 'über-secret', ...res.flags, '--wrap', wrap],
      env,
    );
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, '{"ok":true}\n');
    // A token made with --cert (the written certificate) verifies through the token too.
    const t2 = join(dir, `gen-cert-${wrap}.b64`);
    assert.equal(
      (await cli(['token', 'create', '-s', 'via cert', '--cert', res.certificate, ...wrapFlag, '-o', t2]))
        .code,
      0,
    );
    const v2 = await cli(
      ['token', 'verify', '--token-file', t2, '-s', 'via cert', ...res.flags, '--wrap', 'auto'],
      env,
    );
    assert.equal(v2.stdout, '{"ok":true}\n', v2.stderr);
  }
  const oaepLog = await cli(
    [
      'token',
      'verify',
      '--token-file',
      join(dir, 'gen-rsa-oaep-sha256.b64'),
      '-s',
      'über-secret',
      ...res.flags,
      '--wrap',
      'rsa-oaep-sha256',
    ],
    env,
  );
  assert.match(oaepLog.stderr, /rsa-oaep-sha256: C_UnwrapKey refused .*raw RSA/);
  assert.ok(!oaepLog.stderr.includes(pin));
});

test('hsm init --import-key: the vector tokens verify through the SoftHSM token', async () => {
  const res = await init('imported', ['--import-key', KEY_PEM, '--key-label', 'ipc']);
  assert.equal(res.keySource, 'imported');
  assert.ok(new X509Certificate(await readFile(res.certificate)).publicKey.equals(issuancePublicKey()));
  const env = { SOFTHSM2_CONF: res.softhsm2Conf };
  for (const v of TOKEN_VECTORS.filter((x) => ['t01', 't02', 'd01', 'd03'].includes(x.id))) {
    const t = join(dir, `imp-${v.id}.b64`);
    await writeFile(t, v.token);
    const p = join(dir, `imp-${v.id}.pass`);
    await writeFile(p, Buffer.from(v.passphrase_utf8_hex, 'hex'));
    const r = await cli(['token', 'verify', '--token-file', t, '--passphrase-file', p, ...res.flags], env);
    assert.equal(r.stdout, '{"ok":true}\n', `${v.id}: ${r.stderr}`);
  }
  const byId = res.flags.slice(0, 6).concat(['--key-id', res.keyIdHex]);
  const t = join(dir, 'imp-t01.b64');
  const r = await cli(['token', 'inspect', '--token-file', t, ...byId], env);
  const report = JSON.parse(r.stdout);
  assert.equal(report.decrypt.wrap, 'rsa-pkcs1v15', r.stderr);
  assert.deepEqual(report.decrypt.wrap_paths, { 'rsa-pkcs1v15': 'unwrap', 'rsa-oaep-sha256': 'raw' });
});

test('hsm init refuses an existing label and reports an unusable key as unavailable', async () => {
  const again = await cli(['hsm', 'init', '--softhsm-dir', join(dir, 'softhsm'), '--label', 'generated']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists/);
  const res = await init('pin-check');
  const wrongPin = join(dir, 'wrong.pin');
  await writeFile(wrongPin, 'definitely-wrong');
  const t = join(dir, 'unavail.b64');
  await writeFile(t, TOKEN_VECTORS[0]!.token);
  const flags = res.flags.map((f) => (f === res.pinFile ? wrongPin : f));
  const r = await cli(['token', 'verify', '--token-file', t, '-s', 'x', ...flags], {
    SOFTHSM2_CONF: res.softhsm2Conf,
  });
  assert.equal(r.code, 1);
  assert.deepEqual(JSON.parse(r.stdout), { ok: false, error: 'key_unavailable' });
  assert.match(r.stderr, /CKR_PIN_INCORRECT/);
});

test('an NSS database maps -d DIR -n NICKNAME to --nss-db DIR --key-label NICKNAME', async () => {
  const db = await createNssDb({
    keyPem: KEY_PEM,
    certPem: CERT_PEM,
    nickname: 'issuance-protection cert-pki-ca',
    password: 'nss-pw',
  });
  try {
    const v = TOKEN_VECTORS.find((x) => x.id === 'd02')!;
    const t = join(dir, 'nss.b64');
    await writeFile(t, v.token);
    const flags = ['--nss-db', db.dir, '--key-label', db.nickname, '--pkcs11-pin-file', db.passwordFile];
    const r = await cli(['token', 'verify', '--token-file', t, '-s', v.expected.passphrase, ...flags]);
    assert.equal(r.stdout, '{"ok":true}\n', r.stderr);
    const o = join(dir, 'nss-oaep.b64');
    assert.equal((await cli(['token', 'create', '-s', 'n', ...flags, '--oaep', '-o', o])).code, 0);
    const r2 = await cli(['token', 'inspect', '--token-file', o, ...flags]);
    assert.equal(JSON.parse(r2.stdout).decrypt.wrap, 'rsa-oaep-sha256', r2.stderr);
  } finally {
    await db.destroy();
  }
});
