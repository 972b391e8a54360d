import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  SERVE_SETTINGS,
  buildServeConfig,
  loadServeConfig,
  parseLdapUrl,
} from '../../src/config/index.js';
import { command as serve, serveConfigFromFlags } from '../../src/cli/serve.js';
import { parseArgs, UsageError } from '../../src/cli/args.js';

const dir = mkdtempSync(join(tmpdir(), 'shrtok-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const minimal = { listen: ['ldap://127.0.0.1:1389'], backend: ['ldap://127.0.0.1:389'] };

test('defaults follow slapd and are all in the one table', () => {
  const c = buildServeConfig(minimal, {});
  assert.equal(c.max_pdu_bytes_anonymous, 262143);
  assert.equal(c.max_pdu_bytes, 4194303);
  assert.equal(c.max_outstanding_anonymous, 100);
  assert.equal(c.max_outstanding, 1000);
  assert.equal(c.idle_timeout_ms, 0);
  assert.equal(c.backend_connect_timeout_ms, 5000);
  assert.equal(c.backend_down_ms, 30000);
  assert.equal(c.backend_starttls, false);
  assert.equal(c.tls_cert, undefined);
  assert.equal(c.log_level, 'info');
  for (const s of SERVE_SETTINGS) assert.match(s.key, /^[a-z][a-z0-9_]*$/, `${s.key} is snake_case`);
});

test('YAML and JSON files load the same settings', () => {
  const yaml = file(
    'c.yaml',
    'listen:\n  - ldap://127.0.0.1:1389\nbackend: ldap://127.0.0.1:389\nmax_outstanding: 7\nbackend_starttls: true\n',
  );
  const json = file('c.json', JSON.stringify({ ...minimal, max_outstanding: 7, backend_starttls: true }));
  const a = loadServeConfig(yaml, {});
  const b = loadServeConfig(json, {});
  assert.deepEqual(a, b);
  assert.equal(a.max_outstanding, 7);
  assert.deepEqual(a.backend, ['ldap://127.0.0.1:389']);
});

test('an unknown key is refused with its name (and a hint for kebab-case)', () => {
  const p = file(
    'unknown.yaml',
    'listen: ldap://127.0.0.1:1389\nbackend: ldap://127.0.0.1:389\nmax-outstanding: 5\n',
  );
  assert.throws(
    () => loadServeConfig(p, {}),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message === `config file ${p}: unknown key "max-outstanding" (did you mean max_outstanding?)`,
  );
  assert.throws(() => buildServeConfig({ ...minimal, colour: 'blue' }, {}), /unknown key "colour"/);
});

test('a bad value names the key, the value and what was expected', () => {
  const cases: [Record<string, unknown>, string][] = [
    [
      { max_pdu_bytes: 'big' },
      'config: key "max_pdu_bytes": "big" is not valid, expected a whole number from 64 to 2147483647 (bytes)',
    ],
    [
      { idle_timeout_ms: -1 },
      'config: key "idle_timeout_ms": -1 is not valid, expected a whole number from 0 to 2147483647 (ms)',
    ],
    [
      { max_outstanding: 1.5 },
      'config: key "max_outstanding": 1.5 is not valid, expected a whole number from 1 to 2147483647 (n)',
    ],
    [
      { backend_starttls: 'yes' },
      'config: key "backend_starttls": "yes" is not valid, expected true or false',
    ],
    [
      { log_level: 'loud' },
      'config: key "log_level": "loud" is not valid, expected one of fatal, error, warn, info, debug, trace, silent',
    ],
    [{ listen: [1389] }, 'config: key "listen": [1389] is not valid, expected a list of strings'],
  ];
  for (const [extra, message] of cases) {
    assert.throws(
      () => buildServeConfig({ ...minimal, ...extra }, {}),
      (e: unknown) => e instanceof ConfigError && e.message === message,
    );
  }
});

test('combinations: URLs, TLS files for ldaps://, StartTLS only to ldap:// backends', () => {
  assert.throws(
    () => buildServeConfig({ ...minimal, listen: ['http://x:1'] }, {}),
    /key "listen": "http:\/\/x:1" is not valid, expected ldap:\/\/HOST:PORT/,
  );
  assert.throws(() => buildServeConfig({ ...minimal, listen: [] }, {}), /key "listen": \[\] is not valid/);
  assert.throws(() => buildServeConfig({ ...minimal, backend: [] }, {}), /key "backend"/);
  assert.throws(
    () => buildServeConfig({ ...minimal, listen: ['ldaps://127.0.0.1:1636'] }, {}),
    /needs tls_cert and tls_key/,
  );
  assert.throws(() => buildServeConfig({ ...minimal, tls_cert: '/x.pem' }, {}), /only one is set/);
  assert.throws(
    () => buildServeConfig({ ...minimal, backend: ['ldaps://db:636'], backend_starttls: true }, {}),
    /"ldaps:\/\/db:636" is ldaps:\/\/, expected ldap:\/\/ with backend_starttls/,
  );
  assert.throws(
    () => buildServeConfig({ ...minimal, max_pdu_bytes: 1000 }, {}),
    /expected at least max_pdu_bytes_anonymous/,
  );
  assert.deepEqual(parseLdapUrl('ldaps://[::1]', 'listen'), {
    secure: true,
    host: '::1',
    port: 636,
    text: 'ldaps://[::1]',
  });
  assert.equal(parseLdapUrl('ldap://db.example.com/', 'backend').port, 389);
});

test('flags win over the file, and a flag error names the flag', () => {
  const p = file(
    'f.yaml',
    'listen: ldap://127.0.0.1:1389\nbackend: [ldap://127.0.0.1:389, ldap://127.0.0.1:390]\nmax_outstanding: 7\n',
  );
  const specs = serve.flags ?? [];
  const argv = [
    '--config',
    p,
    '--backend',
    'ldap://127.0.0.1:999',
    '--max-outstanding',
    '9',
    '--idle-timeout-ms',
    '100',
  ];
  const c = serveConfigFromFlags(parseArgs(argv, specs).flags);
  assert.deepEqual(c.backend, ['ldap://127.0.0.1:999']);
  assert.equal(c.max_outstanding, 9);
  assert.equal(c.idle_timeout_ms, 100);
  assert.deepEqual(c.listen, ['ldap://127.0.0.1:1389']);
  assert.throws(
    () => parseArgs(['--max-pdu-bytes', 'x'], specs),
    /flag --max-pdu-bytes: "x" is not a whole number/,
  );
  assert.throws(
    () => parseArgs(['--max-pdu-bytes', '1'], specs),
    /flag --max-pdu-bytes: 1 is below the minimum 64/,
  );
  assert.throws(
    () => serveConfigFromFlags(parseArgs(['--listen', 'ldap://a:1'], specs).flags),
    (e: unknown) => e instanceof UsageError && /key "backend"/.test(e.message),
  );
  assert.throws(
    () => serveConfigFromFlags(parseArgs(['--config', join(dir, 'missing.yaml')], specs).flags),
    /cannot read \(ENOENT\)/,
  );
});

test('every setting has a serve flag of the same name, documented in --help', () => {
  const names = new Set((serve.flags ?? []).map((f) => f.name));
  for (const s of SERVE_SETTINGS) assert.ok(names.has(s.key.replaceAll('_', '-')), s.key);
  for (const f of [
    'listen',
    'backend',
    'tls-cert',
    'tls-key',
    'backend-starttls',
    'backend-ca',
    'config',
    'pid-file',
    'log-level',
  ])
    assert.ok(names.has(f), f);
});
