// schema install/check against a real slapd configured through cn=config (slapd -F).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_DN, ADMIN_PASSWORD, CONFIG_DN, CONFIG_PASSWORD, PEOPLE, startSlapd } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { makeTestPki } from '../helpers/tls.js';
import type { TestPki } from '../helpers/tls.js';
import { runCli } from './run-cli.js';
import { CONFLICTING_SHRTOK, TempDir, assertTokenRoundTrip, dogtagToken, ldapTool } from './shared.js';

function conn(slapd: Slapd, passwordFile: string): string[] {
  return ['--url', slapd.url, '--bind-dn', CONFIG_DN, '--password-file', passwordFile];
}

describe('schema on OpenLDAP (cn=config)', () => {
  let slapd: Slapd;
  const tmp = new TempDir();
  let pw: string;

  before(async () => {
    slapd = await startSlapd({ syncprov: false });
    pw = tmp.file('config.pw', `${CONFIG_PASSWORD}\n`);
  });
  after(async () => {
    await slapd?.destroy();
    tmp.remove();
  });

  it('check reports missing with exit 3 before install', async () => {
    const r = await runCli(['schema', 'check', ...conn(slapd, pw)]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /server: openldap/);
    assert.match(r.stdout, /^missing: /m);
  });

  it('install with a bind DN that may not write cn=config fails with a hint (exit 1)', async () => {
    const adminPw = tmp.file('admin.pw', ADMIN_PASSWORD);
    const r = await runCli(['schema', 'install', '--url', slapd.url, '--bind-dn', ADMIN_DN, '--password-file', adminPw]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /may not change the schema: bind as the cn=config rootdn/);
    assert.ok(!r.stderr.includes(ADMIN_PASSWORD));
  });

  it('install adds shrTok and confirms it; a second install is a reported no-op', async () => {
    const first = await runCli(['schema', 'install', ...conn(slapd, pw)]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /installed shrTok \(confirmed from the subschema\)/);
    const second = await runCli(['schema', 'install', ...conn(slapd, pw)]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /already installed, nothing to do/);
    // Exactly one schema entry was added to cn=config.
    const entries = await ldapTool('ldapsearch', slapd.url, CONFIG_DN, CONFIG_PASSWORD, [
      '-LLL',
      '-b',
      'cn=schema,cn=config',
      '(olcAttributeTypes=*shrTok*)',
      'dn',
    ]);
    assert.deepEqual(entries.stdout.match(/^dn: .*$/gm), ['dn: cn={4}shrtok,cn=schema,cn=config']);
  });

  it('check reports installed with exit 0 and the OID', async () => {
    const r = await runCli(['schema', 'check', '--url', slapd.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^installed: shrTok is defined \(OID 2\.16\.840\.1\.117370\.3\.1\.123\)/m);
    assert.match(r.stdout, /SYNTAX 1\.3\.6\.1\.4\.1\.1466\.115\.121\.1\.40/);
  });

  it('ldapmodify of a Dogtag-format token succeeds and reads back byte-identical', async () => {
    const token = dogtagToken();
    assert.ok(token.multiline.includes('\r\n'), 'fixture is the 76-column CRLF form');
    const dn = `uid=user1,${PEOPLE}`;
    await assertTokenRoundTrip(slapd.url, ADMIN_DN, ADMIN_PASSWORD, dn, token);
  });
});

describe('schema on OpenLDAP with existing definitions', () => {
  const tmp = new TempDir();
  after(() => tmp.remove());

  it("counts a Dogtag-style shrTok with another OID as installed and leaves it alone", async () => {
    const slapd = await startSlapd({ syncprov: false });
    try {
      const pw = tmp.file('a.pw', CONFIG_PASSWORD);
      // Dogtag's pseudo-OID `shrTok-oid` becomes an OID macro on OpenLDAP.
      const add = await ldapTool(
        'ldapadd',
        slapd.url,
        CONFIG_DN,
        CONFIG_PASSWORD,
        [],
        "dn: cn=dogtag,cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: dogtag\nolcObjectIdentifier: shrTok-oid 1.3.6.1.4.1.32473.9.1\nolcAttributeTypes: ( shrTok-oid NAME 'shrTok' DESC 'Attribute type for SharedToken' SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )\n",
      );
      assert.equal(add.code, 0, add.stderr);
      const check = await runCli(['schema', 'check', ...conn(slapd, pw)]);
      assert.equal(check.code, 0, check.stderr);
      assert.match(check.stdout, /note: defined with OID 1\.3\.6\.1\.4\.1\.32473\.9\.1 \(compatible/);
      const install = await runCli(['schema', 'install', ...conn(slapd, pw)]);
      assert.equal(install.code, 0, install.stderr);
      assert.match(install.stdout, /already installed, nothing to do/);
    } finally {
      await slapd.destroy();
    }
  });

  it('reports a conflicting definition (exit 1 for check and install) and does not change it', async () => {
    const slapd = await startSlapd({ syncprov: false });
    try {
      const pw = tmp.file('b.pw', CONFIG_PASSWORD);
      const add = await ldapTool(
        'ldapadd',
        slapd.url,
        CONFIG_DN,
        CONFIG_PASSWORD,
        [],
        `dn: cn=other,cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: other\nolcAttributeTypes: ${CONFLICTING_SHRTOK}\n`,
      );
      assert.equal(add.code, 0, add.stderr);
      const check = await runCli(['schema', 'check', ...conn(slapd, pw)]);
      assert.equal(check.code, 1, check.stderr);
      assert.match(check.stdout, /^conflicting: shrTok is defined with syntax 1\.3\.6\.1\.4\.1\.1466\.115\.121\.1\.15/m);
      const install = await runCli(['schema', 'install', ...conn(slapd, pw)]);
      assert.equal(install.code, 1);
      assert.match(install.stderr, /conflicting definition, not changed/);
      const after = await runCli(['schema', 'check', ...conn(slapd, pw)]);
      assert.equal(after.code, 1);
      assert.match(after.stdout, /DESC 'someone else'/);
    } finally {
      await slapd.destroy();
    }
  });
});

describe('schema over StartTLS', () => {
  const tmp = new TempDir();
  let slapd: Slapd;
  let pki: TestPki;
  before(async () => {
    pki = await makeTestPki();
    slapd = await startSlapd({ syncprov: false });
    const r = await ldapTool(
      'ldapmodify',
      slapd.url,
      CONFIG_DN,
      CONFIG_PASSWORD,
      [],
      `dn: cn=config\nchangetype: modify\nreplace: olcTLSCACertificateFile\nolcTLSCACertificateFile: ${pki.caCertPath}\n-\nreplace: olcTLSCertificateFile\nolcTLSCertificateFile: ${pki.certPath}\n-\nreplace: olcTLSCertificateKeyFile\nolcTLSCertificateKeyFile: ${pki.keyPath}\n`,
    );
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await slapd?.destroy();
    pki?.destroy();
    tmp.remove();
  });

  it('installs with --starttls --ca, and refuses a server certificate it cannot verify', async () => {
    const pw = tmp.file('config.pw', CONFIG_PASSWORD);
    const tls = ['--url', slapd.url, '--bind-dn', CONFIG_DN, '--password-file', pw, '--starttls'];
    const untrusted = await runCli(['schema', 'check', ...tls]);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /certificate/i);
    const install = await runCli(['schema', 'install', ...tls, '--ca', pki.caCertPath]);
    assert.equal(install.code, 0, install.stderr);
    assert.match(install.stdout, /installed shrTok/);
  });
});
