// token set --from-csv with 1,000 entries and one bad row, then --resume, against a real slapd.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { KeyProvider } from '../../src/keys/index.js';
import { ADMIN_DN, ADMIN_PASSWORD } from '../helpers/slapd.js';
import { parseCsv } from '../../src/provision/csv.js';
import { CERT_REPO, KEY_PEM, decryptStored, ldapApply, openTestKey, readAttr, runToken } from './fixture.js';
import { startProvisionSlapd } from './slapd-fixture.js';
import type { ProvisionSlapd } from './slapd-fixture.js';

const BULK = 'ou=Bulk,dc=example,dc=com';
const COUNT = 1000;

function bulkUsers(): string {
  const entries = [`dn: ${BULK}\nobjectClass: organizationalUnit\nou: Bulk\n`];
  for (let i = 0; i < COUNT; i++) {
    entries.push(
      `dn: uid=bulk${i},${BULK}\nobjectClass: inetOrgPerson\nuid: bulk${i}\ncn: Bulk ${i}\nsn: B${i}\n`,
    );
  }
  return entries.join('\n');
}

describe('token set --from-csv (1,000 users and 3 cert records, one bad row)', () => {
  let env: ProvisionSlapd;
  let key: KeyProvider;
  let csv: string;
  let out: string;
  const filePassphrases = new Map<string, string>();

  before(async () => {
    env = await startProvisionSlapd(
      [501n, 502n, 503n].map((serial) => ({ serial, metaInfo: [`requestId:${serial}`] })),
      bulkUsers(),
    );
    key = await openTestKey();
    const lines = ['uid,serial,passphrase_file'];
    for (let i = 0; i < COUNT; i++) {
      if (i === 250) lines.push(',501,', ',502,', ',0x1f7,'); // revShrTok rows (0x1f7 = 503)
      if (i === 500) lines.push('ghost,,'); // the bad row: no such entry (yet)
      if (i % 100 === 7) {
        const pass = `file-pass-${i}`;
        filePassphrases.set(`bulk${i}`, pass);
        lines.push(`bulk${i},,${env.tmp.file(`bulk${i}.pass`, `${pass}\n`)}`);
      } else lines.push(`bulk${i},,`);
    }
    csv = env.tmp.file('users.csv', `${lines.join('\r\n')}\r\n`);
    out = `${env.tmp.path}/generated.csv`;
  });
  after(async () => {
    await key?.close();
    await env?.cleanup();
  });

  const args = (): string[] => [
    'set',
    ...env.conn,
    '--from-csv',
    csv,
    '--users-base',
    BULK,
    '--cert-repository-base',
    CERT_REPO,
    '--generate',
    '--out',
    out,
    '--key-pem',
    KEY_PEM,
    '--concurrency',
    '8',
  ];

  it('sets every good row, reports the bad one, exits 1', async () => {
    const r = await runToken(args());
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /users\.csv: 1004 rows, 1003 set, 0 skipped \(done earlier\), 1 failed/);
    assert.match(r.stdout, /generated passphrases: 993 appended to .*generated\.csv \(mode 0600\)/);
    assert.match(r.stdout, /errors: .*users\.csv\.errors\.csv/);
    const errors = parseCsv(readFileSync(`${csv}.errors.csv`, 'utf8'));
    assert.deepEqual(errors[0]?.fields, ['line', 'kind', 'id', 'error']);
    assert.equal(errors.length, 2);
    assert.deepEqual(errors[1]?.fields.slice(0, 3), ['505', 'uid', 'ghost']);
    assert.match(errors[1]?.fields[3] ?? '', /no entry has uid=ghost under ou=Bulk/);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assert.equal(readFileSync(`${csv}.done`, 'utf8').trim().split('\n').length, 1003);
    // No passphrase reaches the terminal.
    const generated = parseCsv(readFileSync(out, 'utf8')).slice(1);
    assert.equal(generated.length, 993);
    for (const row of generated.slice(0, 50))
      assert.ok(!r.stdout.includes(row.fields[2] ?? '?') && !r.stderr.includes(row.fields[2] ?? '?'));
  });

  it('refuses to start again without --resume (exit 2)', async () => {
    const r = await runToken(args());
    assert.equal(r.code, 2);
    assert.match(r.stderr, /journal .*users\.csv\.done exists from an earlier run: pass --resume/);
  });

  it('--resume after fixing the bad row sets only that row; every token decrypts to its passphrase', async () => {
    await ldapApply(
      'ldapadd',
      env.slapd.url,
      ADMIN_DN,
      ADMIN_PASSWORD,
      `dn: uid=ghost,${BULK}\nobjectClass: inetOrgPerson\nuid: ghost\ncn: Ghost\nsn: G\n`,
    );
    const r = await runToken([...args(), '--resume']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1004 rows, 1 set, 1003 skipped \(done earlier\), 0 failed/);
    assert.equal(parseCsv(readFileSync(`${csv}.errors.csv`, 'utf8')).length, 1, 'error report now empty');
    const generated = parseCsv(readFileSync(out, 'utf8')).slice(1);
    assert.equal(generated.length, 994);
    const byUid = new Map(
      generated.filter((r) => r.fields[0] === 'uid').map((r) => [r.fields[1] ?? '', r.fields[2] ?? '']),
    );
    const expected = new Map([...byUid, ...filePassphrases]);
    assert.equal(expected.size, COUNT + 1);
    // A spread sample of users (including the file rows and ghost) is decrypted, and every cert record.
    const sample = [...expected.keys()].filter((_, i) => i % 37 === 0).concat(['ghost', 'bulk7', 'bulk907']);
    for (const uid of sample) {
      const [value] = await readAttr(env.slapd.url, ADMIN_DN, ADMIN_PASSWORD, `uid=${uid},${BULK}`, 'shrTok');
      assert.equal(await decryptStored(key, value ?? '', 'rsa-pkcs1v15'), expected.get(uid), uid);
    }
    const serialRows = generated.filter((r) => r.fields[0] === 'serial');
    assert.deepEqual(serialRows.map((r) => r.fields[1]).sort(), ['501', '502', '503']);
    for (const row of serialRows) {
      const metaInfo = await readAttr(
        env.slapd.url,
        ADMIN_DN,
        ADMIN_PASSWORD,
        `cn=${row.fields[1]},${CERT_REPO}`,
        'metaInfo',
      );
      assert.ok(metaInfo.includes(`requestId:${row.fields[1]}`));
      const rev = metaInfo.find((v) => v.startsWith('revShrTok:')) ?? '';
      assert.equal(await decryptStored(key, rev.slice(10), 'rsa-pkcs1v15'), row.fields[2]);
    }
    const count = await runLdapCount(env);
    assert.equal(count, COUNT + 1);
    assert.ok(existsSync(`${csv}.done`));
  });
});

async function runLdapCount(env: ProvisionSlapd): Promise<number> {
  const { run } = await import('../helpers/run.js');
  const r = await run('/usr/bin/ldapsearch', [
    '-x',
    '-LLL',
    '-H',
    env.slapd.url,
    '-D',
    ADMIN_DN,
    '-w',
    ADMIN_PASSWORD,
    '-b',
    BULK,
    '(shrTok=*)',
    '1.1',
  ]);
  return (r.stdout.match(/^dn: /gm) ?? []).length;
}
