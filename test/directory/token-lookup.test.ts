import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import {
  DirectoryUnavailableError,
  LookupFailure,
  ServiceDirectory,
  ServicePool,
} from '../../src/directory/index.js';
import { RawLdapConnection, simpleBindOp } from '../../src/directory/raw-ldap.js';
import { encodeRawSearch, equalitySearchEncoder } from '../../src/directory/raw-search.js';
import { ProtocolOp } from '../../src/ldap/index.js';
import { PEOPLE, SERVICE_DN, SERVICE_PASSWORD, SUFFIX } from '../helpers/slapd.js';
import { freePort } from '../helpers/run.js';
import type { Slapd } from '../helpers/slapd.js';
import {
  CERT_REPO,
  TOKEN_USERS,
  revocations,
  serviceDirectory,
  startTokenSlapd,
  token,
} from '../verify/fixtures.js';

async function failure(p: Promise<unknown>): Promise<LookupFailure> {
  try {
    await p;
  } catch (e) {
    if (e instanceof LookupFailure) return e;
    throw e;
  }
  assert.fail('expected a LookupFailure');
}

test('the pre-encoded enrollment search is byte for byte the generic encoding', () => {
  const s = { base: PEOPLE, scope: 'sub' as const, sizeLimit: 2, attributes: ['shrTok', 'entryUUID'] };
  const encode = equalitySearchEncoder({ ...s, attribute: 'uid' });
  for (const v of ['alice', 'jürgen', 'x'.repeat(300), '', '*)(uid=*']) {
    const value = Buffer.from(v, 'utf8');
    assert.deepEqual(encode(value), encodeRawSearch({ ...s, filter: { equality: 'uid', value } }));
  }
});

describe('directory token lookup against a real slapd', () => {
  let slapd: Slapd;
  let pool: ServicePool;
  let directory: ServiceDirectory;

  before(async () => {
    slapd = await startTokenSlapd();
    ({ pool, directory } = serviceDirectory(slapd.url));
  });
  after(async () => {
    await pool.close();
    await slapd.destroy();
  });

  test('exactly one entry: DN, raw token bytes and entryUUID', async () => {
    const rec = await directory.lookupEnrollmentToken('alice');
    assert.equal(rec.dn, `uid=alice,${PEOPLE}`);
    assert.deepEqual(rec.token, Buffer.from(token('t01').token, 'latin1'));
    assert.match(rec.uuid ?? '', /^[0-9a-f]{32}$/);
  });

  test('uid matching is the directory’s (case-insensitive)', async () => {
    assert.equal((await directory.lookupEnrollmentToken('ALICE')).dn, `uid=alice,${PEOPLE}`);
  });

  test('two entries with the same uid fail: never first-match-wins', async () => {
    assert.equal((await failure(directory.lookupEnrollmentToken('dupe'))).reason, 'several');
  });

  test('no entry, and an entry without a token', async () => {
    assert.equal((await failure(directory.lookupEnrollmentToken('nobody'))).reason, 'none');
    const noToken = await failure(directory.lookupEnrollmentToken('user1'));
    assert.equal(noToken.reason, 'no-token');
    assert.equal(noToken.dn, `uid=user1,${PEOPLE}`);
    assert.equal((await failure(directory.lookupEnrollmentToken(''))).reason, 'none');
  });

  test('RFC 4515 injection attempts find nothing', async () => {
    // Unescaped, `*` would match 40+ users, `a)(uid=*` would widen the filter, `ali*` would find alice.
    for (const evil of [
      '*',
      'a)(uid=*',
      'ali*',
      '*)(|(uid=*',
      'alice)',
      '(alice',
      'alice\\',
      'alice\0',
      '\\61lice',
      'älice',
    ]) {
      const f = await failure(directory.lookupEnrollmentToken(evil));
      assert.equal(f.reason, 'none', `lookup of ${JSON.stringify(evil)}`);
    }
  });

  test('non-ASCII identifications match byte for byte, with the directory’s own matching rule', async () => {
    assert.equal((await directory.lookupEnrollmentToken('jürgen')).dn, `uid=jürgen,${PEOPLE}`);
    assert.equal((await directory.lookupEnrollmentToken('JÜRGEN')).dn, `uid=jürgen,${PEOPLE}`);
    // LDAPprep maps NO-BREAK SPACE to a space, and a trailing space is insignificant to caseIgnoreMatch.
    assert.equal((await directory.lookupEnrollmentToken('alice\u00a0')).dn, `uid=alice,${PEOPLE}`);
  });

  test('revocation token: metaInfo revShrTok: value of cn=<serial>', async () => {
    const r01 = revocations.find((r) => r.id === 'r01')!;
    const rec = await directory.lookupRevocationToken(r01.serial);
    assert.equal(rec.dn, `cn=${r01.serial},${CERT_REPO}`);
    assert.equal(
      rec.token.toString('latin1'),
      r01.revocation_token.metainfo_value.slice('revShrTok:'.length),
    );
    assert.equal((await failure(directory.lookupRevocationToken('12345'))).reason, 'none');
    // Only the canonical decimal form names a record.
    for (const bad of ['04097', '0x1001', '-4097', '4097,ou=x', '']) {
      assert.equal((await failure(directory.lookupRevocationToken(bad))).reason, 'none', bad);
    }
  });

  test('the pool reconnects after a backend restart, and reports an outage as unavailable', async () => {
    await directory.lookupEnrollmentToken('alice');
    await slapd.restart();
    assert.equal((await directory.lookupEnrollmentToken('alice')).dn, `uid=alice,${PEOPLE}`);
    await slapd.stop();
    await assert.rejects(directory.lookupEnrollmentToken('alice'), DirectoryUnavailableError);
    await slapd.start();
    assert.equal((await directory.lookupEnrollmentToken('bob')).dn, `uid=bob,${PEOPLE}`);
  });

  test('a backend that cannot be reached is skipped for the next one in the list', async () => {
    const dead = `ldap://127.0.0.1:${await freePort()}`;
    const p = new ServicePool({
      url: dead,
      fallbackUrls: [slapd.url],
      bindDn: SERVICE_DN,
      password: Buffer.from(SERVICE_PASSWORD),
    });
    const dir = new ServiceDirectory(p, { usersBase: SUFFIX });
    assert.equal((await dir.lookupEnrollmentToken('alice')).dn, `uid=alice,${PEOPLE}`);
    await p.close();
  });

  test('lookups issued together on one connection (written in one batch) each get their own answer', async () => {
    const one = new ServicePool({
      url: slapd.url,
      bindDn: SERVICE_DN,
      password: Buffer.from(SERVICE_PASSWORD),
      size: 1,
    });
    const dir = new ServiceDirectory(one, { usersBase: SUFFIX });
    await dir.lookupEnrollmentToken('alice'); // connect and bind first
    const uids = ['alice', 'bob', 'carol', 'ute', 'jürgen', 'nobody', 'dupe', 'user1'];
    const asked = Array.from({ length: 40 }, (_, i) => uids[i % uids.length]!);
    const answers = await Promise.all(
      asked.map((uid) =>
        dir.lookupEnrollmentToken(uid).then(
          (r) => `${r.dn} ${r.token.toString('latin1')}`,
          (e: unknown) => (e instanceof LookupFailure ? `failure ${e.reason}` : `error ${String(e)}`),
        ),
      ),
    );
    const expected: Record<string, string> = {
      nobody: 'failure none',
      dupe: 'failure several',
      user1: 'failure no-token',
    };
    for (const [uid, id] of Object.entries(TOKEN_USERS)) {
      if (uid !== 'dupe') expected[uid] = `uid=${uid},${PEOPLE} ${token(id).token}`;
    }
    assert.deepEqual(
      answers,
      asked.map((uid) => expected[uid]),
    );
    await one.close();
  });

  test('a refused service bind is unavailable, not a failure', async () => {
    const bad = new ServicePool({ url: slapd.url, bindDn: SERVICE_DN, password: Buffer.from('wrong') });
    const dir = new ServiceDirectory(bad, { usersBase: SUFFIX });
    await assert.rejects(dir.lookupEnrollmentToken('alice'), DirectoryUnavailableError);
    await bad.close();
  });

  test('a backend that accepts and never answers is unavailable, not a hang', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((s) => void sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const p = new ServicePool({
      url: `ldap://127.0.0.1:${port}`,
      connectTimeoutMs: 200,
      operationTimeoutMs: 200,
    });
    const dir = new ServiceDirectory(p, { usersBase: SUFFIX });
    await assert.rejects(dir.lookupEnrollmentToken('alice'), DirectoryUnavailableError);
    await p.close();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  test('on a silent server each exchange fails at its own deadline, a short one behind a long one too', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((s) => void sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const conn = await RawLdapConnection.open({ url: `ldap://127.0.0.1:${port}` });
    const long = conn.request(simpleBindOp('cn=a', 'x'), ProtocolOp.bindResponse, 60_000);
    const short = conn.request(simpleBindOp('cn=b', 'x'), ProtocolOp.bindResponse, 150);
    await assert.rejects(short, /no response within 150 ms/);
    // The timeout drops the connection: the other exchange fails at once instead of waiting its 60 s.
    await assert.rejects(long, /connection closed/);
    assert.equal(conn.isClosed, true);
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });
});
