// Repeatable proxy CPU figure for a noisy shared machine: user-space instructions the proxy process
// executes per forwarded search, counted by valgrind's callgrind. A fixed client (C connections, each with
// one exact-match search in flight, sent as soon as the previous SearchResultDone arrives) drives the proxy;
// counters are zeroed after a warm-up and dumped after a fixed number of searches, so start-up and JIT
// warm-up are excluded. Kernel work (socket read/write) is not in this figure: see proxy-bench.sh for µs/op.
//   node --import tsx bench/proxy-instructions.ts [SEARCHES=20000] [CONNECTIONS=16] [WARMUP=10000]
//   PROXY_BIN=/path/to/bin-script   measures another build (default: bin/shrtok-proxy, i.e. dist/)
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PEOPLE, SERVICE_DN, SERVICE_PASSWORD, USER_COUNT, startSlapd } from '../test/helpers/slapd.js';
import { freePort, waitFor } from '../test/helpers/run.js';

const SEARCHES = Number(process.argv[2] ?? 20000);
const CONNECTIONS = Number(process.argv[3] ?? 16);
const WARMUP = Number(process.argv[4] ?? 10000);
const MAIN = resolve(process.env.PROXY_BIN ?? 'bin/shrtok-proxy');

// Just enough BER for the driver's requests (short integers, definite lengths).
function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
}
function intBytes(n: number): Buffer {
  const out: number[] = [];
  do {
    out.unshift(n & 0xff);
    n = Math.floor(n / 256);
  } while (n > 0);
  if ((out[0] as number) & 0x80) out.unshift(0);
  return Buffer.from(out);
}
const ber = {
  sequence: (...items: Buffer[]) => tlv(0x30, ...items),
  integer: (n: number) => tlv(0x02, intBytes(n)),
  enumerated: (n: number) => tlv(0x0a, intBytes(n)),
  boolean: (b: boolean) => tlv(0x01, Buffer.from([b ? 0xff : 0])),
  octets: (v: string, tag = 0x04) => tlv(tag, Buffer.from(v, 'utf8')),
};

function message(id: number, op: Buffer): Buffer {
  return ber.sequence(ber.integer(id), op);
}

function searchFor(id: number, user: number): Buffer {
  const filter = tlv(0xa3, ber.octets('uid'), ber.octets(`user${user}`));
  const op = tlv(
    0x63,
    ber.octets(PEOPLE),
    ber.enumerated(2),
    ber.enumerated(0),
    ber.integer(0),
    ber.integer(0),
    ber.boolean(false),
    filter,
    ber.sequence(),
  );
  return message(id, op);
}

/** One connection: binds as the service account, then runs `count` searches one after the other. */
class Driver {
  private pending: Buffer = Buffer.alloc(0);
  private nextId = 1;
  private left = 0;
  private done: (() => void) | null = null;

  private constructor(private readonly sock: Socket) {
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  static async open(port: number): Promise<Driver> {
    const sock = await new Promise<Socket>((ok, fail) => {
      const s = connect({ host: '127.0.0.1', port }, () => ok(s));
      s.once('error', fail);
    });
    sock.setNoDelay(true);
    const d = new Driver(sock);
    await d.run(1, () =>
      message(
        d.nextId++,
        tlv(0x60, ber.integer(3), ber.octets(SERVICE_DN), ber.octets(SERVICE_PASSWORD, 0x80)),
      ),
    );
    return d;
  }

  private makeNext: () => Buffer = () => Buffer.alloc(0);

  run(count: number, make?: () => Buffer): Promise<void> {
    this.makeNext = make ?? (() => searchFor(this.nextId++, this.nextId % USER_COUNT));
    this.left = count;
    return new Promise((ok) => {
      this.done = ok;
      if (count === 0) return ok();
      this.sock.write(this.makeNext());
    });
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      const p = this.pending;
      if (p.length < 2) return;
      const first = p[1]!;
      let head = 2;
      let len = first;
      if (first >= 0x80) {
        head = 2 + (first & 0x7f);
        if (p.length < head) return;
        len = 0;
        for (let i = 2; i < head; i++) len = len * 256 + p[i]!;
      }
      if (p.length < head + len) return;
      // protocolOp tag follows the messageID INTEGER.
      const idLen = p[head + 1]!;
      const tag = p[head + 2 + idLen]!;
      this.pending = p.subarray(head + len);
      if (tag === 0x65 || tag === 0x61) {
        if (--this.left > 0) this.sock.write(this.makeNext());
        else this.done?.();
      }
    }
  }

  close(): void {
    this.sock.destroy();
  }
}

async function runAll(drivers: Driver[], total: number): Promise<void> {
  const each = Math.ceil(total / drivers.length);
  await Promise.all(drivers.map((d) => d.run(each)));
}

function totals(dir: string, pid: number): number {
  const dumps = readdirSync(dir).filter((f) => f.startsWith(`cg.${pid}.`));
  const last = dumps.sort().at(-1);
  if (last === undefined) throw new Error('no callgrind dump');
  const text = readFileSync(join(dir, last), 'utf8');
  const m = /^(?:totals|summary): (\d+)/m.exec(text);
  if (m === null) throw new Error('no totals in the callgrind dump');
  return Number(m[1]);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-cg-'));
  const slapd = await startSlapd();
  const port = await freePort();
  const proxy = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--smc-check=all-non-file',
      `--callgrind-out-file=${join(dir, 'cg.%p')}`,
      process.execPath,
      MAIN,
      'serve',
      '--listen',
      `ldap://127.0.0.1:${port}`,
      '--backend',
      slapd.url,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proxy.stdout.on('data', (b: Buffer) => (out += b.toString()));
  let err = '';
  proxy.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
  proxy.once('exit', (code) => console.error(`proxy exited (${code}): ${err}`));
  try {
    await waitFor(() => out.includes('listening'), 120_000, 'the proxy under valgrind');
    console.error('proxy listening; warming up');
    const pid = proxy.pid!;
    const drivers = await Promise.all(Array.from({ length: CONNECTIONS }, () => Driver.open(port)));
    await runAll(drivers, WARMUP);
    execFileSync('callgrind_control', ['-z', String(pid)], { stdio: 'ignore' });
    const t0 = Date.now();
    await runAll(drivers, SEARCHES);
    execFileSync('callgrind_control', ['-d', String(pid)], { stdio: 'ignore' });
    const wall = (Date.now() - t0) / 1000;
    const instr = totals(dir, pid);
    const n = Math.ceil(SEARCHES / CONNECTIONS) * CONNECTIONS;
    console.log(
      `proxy ${MAIN}: ${n} searches over ${CONNECTIONS} connections: ${instr} instructions, ` +
        `${Math.round(instr / n)} per search (${wall.toFixed(1)} s under valgrind)`,
    );
    drivers.forEach((d) => d.close());
  } finally {
    proxy.kill('SIGTERM');
    await new Promise((ok) => proxy.once('exit', ok));
    await slapd.destroy();
    // CG_KEEP=1 keeps the dumps for callgrind_annotate.
    if (process.env.CG_KEEP === '1') console.error(`callgrind dumps in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
