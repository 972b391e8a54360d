// Timing side channel of the virtual bind: a wrong passphrase for an existing user, an unknown user and a
// locked user must take the same time (and get the same answer), or an attacker could enumerate users or
// learn the lockout state.
//
// Method, built to survive a shared, noisy 2-core machine:
// * one persistent connection, sequential binds, so every sample crosses the same path;
// * the three kinds are interleaved in a freshly shuffled order in every round, so drift (other processes,
//   GC, CPU frequency) lands on all kinds alike instead of on whichever ran last;
// * a warm-up pass first (JIT, the first decrypt of each token, connection set-up);
// * the slowest 5 % of each kind are dropped (pauses unrelated to the code path);
// * each pair of kinds is compared with a Mann-Whitney U test (rank-based: no normality assumption, robust
//   to outliers). The pair counts as distinguishable only when the difference is both significant at
//   alpha = 0.001 / 3 (Bonferroni over the three pairs) and at least a small effect: the Vargha-Delaney
//   A (probability that a sample of one kind is slower than one of the other) outside 0.5 +- 0.1. Requiring
//   an effect size keeps the test from failing on a few microseconds of systematic noise that large
//   samples make "significant" but that no network attacker could measure; a real leak (a skipped
//   directory read or decrypt costs 100s of us to ms here) pushes A far outside that band.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBindRequest } from '../../src/ldap/index.js';
import { ADMIN_DN, ADMIN_PASSWORD, PEOPLE, SERVICE_PASSWORD } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { startProxy } from '../helpers/proxy.js';
import type { ProxyProcess } from '../helpers/proxy.js';
import { ldapAdd, startTokenSlapd, token, verificationArgs } from '../verify/fixtures.js';
import { LdapClient } from './ldap-client.js';
import { seededRand } from './mutate.js';
import { mannWhitney, trimSlowest } from './timing-stats.js';

const USERS = 40; // uid=user0..user39 get a token
const ROUNDS = 8; // wrong passphrases per existing user (below the lockout threshold)
const LOCKOUT = 12;
const ALPHA = 0.001 / 3;
const MAX_EFFECT = 0.1;

let slapd: Slapd;
let proxy: ProxyProcess;
let dir: string;

before(async () => {
  slapd = await startTokenSlapd();
  const tok = Buffer.from(token('t01').token, 'latin1').toString('base64');
  const ldif = Array.from(
    { length: USERS },
    (_, i) =>
      `dn: uid=user${i},${PEOPLE}\nchangetype: modify\nadd: objectClass\nobjectClass: extensibleObject\n-\nadd: shrTok\nshrTok:: ${tok}\n`,
  ).join('\n');
  await ldapAdd(slapd.url, ldif, ADMIN_DN, ADMIN_PASSWORD, true);
  dir = mkdtempSync(join(tmpdir(), 'shrtok-timing-'));
  writeFileSync(join(dir, 'svc.pw'), SERVICE_PASSWORD);
  proxy = await startProxy({
    backends: [slapd.url],
    extraArgs: [
      ...verificationArgs({ passwordFile: join(dir, 'svc.pw'), certRepository: true }),
      '--allow-plaintext-virtual-bind',
      ...[
        '--lockout-max-failures',
        String(LOCKOUT),
        '--lockout-window',
        '3600',
        '--lockout-duration',
        '3600',
      ],
      ...['--client-max-failed-binds', '1000000000', '--log-level', 'warn'],
    ],
  });
});
after(async () => {
  await proxy?.stop();
  await slapd?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Kind = 'wrong passphrase' | 'unknown user' | 'locked user';

/** The protocolOp bytes of a response (what follows the messageID), to compare answers across kinds. */
function opBytes(raw: Buffer): string {
  let p = raw[1]! & 0x80 ? 2 + (raw[1]! & 0x7f) : 2;
  p += 2 + raw[p + 1]!;
  return raw.subarray(p).toString('hex');
}

test(
  'wrong passphrase, unknown user and locked user cannot be told apart by time or answer',
  { timeout: 120_000 },
  async (t) => {
    const c = await LdapClient.open(proxy.port());
    const bind = async (uid: string, password: string): Promise<{ ms: number; op: string }> => {
      const id = c.id();
      const frame = encodeBindRequest({
        messageId: id,
        version: 3,
        name: `uid=${uid},cn=shared-token`,
        authentication: { kind: 'simple', password: Buffer.from(password) },
      });
      const t0 = performance.now();
      const r = await c.sendWithin(id, frame, 10_000, 'virtual bind');
      const ms = performance.now() - t0;
      assert.equal(r.kind, 'response');
      if (r.kind !== 'response') throw new Error('closed');
      assert.equal(r.message.resultCode, 49, `${uid}: expected invalidCredentials`);
      return { ms, op: opBytes(r.message.raw) };
    };

    // Lock carol; warm every path (and decrypt each user's token once, as a live proxy would have).
    for (let i = 0; i < LOCKOUT + 1; i++) await bind('carol', `wrong-${i}`);
    for (let i = 0; i < USERS; i++) await bind(`user${i}`, 'warm-up');
    for (let i = 0; i < 20; i++) {
      await bind(`nobody-warm-${i}`, 'warm-up');
      await bind('carol', 'warm-up');
    }

    const samples: Record<Kind, number[]> = { 'wrong passphrase': [], 'unknown user': [], 'locked user': [] };
    const answers = new Set<string>();
    const rand = seededRand(20261127);
    let unknown = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (let u = 0; u < USERS; u++) {
        const order: Kind[] = ['wrong passphrase', 'unknown user', 'locked user'];
        for (let i = order.length - 1; i > 0; i--) {
          const j = rand() % (i + 1);
          [order[i], order[j]] = [order[j] as Kind, order[i] as Kind];
        }
        for (const kind of order) {
          const uid =
            kind === 'wrong passphrase'
              ? `user${u}`
              : kind === 'unknown user'
                ? `nobody-${unknown++}`
                : 'carol';
          const { ms, op } = await bind(uid, `not-the-passphrase-${round}`);
          samples[kind].push(ms);
          answers.add(op);
        }
      }
    }
    c.close();
    assert.equal(answers.size, 1, 'the three kinds got different answers');
    assert.ok(!proxy.stderr.includes('not-the-passphrase'), 'a tried passphrase appears in the proxy log');

    const kinds = Object.keys(samples) as Kind[];
    const trimmed = Object.fromEntries(kinds.map((k) => [k, trimSlowest(samples[k], 0.05)])) as Record<
      Kind,
      number[]
    >;
    const verdicts: string[] = [];
    for (const [a, b] of [
      [kinds[0], kinds[1]],
      [kinds[0], kinds[2]],
      [kinds[1], kinds[2]],
    ] as [Kind, Kind][]) {
      const cmp = mannWhitney(trimmed[a], trimmed[b]);
      const line =
        `${a} vs ${b}: medians ${cmp.medianA.toFixed(3)} / ${cmp.medianB.toFixed(3)} ms, ` +
        `A=${cmp.a12.toFixed(3)}, z=${cmp.z.toFixed(2)}, p=${cmp.p.toExponential(2)} (n=${trimmed[a].length}+${trimmed[b].length})`;
      t.diagnostic(line);
      if (cmp.p < ALPHA && Math.abs(cmp.a12 - 0.5) > MAX_EFFECT) verdicts.push(line);
    }
    assert.deepEqual(verdicts, [], 'distinguishable by time');
  },
);

test('the statistic detects a real difference of the size a leak would have (self-check)', () => {
  const rand = seededRand(7);
  const noise = (): number => 1 + (rand() % 1000) / 1000; // 1..2 ms, uniform
  const base = Array.from({ length: 300 }, noise);
  const same = Array.from({ length: 300 }, noise);
  const slower = Array.from({ length: 300 }, () => noise() + 0.3);
  const none = mannWhitney(base, same);
  const leak = mannWhitney(base, slower);
  assert.ok(!(none.p < ALPHA && Math.abs(none.a12 - 0.5) > MAX_EFFECT), JSON.stringify(none));
  assert.ok(leak.p < ALPHA && Math.abs(leak.a12 - 0.5) > MAX_EFFECT, JSON.stringify(leak));
});
