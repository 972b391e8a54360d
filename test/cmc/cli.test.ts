// `shrtok-proxy cmc verify` through bin/shrtok-proxy (run `npm run build` first; npm test does).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../helpers/run.js';
import { enrollmentVectors, FIXTURES, revocationVectors } from './fixtures.js';

const cli = (args: string[]) => run('bin/shrtok-proxy', ['cmc', 'verify', ...args]);

function json(r: { stdout: string; stderr: string; code: number | null }): unknown {
  try {
    return JSON.parse(r.stdout);
  } catch {
    assert.fail(`no JSON line (exit ${r.code}): ${r.stdout} ${r.stderr}`);
  }
}
const keyPem = join(FIXTURES, 'issuance_protection_key.pem');
const at = (file: string) => join(FIXTURES, file);

interface Case {
  name: string;
  file: string;
  secret: Buffer;
  token: string;
  expected: Record<string, unknown>;
}

const cases: Case[] = [
  ...enrollmentVectors().map((v) => ({
    name: v.id,
    file: v.der_file,
    secret: Buffer.from(v.shared_secret_utf8_hex, 'hex'),
    token: v.shared_secret_from_token.token,
    expected: {
      ok: v.expected.ok,
      failed_check: v.expected.failed_check,
      identification: v.expected.identification,
    },
  })),
  ...revocationVectors().map((v) => ({
    name: v.id,
    file: v.b64_file,
    secret: Buffer.from(v.shared_secret_utf8_hex, 'hex'),
    // The metaInfo form Dogtag stores (revShrTok:<b64>) is accepted as the token file.
    token: v.revocation_token.metainfo_value!,
    expected: {
      ok: v.expected.ok,
      failed_check: v.expected.failed_check,
      identification: null,
      serial: v.expected.serial,
      issuer: v.expected.issuer,
    },
  })),
];

test('every vector through the CLI: -s, --passphrase-file and --token-file with the pem key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-cmc-cli-'));
  try {
    // A few at a time: the machine is shared.
    const queue = [...cases];
    const worker = async (): Promise<void> => {
      for (let c = queue.shift(); c; c = queue.shift()) await runCase(c);
    };
    const runCase = async (c: Case): Promise<void> => {
      const secretFile = join(dir, `${c.name}.secret`);
      const tokenFile = join(dir, `${c.name}.token`);
      writeFileSync(secretFile, c.secret);
      writeFileSync(tokenFile, c.token);
      const modes = [
        ['-s', c.secret.toString('utf8')],
        ['--passphrase-file', secretFile],
        ['--token-file', tokenFile, '--key-pem', keyPem, '--wrap', 'auto'],
      ];
      for (const mode of modes) {
        const r = await cli(['--request', at(c.file), ...mode]);
        assert.deepEqual(json(r), c.expected, `${c.name} ${mode[0]}: ${r.stderr}`);
        assert.equal(r.stdout.trim().split('\n').length, 1);
        assert.equal(r.code, c.expected.ok ? 0 : 1, `${c.name} ${mode[0]}`);
        assert.ok(!(r.stdout + r.stderr).includes(c.secret.toString('utf8')), 'the secret is never printed');
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--require-pop-link, parse failures and undecryptable tokens', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-cmc-cli-'));
  try {
    const secret = 'correct horse battery staple';
    const noLink = await cli(['--request', at('cmc/c01.der'), '-s', secret, '--require-pop-link']);
    assert.deepEqual(
      [noLink.code, (json(noLink) as { failed_check: string }).failed_check],
      [1, 'pop_link_missing'],
    );
    const withLink = await cli(['--request', at('cmc/dc01.b64'), '-s', secret, '--require-pop-link']);
    assert.equal(withLink.code, 0, withLink.stdout);

    writeFileSync(join(dir, 'garbage'), 'this is no request');
    const garbage = await cli(['--request', join(dir, 'garbage'), '-s', secret]);
    assert.deepEqual(
      [garbage.code, json(garbage)],
      [1, { ok: false, failed_check: 'parse', identification: null }],
    );

    writeFileSync(join(dir, 'bad.token'), 'AAAA');
    const bad = await cli([
      '--request',
      at('cmc/c01.der'),
      '--token-file',
      join(dir, 'bad.token'),
      '--key-pem',
      keyPem,
    ]);
    assert.equal(bad.code, 1);
    assert.deepEqual(json(bad), {
      ok: false,
      failed_check: 'token',
      identification: null,
      error_class: 'der',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('usage errors exit 2 with one line', async () => {
  const req = at('cmc/c01.der');
  const bad: string[][] = [
    ['-s', 'x'],
    ['--request', req],
    ['--request', req, '-s', 'x', '--passphrase-file', req],
    ['--request', req, '--token-file', req],
    ['--request', req, '-s', 'x', '--key-pem', keyPem],
    ['--request', join(FIXTURES, 'missing.der'), '-s', 'x'],
    ['--request', req, '-s', 'x', '--wrap', 'rsa-nope'],
  ];
  for (const args of bad) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
