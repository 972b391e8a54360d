// Token verification throughput through SoftHSM2 vs the module's raw RSA-2048 rate and openssl's ceiling,
// measured side by side in one run. Not a test: prints figures and ratios.
//   npx tsx bench/token-bench.ts [--seconds N] [--rounds N] [--concurrency N]
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pkcs11js from 'pkcs11js';
import type { KeyProvider, WrapAlgorithm } from '../src/keys/index.js';
import { acquireModule } from '../src/keys/pkcs11/module-registry.js';
import { initSoftHsmToken } from '../src/keys/pkcs11/softhsm-init.js';
import { readPinFile } from '../src/keys/pkcs11/token-session.js';
import { createToken, decryptToken, timingSafeEqualBytes } from '../src/token/index.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
  },
});
const SECONDS = Number(args.seconds);
const ROUNDS = Number(args.rounds);
const CONCURRENCY = Number(args.concurrency);
const CORES = availableParallelism();
const KEY_PEM = join(import.meta.dirname, '..', 'test', 'fixtures', 'vectors', 'issuance_protection_key.pem');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Raw RSA-2048 private operations (C_Decrypt CKM_RSA_X_509), one session per core, each in a tight loop. */
async function rawRsaRate(module: string, token: string, pinFile: string, keyLabel: string): Promise<Rate> {
  const mod = acquireModule(module);
  const lib = mod.lib;
  try {
    const slot = lib
      .C_GetSlotList(true)
      .find((s) => lib.C_GetTokenInfo(s).label.replace(/[\0 ]+$/, '') === token)!;
    const sessions = Array.from({ length: CORES }, () =>
      lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION),
    );
    try {
      lib.C_Login(sessions[0]!, pkcs11js.CKU_USER, await readPinFile(pinFile));
    } catch {
      // already logged in through the provider
    }
    lib.C_FindObjectsInit(sessions[0]!, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_LABEL, value: keyLabel },
      { type: pkcs11js.CKA_TOKEN, value: true },
    ]);
    const [key] = lib.C_FindObjects(sessions[0]!, 1);
    lib.C_FindObjectsFinal(sessions[0]!);
    const input = randomBytes(256);
    input[0] = 0; // below the modulus
    const deadline = performance.now() + SECONDS * 1000;
    const start = performance.now();
    const cpu0 = process.cpuUsage();
    const counts = await Promise.all(
      sessions.map(async (s) => {
        let n = 0;
        const out = Buffer.alloc(256);
        while (performance.now() < deadline) {
          lib.C_DecryptInit(s, { mechanism: pkcs11js.CKM_RSA_X_509 }, key!);
          await lib.C_DecryptAsync(s, input, out);
          n++;
        }
        return n;
      }),
    );
    const elapsed = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    for (const s of sessions) lib.C_CloseSession(s);
    const ops = counts.reduce((a, b) => a + b, 0);
    return { rate: ops / elapsed, cpuUsPerOp: (cpu.user + cpu.system) / ops };
  } finally {
    mod.release();
  }
}

interface Rate {
  rate: number;
  /** Process CPU (all threads) per operation: unaffected by other load on the machine. */
  cpuUsPerOp: number;
}

interface VerifyRun extends Rate {
  p99ms: number;
  maxms: number;
}

/** Full verifications (parse, unwrap + AES in the token, UTF-8 check, constant-time compare), no cache. */
async function verifyRate(provider: KeyProvider, wrap: WrapAlgorithm): Promise<VerifyRun> {
  const pub = await provider.publicKey();
  const corpus = Array.from({ length: 64 }, (_, i) => {
    const pass = Buffer.from(`bench-passphrase-${i}`);
    return { pass, value: createToken(pass, pub, wrap).toString('base64') };
  });
  const h = monitorEventLoopDelay({ resolution: 1 });
  const deadline = performance.now() + SECONDS * 1000;
  let done = 0;
  let next = 0;
  h.enable();
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const item = corpus[next++ % corpus.length]!;
        const { passphrase } = await decryptToken(item.value, provider, wrap);
        if (!timingSafeEqualBytes(passphrase, item.pass)) throw new Error('verification mismatch');
        passphrase.fill(0);
        done++;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  h.disable();
  return {
    rate: done / elapsed,
    cpuUsPerOp: (cpu.user + cpu.system) / done,
    p99ms: h.percentile(99) / 1e6,
    maxms: h.max / 1e6,
  };
}

/** Event-loop p99 with nothing to do: scheduling noise of the machine, the floor for the figure above. */
async function idleLoopP99(): Promise<number> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await new Promise((r) => setTimeout(r, 2000));
  h.disable();
  return h.percentile(99) / 1e6;
}

/** openssl speed rsa2048: the sign/s column is the RSA-2048 private-key rate of one process. */
function opensslRate(): number {
  const argv = ['speed', '-seconds', '3', 'rsa2048'];
  const out = execFileSync('openssl', argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const line = out.split('\n').find((l) => /^rsa\s+2048 bits/.test(l));
  const sign = Number(line?.trim().split(/\s+/).at(-2));
  if (!Number.isFinite(sign)) throw new Error(`cannot parse openssl speed output: ${out.slice(-200)}`);
  return sign;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-token-bench-'));
  try {
    const hsm = await initSoftHsmToken({ dir, label: 'bench', keyLabel: 'ipc', importKeyPem: KEY_PEM });
    const notices: string[] = [];
    const opts = {
      kind: 'pkcs11',
      module: hsm.module,
      token: hsm.tokenLabel,
      pinFile: hsm.pinFile,
      keyLabel: hsm.keyLabel,
      wrap: 'rsa-pkcs1v15',
    } as const;
    const { openPkcs11Provider } = await import('../src/keys/pkcs11/pkcs11-provider.js');
    const provider = await openPkcs11Provider(opts, { log: (m) => notices.push(m) });
    // For comparison only: a pool of one session per core leaves the event loop more CPU.
    const small = await openPkcs11Provider({ ...opts, sessions: CORES }, { log: () => undefined });
    const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
    console.log(
      `token-bench: ${CORES} cores, SoftHSM2 ${hsm.module}, pool ${pool} sessions, ${CONCURRENCY} in flight, ${ROUNDS} rounds × ${SECONDS} s`,
    );
    for (const n of notices) console.log(`  note: ${n}`);
    const idle: number[] = [];
    const raw: Rate[] = [];
    const v15: VerifyRun[] = [];
    const oaep: VerifyRun[] = [];
    const smallPool: VerifyRun[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      idle.push(await idleLoopP99());
      raw.push(await rawRsaRate(hsm.module, hsm.tokenLabel, hsm.pinFile, hsm.keyLabel));
      v15.push(await verifyRate(provider, 'rsa-pkcs1v15'));
      oaep.push(await verifyRate(provider, 'rsa-oaep-sha256'));
      smallPool.push(await verifyRate(small, 'rsa-pkcs1v15'));
      console.log(
        `  round ${r + 1}: raw RSA ${raw[r]!.rate.toFixed(0)}/s, verify v1.5 ${v15[r]!.rate.toFixed(0)}/s (loop p99 ${v15[r]!.p99ms.toFixed(1)} ms), verify OAEP-256 (raw fallback) ${oaep[r]!.rate.toFixed(0)}/s (p99 ${oaep[r]!.p99ms.toFixed(1)} ms), pool of ${CORES}: ${smallPool[r]!.rate.toFixed(0)}/s (p99 ${smallPool[r]!.p99ms.toFixed(1)} ms), idle loop p99 ${idle[r]!.toFixed(1)} ms, load ${loadavg()[0]!.toFixed(1)}`,
      );
    }
    await provider.close();
    await small.close();
    // openssl speed counts CPU time, so its rate is per core and unaffected by other load; -multi is not used
    // (OpenSSL 3.0 misreports it).
    const ossl1 = opensslRate();
    const rawM = median(raw.map((x) => x.rate));
    const rawCpu = median(raw.map((x) => x.cpuUsPerOp));
    const v15Cpu = median(v15.map((x) => x.cpuUsPerOp));
    const oaepCpu = median(oaep.map((x) => x.cpuUsPerOp));
    const v15M = median(v15.map((x) => x.rate));
    const oaepM = median(oaep.map((x) => x.rate));
    const p99 = median(v15.map((x) => x.p99ms));
    const p99o = median(oaep.map((x) => x.p99ms));
    const smallM = median(smallPool.map((x) => x.rate));
    const smallP99 = median(smallPool.map((x) => x.p99ms));
    const maxMs = Math.max(...v15.map((x) => x.maxms), ...oaep.map((x) => x.maxms));
    console.log('\nmedians:');
    console.log(
      `  openssl speed rsa2048                  ${ossl1.toFixed(0)} sign/s per core (${(1e6 / ossl1).toFixed(0)} µs CPU/op); ceiling ${(ossl1 * CORES).toFixed(0)}/s on ${CORES} cores`,
    );
    console.log(
      `  SoftHSM raw RSA, ${CORES} sessions          ${rawM.toFixed(0)} ops/s, ${rawCpu.toFixed(0)} µs CPU/op (${(1e6 / ossl1 / rawCpu).toFixed(2)} of openssl's efficiency)`,
    );
    console.log(
      `  verifications, PKCS#1 v1.5 (unwrap)    ${v15M.toFixed(0)} /s     ratio to raw RSA ${(v15M / rawM).toFixed(2)} (target >= 0.8)`,
    );
    console.log(
      `  verifications, OAEP-SHA256 (raw + unpad) ${oaepM.toFixed(0)} /s   ratio to raw RSA ${(oaepM / rawM).toFixed(2)}`,
    );
    console.log(
      `  CPU per op (all threads, load-independent): raw RSA ${rawCpu.toFixed(0)} µs, verify v1.5 ${v15Cpu.toFixed(0)} µs (ratio ${(rawCpu / v15Cpu).toFixed(2)}), verify OAEP ${oaepCpu.toFixed(0)} µs (ratio ${(rawCpu / oaepCpu).toFixed(2)})`,
    );
    console.log(
      `  event loop p99 delay                   ${p99.toFixed(1)} ms v1.5, ${p99o.toFixed(1)} ms OAEP (target < 10 ms); max ${maxMs.toFixed(1)} ms`,
    );
    console.log(
      `  for comparison, pool of ${CORES} sessions: v1.5 ${smallM.toFixed(0)} /s (ratio to raw ${(smallM / rawM).toFixed(2)}), loop p99 ${smallP99.toFixed(1)} ms`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
