// Network replay of the external corpora (PROTOS c06-ldapv3, Strozhevsky BER suite, go-fuzz corpus) and of
// the PDUs real ldap-utils clients send, through the real proxy in front of a real slapd: one connection
// per case, each gets a well-formed answer or a clean close within the deadline, the proxy never exits, and
// its RSS and descriptor count do not grow.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { startProxy } from '../helpers/proxy.js';
import type { ProxyProcess } from '../helpers/proxy.js';
import { waitFor } from '../helpers/run.js';
import { loadCorpora } from '../helpers/corpora.js';
import { captureLdapUtils } from './capture.js';
import { fdCount, rssBytes, splitMessages } from './ldap-wire.js';
import { assertStillServes, newStats, replayCase, runPool } from './replay.js';
import { seedPdus } from './pdus.js';

let slapd: Slapd;
let proxy: ProxyProcess;
let captured: Buffer[] = [];

before(async () => {
  slapd = await startSlapd();
  proxy = await startProxy({ backends: [slapd.url], extraArgs: ['--log-level', 'warn'] });
  captured = await captureLdapUtils();
});
after(async () => {
  await proxy?.stop();
  await slapd?.destroy();
});

async function replayAll(cases: { name: string; bytes: Buffer }[], workers = 4): Promise<string> {
  const stats = newStats();
  const failures: string[] = [];
  let i = 0;
  await runPool(
    workers,
    () => (i < cases.length ? (cases[i++] as { bytes: Buffer }).bytes : undefined),
    async (bytes) => {
      const name = cases.find((c) => c.bytes === bytes)?.name ?? '?';
      const failure = await replayCase(proxy.port(), bytes, stats);
      if (failure) failures.push(`${name}: ${failure}`);
    },
  );
  assert.deepEqual(failures.slice(0, 10), [], `${failures.length} case(s) failed`);
  assert.ok(proxy.alive, `the proxy exited: ${proxy.stderr.slice(-2000)}`);
  return `${stats.cases} cases: ${stats.answered} answered, ${stats.closed} closed (${stats.resets} by reset); ${JSON.stringify(stats.byExpectation)}; slowest ${stats.slowestMs.toFixed(0)} ms, ${stats.retried} met the deadline only when sent again`;
}

test('PDUs captured from ldap-utils pass through and are answered', async (t) => {
  assert.ok(captured.length >= 15, `captured only ${captured.length} PDUs`);
  const tags = new Set(captured.flatMap((b) => splitMessages(b).messages.map((m) => m.opTag.toString(16))));
  t.diagnostic(`captured ${captured.length} PDUs, op tags ${[...tags].join(' ')}`);
  // bind, search, modify, add, delete, modDN, compare, extended
  for (const tag of ['60', '63', '66', '68', '4a', '6c', '6e', '77'])
    assert.ok(tags.has(tag), `no op 0x${tag}`);
  t.diagnostic(
    await replayAll([...captured, ...seedPdus()].map((bytes, n) => ({ name: `captured#${n}`, bytes }))),
  );
});

test('external corpora: every case answered or closed in time, proxy alive, memory flat', async (t) => {
  const corpora = loadCorpora();
  t.diagnostic(corpora.summary);
  if (corpora.cases.length === 0) {
    t.skip(corpora.summary);
    return;
  }
  const pid = proxy.pid;
  // Warm up so lazy allocations (JIT, pools) are not counted as growth.
  await replayAll(corpora.cases.slice(0, 50).map((c) => ({ name: c.name, bytes: c.bytes })));
  const rss0 = rssBytes(pid);
  const fds0 = fdCount(pid);
  for (let round = 0; round < 3; round++) {
    t.diagnostic(
      `round ${round + 1}: ${await replayAll(corpora.cases.map((c) => ({ name: `${c.corpus}/${c.name}`, bytes: c.bytes })))}`,
    );
  }
  await waitFor(() => fdCount(pid) <= fds0 + 2, 10_000, 'proxy descriptors to return to the baseline');
  const grown = rssBytes(pid) - rss0;
  t.diagnostic(
    `proxy RSS growth over ${3 * corpora.cases.length} cases: ${(grown / 1048576).toFixed(1)} MiB; fds ${fds0} -> ${fdCount(pid)}`,
  );
  assert.ok(grown < 50 * 1048576, `proxy RSS grew by ${(grown / 1048576).toFixed(1)} MiB`);
  // An ordinary client is still served.
  await assertStillServes(proxy.url(), 'user3');
});
