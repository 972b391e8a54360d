// Resource exhaustion by load on one connection: a client that never reads a large result (the proxy must
// apply backpressure, not buffer it), 2,000 pipelined operations (not read past the outstanding-operation
// limit until operations complete), and filters nested 1,000 and 20,000 deep. Another client is served throughout; its
// latency before and during is reported (asserted only against the 5 s liveness bound).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, ADMIN_DN, ADMIN_PASSWORD } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { startProxy } from '../helpers/proxy.js';
import type { ProxyProcess } from '../helpers/proxy.js';
import { sleep, waitFor } from '../helpers/run.js';
import { Canary } from './canary.js';
import { LdapClient } from './ldap-client.js';
import { fdCount, rssBytes } from './ldap-wire.js';
import { deepFilter, rootDseSearch, searchRequest } from './pdus.js';
import { BIG, BIG_ENTRIES, BIG_VALUE, bigLdif } from './big-entries.js';

const MiB = 1048576;

let slapd: Slapd;
let proxy: ProxyProcess;
let canary: Canary;

before(async () => {
  slapd = await startSlapd({ extraLdif: bigLdif(), sizeLimit: 5000 });
  proxy = await startProxy({ backends: [slapd.url], extraArgs: ['--log-level', 'error'] });
  canary = await Canary.open(proxy.port());
});
after(async () => {
  canary?.close();
  await proxy?.stop();
  await slapd?.destroy();
});

test(
  'a client that never reads its results: backpressure, not an unbounded buffer',
  { timeout: 60_000 },
  async (t) => {
    const pid = proxy.pid;
    const fds0 = fdCount(pid);
    const c = await LdapClient.open(proxy.port());
    await c.ping();
    const rss0 = rssBytes(pid);
    c.socket.pause(); // never read again
    const SEARCHES = 3;
    let peak = rss0;
    t.diagnostic(
      await canary.compare(async () => {
        for (let i = 0; i < SEARCHES; i++) {
          const id = c.id();
          c.socket.write(searchRequest(id, { base: BIG, scope: 1, filter: { present: 'objectClass' } }));
        }
        for (let i = 0; i < 10; i++) {
          await sleep(400);
          peak = Math.max(peak, rssBytes(pid));
        }
      }),
    );
    const resultBytes = SEARCHES * BIG_ENTRIES * BIG_VALUE;
    t.diagnostic(
      `${(resultBytes / MiB).toFixed(0)} MiB of results pending for a client that does not read: ` +
        `proxy RSS ${(rss0 / MiB).toFixed(1)} -> peak ${(peak / MiB).toFixed(1)} MiB`,
    );
    assert.ok(peak - rss0 < 30 * MiB, `proxy RSS grew by ${((peak - rss0) / MiB).toFixed(1)} MiB`);
    c.close();
    await waitFor(() => fdCount(pid) <= fds0, 10_000, 'proxy descriptors back to the baseline');
    await canary.compare(() => Promise.resolve(), 100);
  },
);

async function pipeline(c: LdapClient, n: number): Promise<Map<number, number>> {
  const ids: number[] = [];
  const frames: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const id = c.id();
    ids.push(id);
    frames.push(rootDseSearch(id));
  }
  const results = ids.map((id) => c.expect(id));
  c.socket.write(Buffer.concat(frames)); // one write: every request arrives before any answer
  const codes = new Map<number, number>();
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    Promise.all(results),
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 30_000))),
  ]).finally(() => clearTimeout(timer));
  assert.ok(settled, `not every one of ${n} pipelined operations was answered within 30 s`);
  for (const r of settled) {
    assert.equal(r.kind, 'response', 'the connection was closed');
    if (r.kind === 'response')
      codes.set(r.message.resultCode ?? -1, (codes.get(r.message.resultCode ?? -1) ?? 0) + 1);
  }
  return codes;
}

test('2,000 pipelined operations on one connection: read no faster than the limit allows, each answered once', async (t) => {
  for (const [who, bind] of [
    ['anonymous (limit 100)', false],
    ['bound (limit 1000)', true],
  ] as const) {
    const c = await LdapClient.open(proxy.port());
    if (bind) assert.equal(await c.bind(ADMIN_DN, ADMIN_PASSWORD), 0);
    let codes = new Map<number, number>();
    t.diagnostic(
      await canary.compare(async () => {
        codes = await pipeline(c, 2000);
      }, 500),
    );
    t.diagnostic(`${who}: result codes ${JSON.stringify([...codes])}`);
    // Past the limit the connection is not read (backpressure), so nothing is refused; that the backend
    // never sees more than the limit is counted on the wire in test/session/backend-inflight.test.ts.
    assert.deepEqual([...codes], [[0, 2000]]);
    await c.ping(); // the connection is still usable
    c.close();
  }
});

test('filters nested 1,000 and 20,000 deep: an answer or a close, the proxy unharmed', async (t) => {
  for (const depth of [1000, 20000]) {
    const c = await LdapClient.open(proxy.port());
    const id = c.id();
    const frame = searchRequest(id, {
      base: 'ou=People,dc=example,dc=com',
      scope: 2,
      filter: deepFilter(depth),
    });
    let outcome = '';
    t.diagnostic(
      await canary.compare(async () => {
        const r = await c.sendWithin(id, frame, 5000, `filter ${depth} deep`);
        outcome =
          r.kind === 'response' ? `resultCode ${r.message.resultCode} after ${r.entries} entries` : 'closed';
      }, 300),
    );
    t.diagnostic(`depth ${depth} (${frame.length} bytes): ${outcome}`);
    c.close();
    assert.ok(proxy.alive);
  }
});
