// Issue 9's "other clients keep their latency within 2x": a well-behaved client (root DSE reads every 10 ms,
// test/robustness/canary.ts, in a process of its own: lib/canary-process.ts) is timed just before and
// during each resource attack, through two proxies on
// the same slapd run side by side: --max-backend-inflight 32 (the default) and 0 (no per-connection cap
// towards the backend), or the values in CAPS="16,32,0"; and the same attacks straight at slapd (DIRECT=0
// leaves that out). Prints median and p95 before/during and their ratios per attack and proxy.
//   node --import tsx bench/attack-latency.ts [ROUNDS=3]      ATTACK=<part of a name> runs only those
// Needs `npm run build` (the proxies are dist/). Not a test: the figures depend on the machine.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBindRequest } from '../src/ldap/index.js';
import { ADMIN_DN, ADMIN_PASSWORD, SERVICE_PASSWORD } from '../test/helpers/slapd.js';
import { startProxy } from '../test/helpers/proxy.js';
import { sleep } from '../test/helpers/run.js';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LdapClient } from '../test/robustness/ldap-client.js';
import { BIG, bigLdif } from '../test/robustness/big-entries.js';
import { openSocket } from '../test/robustness/ldap-wire.js';
import { deepFilter, rootDseSearch, searchRequest } from '../test/robustness/pdus.js';
import { startTokenSlapd, verificationArgs } from '../test/verify/fixtures.js';

const ROUNDS = Number(process.argv[2] ?? 3);

async function openMany(port: number, n: number): Promise<Socket[]> {
  const out: Socket[] = [];
  for (let i = 0; i < n; i += 200)
    out.push(...(await Promise.all(Array.from({ length: Math.min(200, n - i) }, () => openSocket(port)))));
  for (const s of out) s.on('error', () => undefined);
  return out;
}

async function pipeline(port: number, n: number, bound: boolean): Promise<void> {
  const c = await LdapClient.open(port);
  if (bound) await c.bind(ADMIN_DN, ADMIN_PASSWORD);
  const ids = Array.from({ length: n }, () => c.id());
  const answers = ids.map((id) => c.expect(id));
  c.socket.write(Buffer.concat(ids.map((id) => rootDseSearch(id))));
  await Promise.all(answers);
  c.close();
}

/** Each attack runs for a few seconds and cleans up after itself. */
const ATTACKS: Record<string, (port: number) => Promise<void>> = {
  'idle connections (2,000)': async (port) => {
    const idle = await openMany(port, 2000);
    await sleep(1000);
    for (const s of idle) s.destroy();
  },
  'slowloris (200 x 1 byte/s)': async (port) => {
    const socks = await openMany(port, 200);
    for (let i = 0; i < 3; i++) {
      for (const s of socks) s.write(Buffer.from([i === 0 ? 0x30 : 0x02]));
      await sleep(1000);
    }
    for (const s of socks) s.destroy();
  },
  'length bombs (200 x 4 GiB announced)': async (port) => {
    const socks = await openMany(port, 200);
    for (const s of socks) s.write(Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]));
    await sleep(1000);
    for (const s of socks) s.destroy();
  },
  'client that never reads (60 MiB of results)': async (port) => {
    const c = await LdapClient.open(port);
    c.socket.pause();
    for (let i = 0; i < 3; i++)
      c.socket.write(searchRequest(c.id(), { base: BIG, scope: 1, filter: { present: 'objectClass' } }));
    await sleep(3000);
    c.close();
  },
  '2,000 pipelined, anonymous': (port) => pipeline(port, 2000, false),
  '2,000 pipelined, bound': (port) => pipeline(port, 2000, true),
  'filters 1,000 and 20,000 deep (x5)': async (port) => {
    for (let i = 0; i < 5; i++)
      for (const depth of [1000, 20000]) {
        const c = await LdapClient.open(port);
        const id = c.id();
        const filter = deepFilter(depth);
        await c.sendWithin(
          id,
          searchRequest(id, { base: 'ou=People,dc=example,dc=com', scope: 2, filter }),
          10_000,
        );
        c.close();
      }
  },
  'virtual binds with 200 KB names (200)': async (port) => {
    const c = await LdapClient.open(port);
    for (let n = 0; n < 200; n++) {
      const id = c.id();
      const name =
        n % 2 === 0
          ? `uid=u${n}-${'a'.repeat(200_000)},cn=shared-token`
          : `serialNumber=${n}${'7'.repeat(200_000)},cn=shared-token`;
      const frame = encodeBindRequest({
        messageId: id,
        version: 3,
        name,
        authentication: { kind: 'simple', password: Buffer.from('x') },
      });
      await c.sendWithin(id, frame, 10_000);
    }
    c.close();
  },
};

/** The canary process: one bound-less connection to `port`, sampled in windows. */
class RemoteCanary {
  private constructor(private readonly child: ChildProcess) {}

  static async open(port: number): Promise<RemoteCanary> {
    const child = fork(fileURLToPath(new URL('./lib/canary-process.ts', import.meta.url)), [String(port)], {
      execArgv: ['--import', 'tsx'],
    });
    await new Promise<void>((ok, fail) => {
      child.once('message', () => ok());
      child.once('exit', (code) => fail(new Error(`canary process exited (${code})`)));
    });
    return new RemoteCanary(child);
  }

  start(): void {
    this.child.send('start');
  }

  stop(): Promise<number[]> {
    return new Promise((ok) => {
      this.child.once('message', (samples) => ok(samples as number[]));
      this.child.send('stop');
    });
  }

  close(): void {
    this.child.send('close');
  }
}

function quantile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-attack-'));
  writeFileSync(join(dir, 'svc.pw'), SERVICE_PASSWORD);
  const slapd = await startTokenSlapd({ extraLdif: bigLdif(), sizeLimit: 5000 });
  const common = [
    ...verificationArgs({ passwordFile: join(dir, 'svc.pw'), certRepository: true }),
    ...['--allow-plaintext-virtual-bind', '--log-level', 'error'],
  ];
  const proxies: [string, { port(): number; stop(): Promise<unknown> }][] = [];
  try {
    // CAPS="32,0" (default): one proxy per --max-backend-inflight value, side by side.
    for (const cap of (process.env.CAPS ?? '32,0').split(',').map(Number)) {
      const args = [...common, '--max-backend-inflight', String(cap)];
      proxies.push([
        cap === 0 ? 'no cap (0)' : `cap ${cap}`,
        await startProxy({ backends: [slapd.url], extraArgs: args }),
      ]);
    }
    // The same attacks straight at slapd: what the directory server alone does to its other clients.
    if (process.env.DIRECT !== '0')
      proxies.push(['slapd direct', { port: () => slapd.port, stop: () => Promise.resolve() }]);
    const rows: string[] = [];
    const only = process.env.ATTACK ?? '';
    for (const [attack, run] of Object.entries(ATTACKS).filter(([name]) => name.includes(only))) {
      for (const [label, proxy] of proxies) {
        const before: number[] = [];
        const during: number[] = [];
        for (let r = 0; r < ROUNDS; r++) {
          const canary = await RemoteCanary.open(proxy.port());
          canary.start();
          await sleep(1500);
          before.push(...(await canary.stop()));
          canary.start();
          try {
            await run(proxy.port());
          } finally {
            during.push(...(await canary.stop()));
            canary.close();
          }
          await sleep(500);
        }
        before.sort((a, b) => a - b);
        during.sort((a, b) => a - b);
        const b50 = quantile(before, 0.5);
        const d50 = quantile(during, 0.5);
        const b95 = quantile(before, 0.95);
        const d95 = quantile(during, 0.95);
        const line =
          `RESULT attack="${attack}" proxy="${label}" before_p50_ms=${b50.toFixed(2)} during_p50_ms=${d50.toFixed(2)} ` +
          `ratio_p50=${(d50 / b50).toFixed(2)} before_p95_ms=${b95.toFixed(2)} during_p95_ms=${d95.toFixed(2)} ` +
          `ratio_p95=${(d95 / b95).toFixed(2)} n_before=${before.length} n_during=${during.length}`;
        console.error(line);
        rows.push(
          `${attack.padEnd(44)} ${label.padEnd(17)} ${b50.toFixed(2).padStart(7)} ${d50.toFixed(2).padStart(7)} ` +
            `${(d50 / b50).toFixed(2).padStart(6)} ${b95.toFixed(2).padStart(7)} ${d95.toFixed(2).padStart(8)} ` +
            `${(d95 / b95).toFixed(2).padStart(6)}  ${d50 / b50 <= 2 ? 'within 2x' : 'OVER 2x'}`,
        );
      }
    }
    console.log(
      `\nother client's root DSE latency (ms) before and during each attack, ${ROUNDS} rounds each`,
    );
    console.log(
      `${'attack'.padEnd(44)} ${'proxy'.padEnd(17)} ${'p50 bef'.padStart(7)} ${'p50 dur'.padStart(7)} ` +
        `${'ratio'.padStart(6)} ${'p95 bef'.padStart(7)} ${'p95 dur'.padStart(8)} ${'ratio'.padStart(6)}  median target`,
    );
    for (const r of rows) console.log(r);
  } finally {
    for (const [, p] of proxies) await p.stop();
    await slapd.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
