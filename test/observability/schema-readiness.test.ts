// --require-schema: /readyz names the missing shrTok attribute type until it is installed on slapd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, startProxy } from '../helpers/proxy.js';
import { freePort, run, waitFor } from '../helpers/run.js';
import { CONFIG_DN, CONFIG_PASSWORD, startSlapd } from '../helpers/slapd.js';

test('readyz requires the shrTok schema when --require-schema is set', async () => {
  const slapd = await startSlapd();
  const metricsPort = await freePort();
  const proxy = await startProxy({
    backends: [slapd.url],
    extraArgs: ['--metrics-listen', `127.0.0.1:${metricsPort}`, '--require-schema'],
  });
  try {
    const ready = async () => {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
      return {
        status: res.status,
        body: (await res.json()) as { missing?: { name: string; detail: string }[] },
      };
    };
    const before = await ready();
    assert.equal(before.status, 503);
    assert.deepEqual(
      before.body.missing?.map((c) => [c.name, c.detail]),
      [['schema', 'attribute shrTok is not defined']],
    );
    const ldif = readFileSync(join(REPO_ROOT, 'schema', 'openldap-cn-config.ldif'), 'utf8');
    const add = await run('ldapadd', ['-x', '-H', slapd.url, '-D', CONFIG_DN, '-w', CONFIG_PASSWORD], {
      input: ldif,
    });
    assert.equal(add.code, 0, add.stderr);
    await waitFor(async () => (await ready()).status === 200, 10_000, 'ready once the schema is installed');
  } finally {
    await proxy.stop();
    await slapd.destroy();
  }
});
