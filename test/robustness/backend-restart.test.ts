// A backend restart (clean, then a crash) in the middle of a load of searches and adds through the proxy:
// no client hangs (every operation gets a response or its connection is closed within a bound), no socket
// leaks in the proxy, every add that was acknowledged with success is in the directory afterwards, and no
// add reaches slapd twice (the proxy never retries a write). Adds are counted on the wire by the fault
// proxy between shrtok-proxy and slapd; each has a unique DN.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, ADMIN_DN, ADMIN_PASSWORD } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { startProxy } from '../helpers/proxy.js';
import type { ProxyProcess } from '../helpers/proxy.js';
import { run, sleep, waitFor } from '../helpers/run.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import type { FaultConnection } from '../helpers/fault-proxy.js';
import { decodeAddRequest, encodeAddRequest } from '../../src/ldap/index.js';
import { LdapClient } from './ldap-client.js';
import { fdCount, splitMessages } from './ldap-wire.js';

const LOAD = 'ou=Load,dc=example,dc=com';
const OP_BOUND_MS = 15_000;

let slapd: Slapd;
let fp: FaultProxy;
let proxy: ProxyProcess;

before(async () => {
  slapd = await startSlapd({ extraLdif: `dn: ${LOAD}\nobjectClass: organizationalUnit\nou: Load\n` });
  fp = await FaultProxy.start({ port: slapd.port });
  proxy = await startProxy({
    backends: [fp.url],
    extraArgs: ['--log-level', 'error', '--backend-down-ms', '0'],
  });
});
after(async () => {
  await proxy?.stop();
  await fp?.stop();
  await slapd?.destroy();
});

interface Tally {
  acked: Set<string>;
  failed: Map<string, number>;
  unknown: Set<string>;
  searches: number;
  closes: number;
  notices: Map<number, number>;
}

async function worker(w: number, until: () => boolean, t: Tally): Promise<void> {
  let n = 0;
  while (!until()) {
    const c = await LdapClient.open(proxy.port());
    try {
      const code = await c.bind(ADMIN_DN, ADMIN_PASSWORD, OP_BOUND_MS);
      if (code !== 0) {
        await sleep(100);
        continue;
      }
      while (!until() && !c.closed) {
        const dn = `cn=w${w}-${n++},${LOAD}`;
        const id = c.id();
        const add = encodeAddRequest({
          messageId: id,
          entry: dn,
          attributes: [
            { type: 'objectClass', values: [Buffer.from('organizationalRole')] },
            { type: 'cn', values: [Buffer.from(dn.slice(3, dn.indexOf(',')))] },
          ],
        });
        const r = await c.sendWithin(id, add, OP_BOUND_MS, `add ${dn}`);
        if (r.kind === 'closed') t.unknown.add(dn);
        else if (r.message.resultCode === 0) t.acked.add(dn);
        else t.failed.set(dn, r.message.resultCode ?? -1);
        const s = await c.findUid(`user${n % 40}`, OP_BOUND_MS);
        if (s.kind === 'response') t.searches++;
      }
    } finally {
      if (c.closed) t.closes++;
      if (c.notice !== undefined) t.notices.set(c.notice, (t.notices.get(c.notice) ?? 0) + 1);
      c.close();
    }
  }
}

test(
  'backend restart and crash under load: no hang, no leak, no lost or repeated write',
  { timeout: 90_000 },
  async (t) => {
    // Count every add that reaches slapd, per DN, from the bytes shrtok-proxy sends.
    const seen = new Map<string, number>();
    const partial = new WeakMap<FaultConnection, Buffer>();
    fp.onChunk((dir, chunk, conn) => {
      if (dir !== 'up') return;
      const { messages, rest } = splitMessages(Buffer.concat([partial.get(conn) ?? Buffer.alloc(0), chunk]));
      partial.set(conn, Buffer.from(rest));
      for (const m of messages) {
        if (m.opTag !== 0x68) continue;
        const dn = decodeAddRequest(m.raw).entry;
        seen.set(dn, (seen.get(dn) ?? 0) + 1);
      }
    });
    const fds0 = fdCount(proxy.pid);
    const tally: Tally = {
      acked: new Set(),
      failed: new Map(),
      unknown: new Set(),
      searches: 0,
      closes: 0,
      notices: new Map(),
    };
    let stop = false;
    const workers = Array.from({ length: 6 }, (_, w) => worker(w, () => stop, tally));

    await sleep(1500);
    const beforeRestart = tally.acked.size;
    await slapd.restart();
    await sleep(1500);
    const beforeCrash = tally.acked.size;
    await slapd.stop('SIGKILL');
    await sleep(300);
    await slapd.start();
    await sleep(1500);
    stop = true;
    await Promise.all(workers);

    t.diagnostic(
      `adds acknowledged ${tally.acked.size} (${beforeRestart} before the restart, ${beforeCrash} before the crash), ` +
        `refused ${tally.failed.size} (codes ${[...new Set(tally.failed.values())].join(',')}), unknown (connection lost) ${tally.unknown.size}; ` +
        `searches ${tally.searches}; connections closed under clients ${tally.closes}; notices ${JSON.stringify([...tally.notices])}`,
    );
    assert.ok(
      tally.acked.size > beforeCrash && beforeCrash > beforeRestart,
      'the load kept going across both restarts',
    );

    // Every acknowledged add is in the directory.
    const r = await run(
      'ldapsearch',
      [
        '-x',
        '-LLL',
        '-H',
        slapd.url,
        '-D',
        ADMIN_DN,
        '-w',
        ADMIN_PASSWORD,
        '-b',
        LOAD,
        '-s',
        'one',
        '(objectClass=*)',
        '1.1',
      ],
      {
        timeoutMs: 30_000,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const present = new Set([...r.stdout.matchAll(/^dn: (.*)$/gm)].map((m) => m[1] as string));
    const missing = [...tally.acked].filter((dn) => !present.has(dn));
    assert.deepEqual(missing, [], 'acknowledged adds missing from the directory');
    // Nothing the clients did not send, and nothing sent twice.
    for (const dn of present)
      assert.ok(tally.acked.has(dn) || tally.unknown.has(dn), `unexpected entry ${dn}`);
    const repeated = [...seen].filter(([, count]) => count > 1);
    assert.deepEqual(repeated, [], 'adds that reached slapd more than once');
    const sent = tally.acked.size + tally.failed.size + tally.unknown.size;
    assert.ok(seen.size <= sent, `${seen.size} distinct adds reached slapd, clients sent ${sent}`);

    // No socket left behind once the clients are gone.
    await waitFor(() => fdCount(proxy.pid) <= fds0, 10_000, 'proxy descriptors back to the baseline');
    assert.equal(fp.connections.size, 0, 'backend connections left open');
    assert.ok(proxy.alive);
  },
);
