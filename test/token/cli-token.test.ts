// The real CLI (bin/shrtok-proxy, after `npm run build`): token create / verify / inspect.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../helpers/run.js';
import { badPaddingToken, buildToken, CERT_PEM, KEY_PEM, otherPublicKey, TOKEN_VECTORS } from './vectors.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'shrtok-proxy');
let dir: string;

before(async () => {
  assert.ok(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'run `npm run build` first');
  dir = await mkdtemp(join(tmpdir(), 'shrtok-cli-token-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(BIN, args, { env: { ...process.env, NODE_ENV: 'test', ...env } });

async function file(name: string, content: string | Buffer): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, content);
  return p;
}

async function verify(tokenFile: string, pass: string[], extra: string[] = []) {
  const r = await cli([
    'token',
    'verify',
    '--token-file',
    tokenFile,
    ...pass,
    '--key-pem',
    KEY_PEM,
    ...extra,
  ]);
  let json: Record<string, unknown> | undefined;
  try {
    json = r.stdout ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined;
  } catch {
    assert.fail(`not JSON (exit ${r.code}): ${r.stdout} ${r.stderr}`);
  }
  return { code: r.code, json, r };
}

test('token create writes 76-column CRLF lines with a trailing CRLF; --oneline one line; both verify', async () => {
  const r = await cli(['token', 'create', '-s', 'Secret.123', '--cert', CERT_PEM]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\r\n');
  assert.equal(lines.at(-1), '', 'trailing CRLF');
  assert.ok(lines.slice(0, -2).every((l) => l.length === 76));
  assert.ok(!/\n(?<!\r\n)/.test(r.stdout.replaceAll('\r\n', '')), 'no bare LF');
  assert.equal(Buffer.from(r.stdout, 'base64').subarray(0, 8).toString('hex'), '3082011604820100');
  const t = await file('create.b64', r.stdout);
  assert.deepEqual((await verify(t, ['-s', 'Secret.123'])).json, { ok: true });

  const o = join(dir, 'oneline.b64');
  const r2 = await cli([
    'token',
    'create',
    '-s',
    'Secret.123',
    '--cert',
    CERT_PEM,
    '--oneline',
    '--oaep',
    '-o',
    o,
  ]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(r2.stdout, '');
  const text = await readFile(o, 'utf8');
  assert.match(text, /^[A-Za-z0-9+/]+=*$/, 'one line, no newline');
  assert.deepEqual((await verify(o, ['-s', 'Secret.123'], ['--wrap', 'rsa-oaep-sha256'])).json, { ok: true });
  // Made with OAEP, checked with the default wrap: the other variant does not decrypt (Dogtag's one setting).
  const wrong = await verify(o, ['-s', 'Secret.123']);
  assert.equal(wrong.code, 1);
  assert.deepEqual(wrong.json, { ok: false, error_class: 'unwrap' });
  assert.deepEqual((await verify(o, ['-s', 'Secret.123'], ['--wrap', 'auto'])).json, { ok: true });
});

test('--passphrase-file is used byte for byte: a trailing newline is part of the secret; empty is allowed', async () => {
  const withNl = await file('pass-nl', 'hunter2\n');
  const t = join(dir, 'nl.b64');
  assert.equal(
    (await cli(['token', 'create', '--passphrase-file', withNl, '--cert', CERT_PEM, '-o', t])).code,
    0,
  );
  assert.deepEqual((await verify(t, ['--passphrase-file', withNl])).json, { ok: true });
  const r = await verify(t, ['-s', 'hunter2']);
  assert.equal(r.code, 1);
  assert.deepEqual(r.json, { ok: false, error_class: 'mismatch' });
  assert.deepEqual((await verify(t, ['-s', 'hunter2\n'])).json, { ok: true });

  const empty = await file('pass-empty', '');
  const te = join(dir, 'empty.b64');
  assert.equal(
    (await cli(['token', 'create', '--passphrase-file', empty, '--cert', CERT_PEM, '-o', te])).code,
    0,
  );
  assert.deepEqual((await verify(te, ['--passphrase-file', empty])).json, { ok: true });
  assert.deepEqual((await verify(te, ['-s', 'x'])).json, { ok: false, error_class: 'mismatch' });
  const help = await cli(['token', 'create', '--help']);
  assert.match(help.stdout, /byte for byte/);
});

test('verify accepts every vector (both forms) and reports each error class with exit 1', async () => {
  for (const v of TOKEN_VECTORS.filter((x) => ['t02', 't03', 'd01', 'd02'].includes(x.id))) {
    const pass = await file(`${v.id}.pass`, Buffer.from(v.passphrase_utf8_hex, 'hex'));
    for (const [form, value] of [
      ['lines', v.token],
      ['oneline', v.token_oneline],
    ] as const) {
      const r = await verify(await file(`${v.id}.${form}`, value), ['--passphrase-file', pass]);
      assert.equal(r.code, 0, `${v.id} ${form}: ${r.r.stdout} ${r.r.stderr}`);
      assert.deepEqual(r.json, { ok: true });
    }
  }
  const good = TOKEN_VECTORS[0]!.token_oneline;
  const cases: [string, string | Buffer, string][] = [
    ['base64', good.replace('A', '*'), 'base64'],
    ['der', Buffer.concat([Buffer.from(good, 'base64'), Buffer.from([0])]).toString('base64'), 'der'],
    ['unwrap', buildToken({ publicKey: otherPublicKey() }), 'unwrap'],
    ['decrypt', badPaddingToken(), 'decrypt'],
    ['utf8', buildToken({ plaintext: Buffer.from([0xfe, 0xff]) }), 'utf8'],
  ];
  for (const [name, value, errorClass] of cases) {
    const r = await verify(await file(`bad-${name}`, value), ['-s', 'whatever']);
    assert.equal(r.code, 1, `${name}: ${r.r.stderr}`);
    assert.deepEqual(r.json, { ok: false, error_class: errorClass }, `${name}: ${r.r.stderr}`);
    assert.equal(r.r.stdout.split('\n').length, 2, 'exactly one JSON line');
  }
});

test('usage errors exit 2 with one line on stderr', async () => {
  const t = await file('u.b64', TOKEN_VECTORS[0]!.token);
  for (const args of [
    ['token', 'verify', '--token-file', t, '-s', 'x'], // no key
    ['token', 'verify', '--token-file', t, '-s', 'x', '--passphrase-file', t, '--key-pem', KEY_PEM],
    ['token', 'verify', '--token-file', t, '--key-pem', KEY_PEM], // no passphrase
    ['token', 'verify', '--token-file', t, '-s', 'x', '--key-pem', KEY_PEM, '--wrap', 'rsa'],
    ['token', 'verify', '--token-file', join(dir, 'missing'), '-s', 'x', '--key-pem', KEY_PEM],
    ['token', 'create', '-s', 'x'], // no cert or key
    ['token', 'create', '-s', 'x', '--cert', CERT_PEM, '--bogus'],
    ['token', 'nope'],
  ]) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('the pem key is refused with NODE_ENV=production unless --allow-software-key', async () => {
  const v = TOKEN_VECTORS.find((x) => x.id === 'd01')!;
  const t = await file('prod.b64', v.token);
  const args = ['token', 'verify', '--token-file', t, '-s', v.expected.passphrase, '--key-pem', KEY_PEM];
  const refused = await cli(args, { NODE_ENV: 'production' });
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /production/);
  const allowed = await cli([...args, '--allow-software-key'], { NODE_ENV: 'production' });
  assert.equal(allowed.code, 0, allowed.stderr);
});

test('inspect reports layout, sizes, line format and the wrap, never the passphrase', async () => {
  const v = TOKEN_VECTORS.find((x) => x.id === 'd01')!;
  const t = await file('inspect.b64', v.token);
  const plain = await cli(['token', 'inspect', '--token-file', t]);
  assert.equal(plain.code, 0, plain.stderr);
  const a = JSON.parse(plain.stdout);
  assert.equal(a.der.header, '30 82 01 16 04 82 01 00 … 04 10');
  assert.equal(a.der_bytes, 282);
  assert.equal(a.der.wrapped_key.bytes, 256);
  assert.equal(a.der.ciphertext.bytes, 16);
  assert.equal(a.line_format.columns, 76);
  assert.equal(a.line_format.line_ending, 'CRLF');
  assert.equal(a.line_format.trailing_newline, true);
  assert.equal(a.decrypt, undefined);

  const withKey = await cli(['token', 'inspect', '--token-file', t, '--key-pem', KEY_PEM]);
  assert.equal(withKey.code, 0, withKey.stderr);
  const b = JSON.parse(withKey.stdout);
  assert.equal(b.decrypt.ok, true);
  assert.equal(b.decrypt.wrap, 'rsa-pkcs1v15');
  assert.equal(b.decrypt.passphrase_bytes, 10);
  assert.ok(!withKey.stdout.includes(v.expected.passphrase));
  assert.ok(!withKey.stdout.includes(Buffer.from(v.expected.passphrase).toString('base64')));

  const oneline = JSON.parse(
    (await cli(['token', 'inspect', '--token-file', await file('i1', v.token_oneline)])).stdout,
  );
  assert.equal(oneline.line_format.kind, 'oneline');
  const old = JSON.parse(
    (
      await cli([
        'token',
        'inspect',
        '--token-file',
        await file('i64', v.token_oneline.replace(/(.{64})/g, '$1\r\n') + '\r\n'),
      ])
    ).stdout,
  );
  assert.equal(old.line_format.columns, 64);

  const bad = await cli(['token', 'inspect', '--token-file', await file('ibad', 'not base64!')]);
  assert.equal(bad.code, 1);
  assert.deepEqual(JSON.parse(bad.stdout).parse, { ok: false, error_class: 'base64' });
  const other = await cli([
    'token',
    'inspect',
    '--token-file',
    await file('iother', buildToken({ publicKey: otherPublicKey() })),
    '--key-pem',
    KEY_PEM,
  ]);
  assert.equal(other.code, 1);
  assert.equal(JSON.parse(other.stdout).decrypt.error_class, 'unwrap');
});
