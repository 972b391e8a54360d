import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../helpers/run.js';
import { SERVE_SETTINGS } from '../../src/config/index.js';

const cli = (args: string[]) => run('bin/shrtok-proxy', args);

test('config print-defaults names every setting and its output passes config check', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-config-'));
  try {
    const printed = await cli(['config', 'print-defaults']);
    assert.equal(printed.code, 0, printed.stderr);
    for (const s of SERVE_SETTINGS) assert.match(printed.stdout, new RegExp(`^#? ?${s.key}:`, 'm'), s.key);
    writeFileSync(join(dir, 'example.yaml'), printed.stdout);
    const checked = await cli(['config', 'check', join(dir, 'example.yaml')]);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stdout, /: ok$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config check names the bad key, the value and what is expected', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-config-'));
  try {
    const cases: [string, RegExp][] = [
      [
        'listen: [ldap://127.0.0.1:1389]\nbackend: [ldap://127.0.0.1:389]\nmax_pdu_bytes: many\n',
        /key "max_pdu_bytes": "many" is not valid, expected a whole number/,
      ],
      [
        'listen: [ldap://127.0.0.1:1389]\nbackend: [ldap://127.0.0.1:389]\nlisten_port: 3\n',
        /unknown key "listen_port"/,
      ],
      [
        'listen: [http://127.0.0.1:1389]\nbackend: [ldap://127.0.0.1:389]\n',
        /key "listen": "http:\/\/127.0.0.1:1389" is not valid/,
      ],
      [
        'listen: [ldap://127.0.0.1:1389]\nbackend: [ldap://127.0.0.1:389]\nlog_level: loud\n',
        /expected one of fatal, error/,
      ],
      ['listen: [\n', /not valid YAML/],
    ];
    for (const [i, [text, expected]] of cases.entries()) {
      const file = join(dir, `c${i}.yaml`);
      writeFileSync(file, text);
      const r = await cli(['config', 'check', file]);
      assert.equal(r.code, 1, text);
      assert.match(r.stderr, expected);
      assert.equal(r.stderr.trim().split('\n').length, 1, 'one line per error');
    }
    const usage = await cli(['config', 'check']);
    assert.equal(usage.code, 2);
    const missing = await cli(['config', 'check', join(dir, 'absent.yaml')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read \(ENOENT\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the example configurations in deploy/ pass config check', async () => {
  const { parse } = await import('yaml');
  const { readFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-config-'));
  try {
    const example = await cli(['config', 'check', 'deploy/examples/config.yaml']);
    assert.equal(example.code, 0, example.stderr);
    // The ConfigMap of the Kubernetes manifests carries a config.yaml of its own.
    const docs = readFileSync('deploy/kubernetes/shrtok-proxy.yaml', 'utf8')
      .split(/^---$/m)
      .map((d) => parse(d) as { kind?: string; data?: Record<string, string> });
    const configMap = docs.find((d) => d.kind === 'ConfigMap');
    assert.ok(configMap?.data?.['config.yaml']);
    writeFileSync(join(dir, 'k8s.yaml'), configMap.data['config.yaml']);
    const k8s = await cli(['config', 'check', join(dir, 'k8s.yaml')]);
    assert.equal(k8s.code, 0, k8s.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
