import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort, run, waitFor } from '../helpers/run.js';

test('demo starts everything, its printed commands work, and Ctrl-C removes what it made', async () => {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const demo = spawn(
    'bin/shrtok-proxy',
    ['demo', '--port', String(port), '--metrics-port', String(metricsPort), '--skip-install'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  demo.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  demo.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((r) => demo.once('exit', (code) => r(code)));
  try {
    await waitFor(
      () => stdout.includes('Ctrl-C stops everything'),
      60_000,
      `the demo to be ready (${stderr})`,
    );
    const commands = [...stdout.matchAll(/^ {2}\$ (.+)$/gm)].map((m) => m[1] as string);
    assert.equal(commands.length, 4, stdout);
    const tempDir = /under (\/\S+)\.$/m.exec(stdout)?.[1];
    assert.ok(tempDir && existsSync(tempDir), stdout);

    const [whoamiDemo, setToken, whoamiUser1, metrics] = commands as [string, string, string, string];
    const demoBind = await run('bash', ['-c', whoamiDemo]);
    assert.equal(demoBind.code, 0, demoBind.stderr);
    assert.equal(demoBind.stdout.trim(), 'dn:uid=demo,ou=People,dc=example,dc=com');

    // Before the token is set, user1 cannot bind virtually.
    const early = await run('bash', ['-c', whoamiUser1]);
    assert.equal(early.code, 49, early.stdout + early.stderr);

    const modify = await run('bash', ['-c', setToken]);
    assert.equal(modify.code, 0, modify.stderr);
    const user1Bind = await run('bash', ['-c', whoamiUser1]);
    assert.equal(user1Bind.code, 0, user1Bind.stderr);
    assert.equal(user1Bind.stdout.trim(), 'dn:uid=user1,ou=People,dc=example,dc=com');

    const scraped = await run('bash', ['-c', metrics]);
    assert.equal(scraped.code, 0, scraped.stderr);
    assert.match(scraped.stdout, /^shrtok_verifications_total\{.*result="success".*\} [1-9]/m);

    demo.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
    assert.equal(existsSync(tempDir), false, 'the temp dir is removed');
  } finally {
    demo.kill('SIGKILL');
  }
});
