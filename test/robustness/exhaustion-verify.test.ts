// Resource exhaustion through the verification paths an anonymous client can reach: virtual binds whose
// uid or serialNumber is as long as the PDU limit allows. Each failed bind is remembered by the lockout
// table (100,000 identities), so an unbounded identity would let one client pin 100,000 x 256 KiB; and a
// 250,000-digit serial costs ~100 ms of BigInt work on the event loop. Both must be refused cheaply.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBindRequest } from '../../src/ldap/index.js';
import { SERVICE_PASSWORD } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { startProxy } from '../helpers/proxy.js';
import type { ProxyProcess } from '../helpers/proxy.js';
import { startTokenSlapd, verificationArgs } from '../verify/fixtures.js';
import { Canary } from './canary.js';
import { LdapClient } from './ldap-client.js';
import { rssBytes } from './ldap-wire.js';

const MiB = 1048576;
let slapd: Slapd;
let proxy: ProxyProcess;
let dir: string;

before(async () => {
  slapd = await startTokenSlapd();
  dir = mkdtempSync(join(tmpdir(), 'shrtok-exh-verify-'));
  writeFileSync(join(dir, 'svc.pw'), SERVICE_PASSWORD);
  proxy = await startProxy({
    backends: [slapd.url],
    extraArgs: [
      ...verificationArgs({ passwordFile: join(dir, 'svc.pw'), certRepository: true }),
      // Default client limit (50 failures a minute): the attack below runs on after the address is blocked.
      ...['--allow-plaintext-virtual-bind', '--log-level', 'error'],
    ],
  });
});
after(async () => {
  await proxy?.stop();
  await slapd?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test(
  'virtual binds with 200 KB uids and 200,000-digit serials: refused without growing memory',
  { timeout: 120_000 },
  async (t) => {
    const canary = await Canary.open(proxy.port());
    const c = await LdapClient.open(proxy.port());
    const codes = new Map<number, number>();
    const BATCH = 200;
    let n = 0;
    const batch = async (): Promise<void> => {
      for (let i = 0; i < BATCH; i++, n++) {
        const name =
          n % 2 === 0
            ? `uid=u${n}-${'a'.repeat(200_000)},cn=shared-token`
            : `serialNumber=${n}${'7'.repeat(200_000)},cn=shared-token`;
        const id = c.id();
        const frame = encodeBindRequest({
          messageId: id,
          version: 3,
          name,
          authentication: { kind: 'simple', password: Buffer.from('x') },
        });
        const r = await c.sendWithin(id, frame, 10_000, 'long virtual bind');
        assert.equal(r.kind, 'response');
        const code = r.kind === 'response' ? (r.message.resultCode ?? -1) : -1;
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    };
    // The first batch brings the heap to its working size (each request is a 200 KB buffer of garbage); what
    // the next two batches add is what the refused binds leave behind (about 40 MiB a batch when identities
    // were kept whole).
    const rss = [rssBytes(proxy.pid)];
    const t0 = performance.now();
    t.diagnostic(
      await canary.compare(async () => {
        for (let b = 0; b < 3; b++) {
          await batch();
          rss.push(rssBytes(proxy.pid));
        }
      }, 500),
    );
    t.diagnostic(
      `${n} binds in ${(performance.now() - t0).toFixed(0)} ms, result codes ${JSON.stringify([...codes])}, ` +
        `proxy RSS ${rss.map((x) => (x / MiB).toFixed(1)).join(' -> ')} MiB`,
    );
    c.close();
    canary.close();
    assert.deepEqual([...codes.keys()], [49], 'every one refused with invalidCredentials');
    const grown = (rss[3] as number) - (rss[1] as number);
    assert.ok(
      grown < 25 * MiB,
      `the proxy kept ${(grown / MiB).toFixed(1)} MiB for ${2 * BATCH} more refused binds`,
    );
  },
);
