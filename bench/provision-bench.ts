// Bulk provisioning throughput (token set --from-csv), measured side by side in one run against a real slapd:
// public-key only (--cert) vs verify-before-write with the key, at several concurrencies, interleaved rounds.
// Prints rows/s medians and ratios to the baseline (cert, concurrency 4).
// Usage: node --import tsx bench/provision-bench.ts [ROWS] [ROUNDS]
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connectDirectory } from '../src/directory/index.js';
import { ADMIN_DN, ADMIN_PASSWORD, CONFIG_DN, CONFIG_PASSWORD, startSlapd } from '../src/embedded/slapd.js';
import { openKeyProvider } from '../src/keys/index.js';
import { TokenMaker, bulkSet } from '../src/provision/index.js';
import { installSchema } from '../src/schema/index.js';

const rows = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 3);
const KEY = 'test/fixtures/provision/issuance_protection_key.pem';
const CERT = 'test/fixtures/provision/issuance_protection_cert.pem';
const BASE = 'ou=Bench,dc=example,dc=com';

const users = [`dn: ${BASE}\nobjectClass: organizationalUnit\nou: Bench\n`];
for (let i = 0; i < rows; i++)
  users.push(`dn: uid=b${i},${BASE}\nobjectClass: inetOrgPerson\nuid: b${i}\ncn: b\nsn: b\n`);
const slapd = await startSlapd({ syncprov: false, extraLdif: users.join('\n') });
const dir = mkdtempSync(join(tmpdir(), 'shrtok-provision-bench-'));
try {
  const config = await connectDirectory({ url: slapd.url, bindDn: CONFIG_DN, password: CONFIG_PASSWORD });
  await installSchema(config);
  await config.unbind();
  const csv = join(dir, 'rows.csv');
  writeFileSync(csv, ['uid', ...Array.from({ length: rows }, (_, i) => `b${i}`)].join('\n') + '\n');
  const publicKey = new X509Certificate(readFileSync(CERT)).publicKey;
  const provider = await openKeyProvider({ kind: 'pem', keyPem: KEY, allowSoftwareKey: true, wrap: 'auto' });
  const configs = [
    { name: 'cert c=4', maker: new TokenMaker(publicKey, 'rsa-pkcs1v15', undefined), concurrency: 4 },
    { name: 'cert c=1', maker: new TokenMaker(publicKey, 'rsa-pkcs1v15', undefined), concurrency: 1 },
    { name: 'cert c=16', maker: new TokenMaker(publicKey, 'rsa-pkcs1v15', undefined), concurrency: 16 },
    { name: 'key-verify c=4', maker: new TokenMaker(publicKey, 'rsa-pkcs1v15', provider), concurrency: 4 },
  ];
  const results = new Map<string, number[]>(configs.map((c) => [c.name, []]));
  let run = 0;
  for (let round = 0; round < rounds; round++) {
    for (const c of configs) {
      const client = await connectDirectory({ url: slapd.url, bindDn: ADMIN_DN, password: ADMIN_PASSWORD });
      const t0 = performance.now();
      const summary = await bulkSet(client, c.maker, {
        csvFile: csv,
        usersBase: BASE,
        generate: true,
        length: 24,
        outFile: join(dir, `out-${run}.csv`),
        errorsFile: join(dir, `err-${run}.csv`),
        journalFile: join(dir, `journal-${run++}`),
        resume: false,
        concurrency: c.concurrency,
      });
      const seconds = (performance.now() - t0) / 1000;
      await client.unbind();
      if (summary.failed > 0) throw new Error(`${c.name}: ${summary.failed} rows failed`);
      results.get(c.name)?.push(rows / seconds);
    }
  }
  await provider.close();
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const base = median(results.get('cert c=4') ?? []);
  console.log(`bulk token set, ${rows} rows x ${rounds} interleaved rounds (slapd mdb, loopback)`);
  for (const [name, xs] of results) {
    const m = median(xs);
    console.log(
      `${name.padEnd(16)} ${m.toFixed(0).padStart(6)} rows/s  ratio ${(m / base).toFixed(2)}  [${xs.map((x) => x.toFixed(0)).join(', ')}]`,
    );
  }
} finally {
  await slapd.destroy();
  rmSync(dir, { recursive: true, force: true });
}
