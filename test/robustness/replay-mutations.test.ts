// A bounded mutation run over real sockets (10 s of warm-up and 40 s measured, SHRTOK_FUZZ_SECONDS to change): mutations of PDUs
// captured from ldap-utils, of PDUs built with the project's encoders (including virtual binds, the verify
// extended operation and token writes, so the verification interceptors decode them) and of the PROTOS
// cases, each on its own connection through the real proxy, with verification on, to a real slapd. A third
// of the cases first bind as the verifier DN, so bound-only paths and the larger PDU limit are reached. Every case must get a well-formed answer or a clean
// close within the deadline; the proxy must stay up, its RSS flat and its descriptors back to the baseline.
// The seed is printed: SHRTOK_FUZZ_SEED=<seed> replays the same sequence of cases.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PEOPLE, SERVICE_PASSWORD } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { startTokenSlapd, token, verificationArgs } from '../verify/fixtures.js';
import { startProxy } from '../helpers/proxy.js';
import type { ProxyProcess } from '../helpers/proxy.js';
import { waitFor } from '../helpers/run.js';
import { loadCorpora } from '../helpers/corpora.js';
import { captureLdapUtils } from './capture.js';
import { fdCount, rssBytes } from './ldap-wire.js';
import { mutate, seededRand } from './mutate.js';
import { seedPdus, verificationSeeds, verifierBind } from './pdus.js';
import { assertStillServes, newStats, replayCase, runPool } from './replay.js';

const SECONDS = Number(process.env.SHRTOK_FUZZ_SECONDS ?? 40);
const SEED = Number(process.env.SHRTOK_FUZZ_SEED ?? Date.now() % 2 ** 31);

let slapd: Slapd;
let proxy: ProxyProcess;
let dir: string;

before(async () => {
  slapd = await startTokenSlapd();
  dir = mkdtempSync(join(tmpdir(), 'shrtok-fuzz-'));
  writeFileSync(join(dir, 'svc.pw'), SERVICE_PASSWORD);
  proxy = await startProxy({
    backends: [slapd.url],
    extraArgs: [
      ...verificationArgs({
        passwordFile: join(dir, 'svc.pw'),
        certRepository: true,
        verifierDn: `uid=user1,${PEOPLE}`,
      }),
      '--allow-plaintext-virtual-bind',
      // Failed binds must not block the fuzzer's address, or the bind paths would stop being exercised.
      ...['--client-max-failed-binds', '1000000000', '--log-level', 'error'],
    ],
  });
});
after(async () => {
  await proxy?.stop();
  await slapd?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test(
  `mutation run over real sockets (${SECONDS} s, seed ${SEED})`,
  { timeout: (SECONDS + 60) * 1000 },
  async (t) => {
    const corpora = loadCorpora(['protos-c06-ldapv3-enc-r1-first100']);
    t.diagnostic(
      corpora.cases.length > 0 ? corpora.summary : `${corpora.summary} (captured and built PDUs only)`,
    );
    const cmc = readFileSync(new URL('../fixtures/cmc/cmc/c01.der', import.meta.url));
    const seeds = [
      ...(await captureLdapUtils()),
      ...seedPdus(),
      ...verificationSeeds(Buffer.from(token('t01').token, 'latin1'), cmc),
      ...corpora.cases.filter((c) => c.bytes.length < 8192).map((c) => c.bytes),
    ];
    const rand = seededRand(SEED);
    const pid = proxy.pid;
    const stats = newStats();
    const failures: string[] = [];
    const bind = verifierBind(0x7ffffff1);
    const nextCase = (): Buffer => {
      const m = mutate(seeds[rand() % seeds.length] as Buffer, rand, seeds);
      return rand() % 3 === 0 ? Buffer.concat([bind, m]) : m;
    };
    const one = async (bytes: Buffer): Promise<void> => {
      const mayBind = bytes.subarray(0, bind.length).equals(bind);
      const failure = await replayCase(proxy.port(), bytes, stats, mayBind);
      if (failure && failures.length < 20)
        failures.push(`${failure}; input ${bytes.subarray(0, 96).toString('hex')}`);
    };

    // Warm-up (10 s of the same churn), so the baseline includes the heap size the churn settles at and the
    // growth measured after it is what the cases leave behind.
    const warmUntil = Date.now() + 10_000;
    await runPool(4, () => (Date.now() < warmUntil ? nextCase() : undefined), one);
    const rss0 = rssBytes(pid);
    const fds0 = fdCount(pid);
    const samples: number[] = [];
    const deadline = Date.now() + SECONDS * 1000;
    let nextSample = Date.now() + 5000;
    await runPool(
      4,
      () => {
        if (Date.now() >= nextSample) {
          samples.push(rssBytes(pid));
          nextSample += 5000;
        }
        return Date.now() < deadline && failures.length === 0 && proxy.alive ? nextCase() : undefined;
      },
      one,
    );
    t.diagnostic(
      `${stats.cases} cases: ${stats.answered} answered, ${stats.closed} closed (${stats.resets} by reset); ` +
        `${JSON.stringify(stats.byExpectation)}; slowest ${stats.slowestMs.toFixed(0)} ms (${stats.slowest}), ${stats.overHalfDeadline} over half the deadline, ${stats.retried} met it only when sent again`,
    );
    assert.deepEqual(failures, [], `seed ${SEED}`);
    assert.ok(proxy.alive, `the proxy exited: ${proxy.stderr.slice(-2000)}`);
    await waitFor(() => fdCount(pid) <= fds0 + 2, 10_000, 'proxy descriptors to return to the baseline');
    const grown = rssBytes(pid) - rss0;
    t.diagnostic(
      `proxy RSS: baseline ${(rss0 / 1048576).toFixed(1)} MiB, every 5 s ${samples.map((s) => (s / 1048576).toFixed(1)).join(' ')}, ` +
        `growth ${(grown / 1048576).toFixed(1)} MiB; fds ${fds0} -> ${fdCount(pid)}`,
    );
    assert.ok(grown < 50 * 1048576, `proxy RSS grew by ${(grown / 1048576).toFixed(1)} MiB`);
    await assertStillServes(proxy.url(), 'user4');
  },
);
