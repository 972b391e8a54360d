// Memory of idle client connections: the proxy's RSS (VmRSS of /proc/<pid>/status) with N idle clients
// connected, minus its RSS with none, divided by N. Each client connection also holds the proxy's backend
// connection to slapd, so the figure covers both sockets. Two states are measured side by side in one run:
// clients that connected and sent nothing, then the same clients after each did one search (buffers that
// exist only once data has flowed). Target: under 64 KiB per connection.
//
//   bash bench/memory-idle-connections.sh [N]      (raises ulimit -n; needs `npm run build` first)
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { startSlapd } from '../test/helpers/slapd.js';
import { startProxy } from '../test/helpers/proxy.js';
import { openSocket, splitMessages } from '../test/robustness/ldap-wire.js';
import { rootDseSearch } from '../test/robustness/pdus.js';

const N = Number(process.argv[2] ?? 10_000);
const TARGET_KIB = 64;
const KiB = 1024;

function rss(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * KiB;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Median of three readings a second apart (RSS moves while the allocator and GC settle). */
async function steadyRss(pid: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 3; i++) {
    await sleep(1000);
    xs.push(rss(pid));
  }
  return xs.sort((a, b) => a - b)[1] as number;
}

async function openIdle(port: number, n: number): Promise<Socket[]> {
  const out: Socket[] = [];
  for (let i = 0; i < n; i += 250) {
    const batch = await Promise.all(Array.from({ length: Math.min(250, n - i) }, () => openSocket(port)));
    for (const s of batch) s.on('error', () => undefined);
    out.push(...batch);
  }
  return out;
}

/** One root DSE search on every connection, 500 at a time; resolves when all are answered. */
async function oneSearchEach(socks: Socket[]): Promise<void> {
  for (let i = 0; i < socks.length; i += 500) {
    await Promise.all(
      socks.slice(i, i + 500).map(
        (s) =>
          new Promise<void>((resolve, reject) => {
            let buf = Buffer.alloc(0);
            const onData = (c: Buffer): void => {
              buf = Buffer.concat([buf, c]);
              if (splitMessages(buf).messages.some((m) => m.opTag === 0x65)) {
                s.off('data', onData);
                resolve();
              }
            };
            s.on('data', onData);
            s.once('close', () => reject(new Error('connection closed during the search')));
            s.write(rootDseSearch(7));
          }),
      ),
    );
  }
}

async function main(): Promise<void> {
  const slapd = await startSlapd();
  const proxy = await startProxy({
    backends: [slapd.url],
    extraArgs: ['--max-connections', String(N + 100), '--log-level', 'warn'],
  });
  try {
    const pid = proxy.pid;
    const port = proxy.port();
    // Warm-up: code paths and pools that every connection shares are loaded before the baseline.
    const warm = await openIdle(port, 200);
    await oneSearchEach(warm);
    for (const s of warm) s.destroy();
    const base = await steadyRss(pid);

    const t0 = Date.now();
    const socks = await openIdle(port, N);
    const openMs = Date.now() - t0;
    const fresh = await steadyRss(pid);
    await oneSearchEach(socks);
    const used = await steadyRss(pid);
    const alive = socks.filter((s) => !s.destroyed).length;
    const per = (x: number): number => (x - base) / N / KiB;
    const line = (name: string, x: number): string =>
      `${name.padEnd(34)} RSS ${(x / 1048576).toFixed(1).padStart(7)} MiB   ${per(x).toFixed(1).padStart(6)} KiB/connection   ${(per(x) / TARGET_KIB).toFixed(2)} of the ${TARGET_KIB} KiB target`;
    console.log(
      `shrtok-proxy memory per idle client connection (N=${N}, opened in ${openMs} ms, ${alive} still open)`,
    );
    console.log(
      `${'no client connections (baseline)'.padEnd(34)} RSS ${(base / 1048576).toFixed(1).padStart(7)} MiB`,
    );
    console.log(line('idle, never sent anything', fresh));
    console.log(line('idle after one search each', used));
    for (const s of socks) s.destroy();
  } finally {
    await proxy.stop();
    await slapd.destroy();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
