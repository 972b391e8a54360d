// schema install/check against a real 389 Directory Server (dscreate into a temp prefix, no systemd).
// If 389-DS cannot run on this machine, every test here is skipped with the reason printed.
import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { DS_PEOPLE, DS_ROOT_DN, DS_ROOT_PASSWORD, tryStartDs389 } from '../helpers/ds389.js';
import type { Ds389 } from '../helpers/ds389.js';
import { runCli } from './run-cli.js';
import { CONFLICTING_SHRTOK, DOGTAG_SHRTOK, TempDir, assertTokenRoundTrip, dogtagToken } from './shared.js';

describe('schema on 389 Directory Server', { timeout: 180_000 }, () => {
  let ds: Ds389 | undefined;
  let skipReason = '';
  const tmp = new TempDir();
  let pw: string;
  const conn = (): string[] => ['--url', ds?.url ?? '', '--bind-dn', DS_ROOT_DN, '--password-file', pw];
  const needDs = (t: TestContext): Ds389 | undefined => {
    if (!ds) t.skip(`389-DS unavailable: ${skipReason}`);
    return ds;
  };
  const schemaChange = (op: 'add' | 'delete', definition: string): Promise<string> =>
    (ds as Ds389).ldif('ldapmodify', `dn: cn=schema\nchangetype: modify\n${op}: attributeTypes\nattributeTypes: ${definition}\n`);

  before(async () => {
    pw = tmp.file('dm.pw', `${DS_ROOT_PASSWORD}\n`);
    const started = await tryStartDs389();
    ds = started.ds;
    skipReason = started.skipReason ?? '';
    if (!ds) console.log(`# 389-DS tests skipped: ${skipReason}`);
  });
  after(async () => {
    await ds?.destroy();
    tmp.remove();
  });

  it('detects 389-DS and reports missing with exit 3', async (t) => {
    if (!needDs(t)) return;
    const r = await runCli(['schema', 'check', ...conn()]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /server: 389ds \(root DSE vendorName "389 Project"\)/);
  });

  it("counts Dogtag's shrTok-oid definition as installed and does not add another", async (t) => {
    if (!needDs(t)) return;
    await schemaChange('add', DOGTAG_SHRTOK);
    const check = await runCli(['schema', 'check', ...conn()]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /note: defined with OID shrtok-oid \(compatible/i);
    const install = await runCli(['schema', 'install', ...conn()]);
    assert.equal(install.code, 0, install.stderr);
    assert.match(install.stdout, /already installed, nothing to do/);
    await schemaChange('delete', DOGTAG_SHRTOK);
  });

  it('reports a conflicting definition with exit 1 and leaves it in place', async (t) => {
    if (!needDs(t)) return;
    await schemaChange('add', CONFLICTING_SHRTOK);
    const check = await runCli(['schema', 'check', ...conn()]);
    assert.equal(check.code, 1, check.stderr);
    assert.match(check.stdout, /^conflicting: /m);
    const install = await runCli(['schema', 'install', ...conn()]);
    assert.equal(install.code, 1);
    assert.match(install.stderr, /conflicting definition, not changed/);
    const again = await runCli(['schema', 'check', ...conn()]);
    assert.match(again.stdout, /DESC 'someone else'/);
    await schemaChange('delete', CONFLICTING_SHRTOK);
  });

  it('schema/99shrtok.ldif in the instance schema directory is loaded at start and counts as installed', async (t) => {
    const server = needDs(t);
    if (!server) return;
    const target = join(server.schemaDir, '99shrtok.ldif');
    copyFileSync(fileURLToPath(new URL('../../schema/99shrtok.ldif', import.meta.url)), target);
    try {
      await server.stop();
      await server.start();
      const check = await runCli(['schema', 'check', ...conn()]);
      assert.equal(check.code, 0, check.stdout + check.stderr);
      assert.match(check.stdout, /installed: shrTok is defined \(OID 2\.16\.840\.1\.117370\.3\.1\.123\)/);
    } finally {
      rmSync(target, { force: true });
      await server.stop();
      await server.start();
    }
  });

  it('install adds shrTok once; the second install is a reported no-op; check exits 0', async (t) => {
    if (!needDs(t)) return;
    const missing = await runCli(['schema', 'check', ...conn()]);
    assert.equal(missing.code, 3, missing.stdout);
    const first = await runCli(['schema', 'install', ...conn()]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /installed shrTok \(confirmed from the subschema\)/);
    const second = await runCli(['schema', 'install', ...conn()]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /already installed, nothing to do/);
    const check = await runCli(['schema', 'check', '--url', ds?.url ?? '']);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /installed: shrTok is defined \(OID 2\.16\.840\.1\.117370\.3\.1\.123\)/);
  });

  it('ldapmodify of a Dogtag-format token succeeds and reads back byte-identical', async (t) => {
    const server = needDs(t);
    if (!server) return;
    const token = dogtagToken();
    const dn = `uid=dogtaguser,${DS_PEOPLE}`;
    await server.ldif(
      'ldapadd',
      `dn: ${dn}\nobjectClass: inetOrgPerson\nuid: dogtaguser\ncn: Dogtag User\nsn: User\n`,
    );
    await assertTokenRoundTrip(server.url, DS_ROOT_DN, DS_ROOT_PASSWORD, dn, token);
  });
});
