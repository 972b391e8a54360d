// Timing equalisation of the verifier's warm path, measured side by side in one run (real slapd, real
// provider): a wrong passphrase for an existing user, an unknown user, a locked user and the right
// passphrase. Prints medians and ratios to the wrong-passphrase case; a ratio near 1.00 means the cases
// cannot be told apart by time at this resolution. Usage: node --import tsx bench/verify-timing.ts [ROUNDS]
import { performance } from 'node:perf_hooks';
import { TokenVerifier } from '../src/verify/index.js';
import type { Identity, VerifyContext } from '../src/verify/index.js';
import { passphraseOf, pemProvider, serviceDirectory, startTokenSlapd } from '../test/verify/fixtures.js';

const rounds = Number(process.argv[2] ?? 2000);
const ctx: VerifyContext = { clientAddress: '127.0.0.1', kind: 'extop' };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const slapd = await startTokenSlapd();
const { pool, directory } = serviceDirectory(slapd.url);
try {
  for (const mode of ['strict', 'ttl'] as const) {
    const v = new TokenVerifier({
      directory,
      keyProvider: await pemProvider(),
      wrap: 'rsa-pkcs1v15',
      cacheMode: mode,
      cacheTtlMs: 3_600_000,
      lockout: { maxFailures: 3, windowMs: 3_600_000, durationMs: 3_600_000 },
    });
    const cases: [string, Identity, Buffer][] = [
      ['wrong passphrase', { uid: 'alice' }, Buffer.from('wrong passphrase!!!')],
      ['unknown user', { uid: 'nobody' }, Buffer.from('wrong passphrase!!!')],
      ['locked user', { uid: 'carol' }, Buffer.from('wrong passphrase!!!')],
      ['right passphrase', { uid: 'bob' }, passphraseOf('t05')],
    ];
    // Warm every case (and lock carol) before measuring.
    for (const [, id, pw] of cases) for (let i = 0; i < 5; i++) await v.verifyPassword(id, pw, ctx);
    const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
    for (let r = 0; r < rounds; r++) {
      // Rotate the order so drift and caches hit every case alike.
      for (let k = 0; k < cases.length; k++) {
        const [name, id, pw] = cases[(r + k) % cases.length]!;
        const t0 = performance.now();
        await v.verifyPassword(id, pw, ctx);
        times.get(name)!.push((performance.now() - t0) * 1000);
      }
    }
    const base = median(times.get('wrong passphrase')!);
    console.log(`cache ${mode}, ${rounds} rounds, median µs (ratio to wrong passphrase):`);
    for (const [name] of cases) {
      const m = median(times.get(name)!);
      console.log(`  ${name.padEnd(18)} ${m.toFixed(1).padStart(8)}  ${(m / base).toFixed(2)}`);
    }
    console.log(`  directory reads ${v.stats.directoryReads}, decryptions ${v.stats.decrypts}`);
  }
} finally {
  await pool.close();
  await slapd.destroy();
}
