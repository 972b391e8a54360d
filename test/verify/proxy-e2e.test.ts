// The verification service wired into the real proxy (bin/shrtok-proxy serve from dist/), driven by real
// clients: ldapwhoami/ldapsearch/ldapmodify over StartTLS and python-ldap for the verify extended operation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawLdapConnection, extendedOp } from '../../src/directory/raw-ldap.js';
import { ProtocolOp, decodeExtendedResponse } from '../../src/ldap/index.js';
import { createToken, formatToken } from '../../src/token/index.js';
import { VERIFY_OID, decodeVerifyResponse, encodeVerifyRequest } from '../../src/verify/index.js';
import type { VerifyRequest, VerifyResponse } from '../../src/verify/index.js';
import { ADMIN_DN, ADMIN_PASSWORD, PEOPLE, SERVICE_PASSWORD, SUFFIX } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { startProxy } from '../helpers/proxy.js';
import type { ProxyProcess } from '../helpers/proxy.js';
import { makeTestPki } from '../helpers/tls.js';
import type { TestPki } from '../helpers/tls.js';
import { run, waitFor } from '../helpers/run.js';
import {
  CERT_REPO,
  VECTORS,
  cmcRequests,
  passphraseOf,
  revocations,
  setToken,
  startTokenSlapd,
  token,
  vectorFile,
  verificationArgs,
} from './fixtures.js';

const HERE = new URL('.', import.meta.url).pathname;
const dogtagRequests = (
  JSON.parse(readFileSync(join(VECTORS, 'dogtag_cmc_requests.json'), 'utf8')) as {
    requests: typeof cmcRequests;
  }
).requests;
const VERIFIER_DN = `uid=user1,${PEOPLE}`;
const VERIFIER_PW = 'pass1';

describe('shared-token verification through the proxy', () => {
  let slapd: Slapd;
  let pki: TestPki;
  let dir: string;
  let strict: ProxyProcess;
  let url: string;
  let auditPath: string;

  async function proxy(extra: string[]): Promise<ProxyProcess> {
    return startProxy({
      backends: [slapd.url],
      tlsCertPath: pki.certPath,
      tlsKeyPath: pki.keyPath,
      extraArgs: [
        ...verificationArgs({
          passwordFile: join(dir, 'svc.pw'),
          certRepository: true,
          verifierDn: VERIFIER_DN,
          tokenReaderDn: ADMIN_DN,
        }),
        '--log-level',
        'warn',
        ...extra,
      ],
    });
  }

  const env = (): NodeJS.ProcessEnv => ({
    ...process.env,
    LDAPTLS_CACERT: pki.caCertPath,
    LDAPTLS_REQCERT: 'demand',
  });

  /** ldapwhoami with a virtual DN over StartTLS; returns exit code and output. */
  async function whoami(dn: string, password: string | Buffer, at = url, tls = true) {
    const pwFile = join(dir, 'bind.pw');
    writeFileSync(pwFile, password);
    const r = await run('ldapwhoami', ['-x', ...(tls ? ['-ZZ'] : []), '-H', at, '-D', dn, '-y', pwFile], {
      env: env(),
    });
    rmSync(pwFile, { force: true });
    return { code: r.code, out: r.stdout.trim(), err: r.stderr };
  }

  async function pyExtop(req: VerifyRequest | Buffer, binddn = VERIFIER_DN, bindpw = VERIFIER_PW) {
    const value = Buffer.isBuffer(req) ? req : encodeVerifyRequest(req);
    const r = await run('/usr/bin/python3', [
      join(HERE, 'extop-client.py'),
      url,
      pki.caCertPath,
      binddn,
      bindpw,
      value.toString('hex'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { code: number; name?: string; value?: string | null };
    return {
      code: out.code,
      name: out.name,
      response: out.value ? decodeVerifyResponse(Buffer.from(out.value, 'hex')) : undefined,
    };
  }

  /** The same operation from our raw client, which also shows the response value of a failure. */
  async function rawExtop(req: VerifyRequest): Promise<{ code: number; response?: VerifyResponse }> {
    const conn = await RawLdapConnection.open({ url, starttls: true, caFile: pki.caCertPath });
    try {
      await conn.bind(VERIFIER_DN, VERIFIER_PW);
      const m = await conn.request(extendedOp(VERIFY_OID, encodeVerifyRequest(req)), ProtocolOp.extendedResp);
      const res = decodeExtendedResponse(m.frame);
      const value = res.responseValue;
      return { code: res.resultCode, response: value ? decodeVerifyResponse(value) : undefined };
    } finally {
      conn.close();
    }
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shrtok-verify-e2e-'));
    writeFileSync(join(dir, 'svc.pw'), `${SERVICE_PASSWORD}\n`);
    auditPath = join(dir, 'audit.log');
    [slapd, pki] = await Promise.all([startTokenSlapd(), makeTestPki()]);
    strict = await proxy(['--audit-log', auditPath]);
    url = strict.listening[0]!;
  });
  after(async () => {
    await strict?.stop();
    await slapd?.destroy();
    pki?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('ldapwhoami over StartTLS: right, wrong, unknown, duplicated and injected identities', async () => {
    const ok = await whoami('uid=alice,cn=shared-token', passphraseOf('t01'));
    assert.equal(ok.code, 0, ok.err);
    assert.equal(ok.out, `dn:uid=alice,${PEOPLE}`);
    const ute = await whoami('uid=ute,cn=shared-token', passphraseOf('t02'));
    assert.equal(ute.out, `dn:uid=ute,${PEOPLE}`);
    const r01 = revocations.find((r) => r.id === 'r01')!;
    const serial = await whoami(`serialNumber=${r01.serial},cn=shared-token`, r01.shared_secret);
    assert.equal(serial.out, `dn:cn=${r01.serial},${CERT_REPO}`, serial.err);
    assert.equal((await whoami(`serialNumber=${r01.serial},cn=shared-token`, 'Revoke.Secret-12')).code, 49);
    for (const [dn, pw] of [
      ['uid=alice,cn=shared-token', 'wrong'],
      ['uid=nobody,cn=shared-token', 'correct horse battery staple'],
      ['uid=dupe,cn=shared-token', 'correct horse battery staple'],
      ['uid=*,cn=shared-token', 'correct horse battery staple'],
      ['uid=a)(uid=*,cn=shared-token', 'correct horse battery staple'],
      ['uid=ali\\2a,cn=shared-token', 'correct horse battery staple'],
      ['cn=alice,cn=shared-token', 'correct horse battery staple'],
      ['uid=empty,cn=shared-token', ''],
    ] as const) {
      const r = await whoami(dn, pw);
      assert.equal(r.code, 49, `${dn}: ${r.err}`);
    }
  });

  test('a virtual bind without TLS is refused with confidentialityRequired', async () => {
    const r = await whoami('uid=alice,cn=shared-token', passphraseOf('t01'), url, false);
    assert.equal(r.code, 13, r.err);
  });

  test('non-virtual binds and searches still reach the backend; token values are filtered for non-readers', async () => {
    const search = async (who: string[]) =>
      run(
        'ldapsearch',
        [
          '-x',
          '-ZZ',
          '-LLL',
          '-H',
          url,
          ...who,
          '-b',
          `uid=alice,${PEOPLE}`,
          '-s',
          'base',
          '(objectClass=*)',
          'shrTok',
          'cn',
        ],
        { env: env() },
      );
    const anon = await search([]);
    assert.equal(anon.code, 0, anon.stderr);
    assert.match(anon.stdout, /^cn: alice$/m);
    assert.doesNotMatch(anon.stdout, /shrTok/i);
    const user = await search(['-D', `uid=user2,${PEOPLE}`, '-w', 'pass2']);
    assert.doesNotMatch(user.stdout, /shrTok/i);
    const reader = await search(['-D', ADMIN_DN, '-w', ADMIN_PASSWORD]);
    assert.match(reader.stdout, /^shrTok:: /m);
    const rec = await run(
      'ldapsearch',
      ['-x', '-ZZ', '-LLL', '-H', url, '-b', CERT_REPO, '(cn=4097)', 'metaInfo'],
      { env: env() },
    );
    assert.match(rec.stdout, /^metaInfo: requestId:4097$/m);
    assert.doesNotMatch(rec.stdout, /revShrTok/i);
    // Filters that would probe the hidden values are refused for non-readers, allowed for readers.
    const probe = (filter: string, who: string[] = []) =>
      run('ldapsearch', ['-x', '-ZZ', '-LLL', '-H', url, ...who, '-b', SUFFIX, filter, 'cn'], { env: env() });
    for (const f of [
      '(metaInfo=*MIIB*)',
      '(shrTok=*)',
      '(&(uid=alice)(SHRTOK=*))',
      '(2.16.840.1.117370.3.1.123=*)',
    ]) {
      const r = await probe(f);
      assert.equal(r.code, 50, `${f}: ${r.stderr}`);
    }
    assert.equal((await probe('(shrTok=*)', ['-D', ADMIN_DN, '-w', ADMIN_PASSWORD])).code, 0);
    assert.equal((await probe('(uid=alice)')).code, 0);
  });

  test('the verify extended operation from python-ldap: passphrases and every CMC vector', async () => {
    const ok = await pyExtop({ subject: { identification: 'alice' }, passphrase: passphraseOf('t01') });
    assert.equal(ok.code, 0);
    assert.equal(ok.name, VERIFY_OID);
    assert.deepEqual(ok.response, { entryDn: `uid=alice,${PEOPLE}`, identification: 'alice' });
    assert.equal(
      (await pyExtop({ subject: { identification: 'carol' }, passphrase: Buffer.from('nope') })).code,
      49,
    );
    for (const vec of [...cmcRequests, ...dogtagRequests]) {
      const r = await pyExtop({ cmcRequest: vectorFile(vec.der_file) });
      assert.equal(r.code, vec.expected.ok ? 0 : 49, vec.id);
      if (vec.expected.ok) assert.equal(r.response?.entryDn, `uid=${vec.identification},${PEOPLE}`, vec.id);
    }
    for (const vec of revocations) {
      const r = await pyExtop({ cmcRequest: vectorFile(vec.der_file) });
      assert.equal(r.code, vec.expected.ok ? 0 : 49, vec.id);
    }
    const r01 = revocations.find((r) => r.id === 'r01')!;
    const bySerial = await pyExtop({
      subject: { serial: r01.serial },
      passphrase: Buffer.from(r01.shared_secret),
    });
    assert.deepEqual(bySerial.response, { entryDn: `cn=${r01.serial},${CERT_REPO}` });
  });

  test('failures carry failedCheck; malformed values get protocolError; only verifier DNs may call', async () => {
    const wrong = await rawExtop({ subject: { identification: 'bob' }, passphrase: Buffer.from('x') });
    assert.deepEqual(wrong, {
      code: 49,
      response: { entryDn: `uid=bob,${PEOPLE}`, identification: 'bob', failedCheck: 'passphrase' },
    });
    const x01 = cmcRequests.find((v) => v.id === 'x01')!;
    assert.equal(
      (await rawExtop({ cmcRequest: vectorFile(x01.der_file) })).response?.failedCheck,
      'identity_proof',
    );
    assert.equal(
      (await rawExtop({ subject: { identification: 'nobody' }, passphrase: Buffer.from('x') })).response
        ?.failedCheck,
      'lookup',
    );
    assert.equal((await pyExtop(Buffer.from('3003820178', 'hex'))).code, 2);
    assert.equal((await pyExtop(Buffer.from('300582017800', 'hex'))).code, 2);
    const other = await pyExtop(
      { subject: { identification: 'alice' }, passphrase: passphraseOf('t01') },
      `uid=user2,${PEOPLE}`,
      'pass2',
    );
    assert.equal(other.code, 50);
  });

  test('lockout after five failures answers 49 even to the right passphrase', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await whoami('uid=bob,cn=shared-token', `bad${i}`)).code, 49);
    assert.equal((await whoami('uid=bob,cn=shared-token', passphraseOf('t05'))).code, 49);
    assert.equal(
      (await rawExtop({ subject: { identification: 'bob' }, passphrase: passphraseOf('t05') })).response
        ?.failedCheck,
      'locked',
    );
  });

  test('token writes are checked: unparsable 21, undecryptable 19, valid forwarded', async () => {
    const modify = async (value: string) =>
      run('ldapmodify', ['-x', '-ZZ', '-H', url, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD], {
        env: env(),
        input: `dn: uid=carol,${PEOPLE}\nchangetype: modify\nreplace: shrTok\nshrTok:: ${Buffer.from(value).toString('base64')}\n`,
      });
    const garbage = await modify('not base64 at all!');
    assert.equal(garbage.code, 21, garbage.stderr);
    assert.match(garbage.stderr, /base64/);
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const foreign = formatToken(createToken(Buffer.from('x'), otherKey, 'rsa-pkcs1v15'));
    const refused = await modify(foreign);
    assert.equal(refused.code, 19, refused.stderr);
    const addRev = await run('ldapmodify', ['-x', '-ZZ', '-H', url, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD], {
      env: env(),
      input: `dn: cn=4097,${CERT_REPO}\nchangetype: modify\nadd: metaInfo\nmetaInfo: revShrTok:@@@\n`,
    });
    assert.equal(addRev.code, 21, addRev.stderr);
    // Naming shrTok by its OID does not bypass the check.
    const byOid = await run('ldapmodify', ['-x', '-ZZ', '-H', url, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD], {
      env: env(),
      input: `dn: uid=carol,${PEOPLE}\nchangetype: modify\nreplace: 2.16.840.1.117370.3.1.123\n2.16.840.1.117370.3.1.123: garbage\n`,
    });
    assert.equal(byOid.code, 21, byOid.stderr);
    assert.equal(
      (await whoami('uid=carol,cn=shared-token', passphraseOf('t06'))).code,
      0,
      'nothing was written',
    );
    const good = await modify(token('t05').token);
    assert.equal(good.code, 0, good.stderr);
    assert.equal((await whoami('uid=carol,cn=shared-token', passphraseOf('t05'))).code, 0);
    await setToken(slapd.url, `uid=carol,${PEOPLE}`, token('t06').token);
  });

  test('--check-token-writes parse and off, and --no-token-read-filter', async () => {
    const parseOnly = await proxy(['--check-token-writes', 'parse']);
    const off = await proxy(['--check-token-writes', 'off', '--no-token-read-filter']);
    const dn = `uid=carol,${PEOPLE}`;
    const modify = (at: string, value: string) =>
      run('ldapmodify', ['-x', '-ZZ', '-H', at, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD], {
        env: env(),
        input: `dn: ${dn}\nchangetype: modify\nreplace: shrTok\nshrTok:: ${Buffer.from(value).toString('base64')}\n`,
      });
    try {
      const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
      const foreign = formatToken(createToken(Buffer.from('x'), otherKey, 'rsa-pkcs1v15'));
      assert.equal((await modify(parseOnly.listening[0]!, foreign)).code, 0, 'parse mode does not decrypt');
      assert.equal((await modify(parseOnly.listening[0]!, 'garbage!')).code, 21);
      assert.equal((await modify(off.listening[0]!, 'garbage!')).code, 0, 'off mode forwards anything');
      const anon = await run(
        'ldapsearch',
        ['-x', '-ZZ', '-LLL', '-H', off.listening[0]!, '-b', dn, '-s', 'base', '(objectClass=*)', 'shrTok'],
        { env: env() },
      );
      assert.match(anon.stdout, /^shrTok: garbage!$/m, 'no read filter');
    } finally {
      await parseOnly.stop();
      await off.stop();
      await setToken(slapd.url, dn, token('t06').token);
    }
  });

  test('audit lines for the virtual binds and extended operations hold no secret', () => {
    const text = readFileSync(auditPath, 'utf8');
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(
      lines.some((l) => l.kind === 'bind' && l.result === 'success' && l.entryDn === `uid=alice,${PEOPLE}`),
    );
    assert.ok(lines.some((l) => l.kind === 'cmc'));
    assert.ok(lines.some((l) => l.kind === 'revocation'));
    for (const id of ['t01', 't02', 't05', 't06']) {
      const s = passphraseOf(id);
      for (const form of [s.toString(), s.toString('base64'), s.toString('hex')])
        assert.ok(!text.includes(form), id);
    }
  });

  test('backend down: a virtual bind answers unavailable (52), never invalidCredentials', async () => {
    await slapd.stop();
    try {
      const r = await whoami('uid=alice,cn=shared-token', passphraseOf('t01'));
      assert.equal(r.code, 52, r.err);
    } finally {
      await slapd.start();
    }
    await waitFor(
      async () => (await whoami('uid=alice,cn=shared-token', passphraseOf('t01'))).code === 0,
      10_000,
      'recovery',
    );
  });

  test('ttl mode: a write through the proxy invalidates at once; a change on slapd arrives by subscription', async () => {
    const noSub = await proxy(['--cache-mode', 'ttl', '--cache-ttl', '3600', '--change-subscription', 'off']);
    const sub = await proxy(['--cache-mode', 'ttl', '--cache-ttl', '3600']);
    try {
      assert.match(noSub.stderr, /WITHOUT a change subscription/);
      const a = noSub.listening[0]!;
      const b = sub.listening[0]!;
      assert.equal((await whoami('uid=ute,cn=shared-token', passphraseOf('t02'), a)).code, 0);
      assert.equal((await whoami('uid=ute,cn=shared-token', passphraseOf('t02'), b)).code, 0);
      const viaProxy = await run('ldapmodify', ['-x', '-ZZ', '-H', a, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD], {
        env: env(),
        input: `dn: uid=ute,${PEOPLE}\nchangetype: modify\nreplace: shrTok\nshrTok:: ${Buffer.from(token('t06').token).toString('base64')}\n`,
      });
      assert.equal(viaProxy.code, 0, viaProxy.stderr);
      assert.equal(
        (await whoami('uid=ute,cn=shared-token', passphraseOf('t06'), a)).code,
        0,
        'invalidated by the write',
      );
      // The other instance saw the same change through its subscription, not its one-hour TTL.
      await waitFor(
        async () => (await whoami('uid=ute,cn=shared-token', passphraseOf('t06'), b)).code === 0,
        5000,
        'subscription',
      );
      await setToken(slapd.url, `uid=ute,${PEOPLE}`, token('t02').token);
      await waitFor(
        async () => (await whoami('uid=ute,cn=shared-token', passphraseOf('t02'), b)).code === 0,
        5000,
        'direct change',
      );
    } finally {
      await noSub.stop();
      await sub.stop();
      await setToken(slapd.url, `uid=ute,${PEOPLE}`, token('t02').token);
    }
  });
});
