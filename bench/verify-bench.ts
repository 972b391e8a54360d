// Issue 5 benchmark, one run, interleaved rounds: warm virtual-bind verifications/s through the proxy
// (strict and ttl cache), plain simple binds through the proxy, and a Dogtag-style path (a directory search
// plus a SoftHSM2 decryption for every request). Clients: C connections, each sending bind after bind.
//   node --import tsx bench/verify-bench.ts [SECONDS_PER_ROUND=3] [ROUNDS=3] [CONNECTIONS="16 64"]
// Each connection count is a separate set of rounds: 16 leaves the box partly idle (each client waits for
// its answer), 64 saturates it, which is where throughput ratios are read.
// Targets (issue 5): strict ≥ 0.7 × proxied simple binds, ttl ≥ 1.0 ×, both ≥ 10 × the Dogtag-style path.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawLdapConnection } from '../src/directory/raw-ldap.js';
import { bindFrame, bindLoad } from './lib/bind-client.js';
import { openKeyProvider } from '../src/keys/index.js';
import { decryptToken, timingSafeEqualBytes } from '../src/token/index.js';
import { PEOPLE, SERVICE_PASSWORD } from '../test/helpers/slapd.js';
import { startProxy } from '../test/helpers/proxy.js';
import { SOFTHSM_MODULE, createSoftHsmToken } from '../test/helpers/softhsm.js';
import {
  KEY_PEM,
  ldapAdd,
  passphraseOf,
  serviceDirectory,
  startTokenSlapd,
  token,
  verificationArgs,
} from '../test/verify/fixtures.js';

const SECONDS = Number(process.argv[2] ?? 3);
const ROUNDS = Number(process.argv[3] ?? 3);
const CONCURRENCIES = (process.argv[4] ?? '16 64').split(/[ ,]+/).filter(Boolean).map(Number);
const TOKEN_USERS = 200;
const ONLY = process.env.ONLY?.split(',');

/** utime + stime of a process in ms (/proc/PID/stat, clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const dir = mkdtempSync(join(tmpdir(), 'shrtok-verify-bench-'));
writeFileSync(join(dir, 'svc.pw'), SERVICE_PASSWORD);
const slapd = await startTokenSlapd();
const hsm = await createSoftHsmToken({ importKeyPem: KEY_PEM });
const procs: Awaited<ReturnType<typeof startProxy>>[] = [];
try {
  const users = Array.from({ length: TOKEN_USERS }, (_, i) => `tok${i}`);
  await ldapAdd(
    slapd.url,
    users
      .map(
        (uid) =>
          `dn: uid=${uid},${PEOPLE}\nobjectClass: inetOrgPerson\nobjectClass: extensibleObject\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\n` +
          `shrTok:: ${Buffer.from(token('t01').token).toString('base64')}\n`,
      )
      .join('\n'),
  );
  const common = [
    ...verificationArgs({ passwordFile: join(dir, 'svc.pw') }),
    '--allow-plaintext-virtual-bind',
    '--service-connections',
    '4',
    '--log-level',
    'error',
  ];
  // Audit on, as in production: one line per verification, batched to a file (at --log-level error the
  // process-log fallback would drop them, so without a file the audit cost would not be measured).
  const strict = await startProxy({
    backends: [slapd.url],
    extraArgs: [...common, '--cache-mode', 'strict', '--audit-log', join(dir, 'audit-strict.log')],
  });
  const ttl = await startProxy({
    backends: [slapd.url],
    extraArgs: [
      ...common,
      ...['--cache-mode', 'ttl', '--cache-ttl', '3600', '--audit-log', join(dir, 'audit-ttl.log')],
    ],
  });
  procs.push(strict, ttl);
  const pass = passphraseOf('t01');
  let n = 0;
  const virtualBinds = Array.from({ length: TOKEN_USERS }, (_, i) =>
    bindFrame(`uid=tok${i},cn=shared-token`, pass),
  );
  const plainBinds = Array.from({ length: 40 }, (_, i) => bindFrame(`uid=user${i},${PEOPLE}`, `pass${i}`));
  const virtual = (): Buffer => virtualBinds[n++ % TOKEN_USERS]!;
  const plain = (): Buffer => plainBinds[n++ % 40]!;

  // Dogtag-style: every request searches the directory and decrypts in the HSM (no cache), then compares.
  const provider = await openKeyProvider({
    kind: 'pkcs11',
    module: SOFTHSM_MODULE,
    token: hsm.tokenLabel,
    pinFile: hsm.pinFile,
    keyLabel: hsm.keyLabel,
    wrap: 'rsa-pkcs1v15',
  });
  const { pool, directory } = serviceDirectory(slapd.url);
  async function dogtag(connections: number): Promise<number> {
    let done = 0;
    const until = Date.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (Date.now() < until) {
          const rec = await directory.lookupEnrollmentToken(`tok${n++ % TOKEN_USERS}`);
          const { passphrase } = await decryptToken(rec.token, provider, 'rsa-pkcs1v15');
          if (!timingSafeEqualBytes(passphrase, pass)) throw new Error('dogtag path: mismatch');
          passphrase.fill(0);
          done++;
        }
      }),
    );
    return done / SECONDS;
  }

  // Warm both caches.
  for (const p of [strict, ttl]) {
    const c = await RawLdapConnection.open({ url: p.listening[0]! });
    for (let i = 0; i < TOKEN_USERS; i++) await c.bind(`uid=tok${i},cn=shared-token`, pass);
    c.close();
  }
  const measured: Record<string, number> = { strict: 0, ttl: 0 };
  for (const conc of CONCURRENCIES) {
    const results: Record<string, number[]> = { strict: [], ttl: [], plain: [], dogtag: [] };
    // CPU µs per operation of the process doing the verification (the proxy; the bench process for the
    // Dogtag-style path, where SoftHSM runs in-process) plus slapd: steadier than ops/s on a busy machine.
    const cpu: Record<string, number[]> = { strict: [], ttl: [], plain: [], dogtag: [] };
    const cpuOwn: Record<string, number[]> = { strict: [], ttl: [], plain: [], dogtag: [] };
    // The load client's own CPU per operation (this process; the Dogtag-style path has none).
    const cpuClient: Record<string, number[]> = { strict: [], ttl: [], plain: [], dogtag: [] };
    for (let r = 0; r < ROUNDS; r++) {
      // ONLY=strict,plain (for profiling one path) measures just those.
      const order = ['strict', 'ttl', 'plain', 'dogtag'].filter((k) => !ONLY || ONLY.includes(k));
      for (let k = 0; k < order.length; k++) {
        const which = order[(r + k) % order.length]!;
        const worker = which === 'ttl' ? ttl.proc.pid : which === 'dogtag' ? process.pid : strict.proc.pid;
        const ownBefore = cpuMs(worker);
        const before = ownBefore + cpuMs(slapd.proc?.pid);
        const clientBefore = cpuMs(process.pid);
        const opsPerSec =
          which === 'strict'
            ? await bindLoad(strict.listening[0]!, virtual, conc, SECONDS)
            : which === 'ttl'
              ? await bindLoad(ttl.listening[0]!, virtual, conc, SECONDS)
              : which === 'plain'
                ? await bindLoad(strict.listening[0]!, plain, conc, SECONDS)
                : await dogtag(conc);
        results[which]!.push(opsPerSec);
        const own = cpuMs(worker);
        const spent = own + cpuMs(slapd.proc?.pid) - before;
        cpuOwn[which]!.push(((own - ownBefore) * 1000) / (opsPerSec * SECONDS));
        cpu[which]!.push((spent * 1000) / (opsPerSec * SECONDS));
        if (which !== 'dogtag')
          cpuClient[which]!.push(((cpuMs(process.pid) - clientBefore) * 1000) / (opsPerSec * SECONDS));
      }
    }
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const m = Object.fromEntries(
      Object.entries(results).map(([k, v]) => [k, v.length ? med(v) : NaN]),
    ) as Record<string, number>;
    console.log(`${ROUNDS} rounds × ${SECONDS} s, ${conc} connections; medians (all rounds):`);
    for (const [k, v] of Object.entries(results)) {
      if (v.length === 0) continue;
      console.log(
        `  ${k.padEnd(7)} ${m[k]!.toFixed(0).padStart(7)} binds/s   [${v.map((x) => x.toFixed(0)).join(', ')}]` +
          `   CPU µs/op: ${med(cpu[k]!).toFixed(0)} (verifying process ${med(cpuOwn[k]!).toFixed(0)} + slapd)` +
          (k === 'dogtag' ? '' : `, load client ${med(cpuClient[k]!).toFixed(0)}`),
      );
    }
    console.log(`  strict / plain  ${(m.strict! / m.plain!).toFixed(2)}   (target ≥ 0.7)`);
    console.log(`  ttl / plain     ${(m.ttl! / m.plain!).toFixed(2)}   (target ≥ 1.0)`);
    console.log(`  strict / dogtag ${(m.strict! / m.dogtag!).toFixed(1)}   (target ≥ 10)`);
    console.log(`  ttl / dogtag    ${(m.ttl! / m.dogtag!).toFixed(1)}   (target ≥ 10)`);
    measured.strict! += results.strict!.reduce((a, b) => a + b, 0) * SECONDS;
    measured.ttl! += results.ttl!.reduce((a, b) => a + b, 0) * SECONDS;
  }
  await pool.close();
  await provider.close();
  // Every verification leaves an audit line (the proxies flush their batch on SIGTERM).
  for (const p of procs) await p.stop();
  for (const name of ['strict', 'ttl'] as const) {
    const lines = readFileSync(join(dir, `audit-${name}.log`), 'utf8').split('\n').length - 1;
    const expected = Math.round(measured[name]!) + TOKEN_USERS;
    console.log(`  audit lines (${name}): ${lines} for ${expected} verifications`);
    if (lines < expected) throw new Error(`${name}: fewer audit lines than verifications`);
  }
} finally {
  for (const p of procs) await p.stop();
  await slapd.destroy();
  await hsm.destroy();
  rmSync(dir, { recursive: true, force: true });
}
