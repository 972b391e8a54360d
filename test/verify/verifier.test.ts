import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { ChangeWatcher } from '../../src/directory/index.js';
import type { ServiceDirectory, ServicePool, TokenDirectory } from '../../src/directory/index.js';
import { StreamAuditSink, TokenVerifier } from '../../src/verify/index.js';
import { createMetrics } from '../../src/metrics/index.js';
import type { TokenVerifierOptions, VerifyContext } from '../../src/verify/index.js';
import { PEOPLE, SERVICE_DN, SERVICE_PASSWORD } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { waitFor } from '../helpers/run.js';
import {
  CountingProvider,
  passphraseOf,
  pemProvider,
  serviceDirectory,
  setToken,
  startTokenSlapd,
  token,
} from './fixtures.js';

const bind: VerifyContext = { clientAddress: '192.0.2.7', kind: 'bind' };

/** Counts directory reads on the real directory. */
class CountingDirectory implements TokenDirectory {
  reads = 0;
  constructor(private readonly inner: TokenDirectory) {}
  lookupEnrollmentToken(uid: string) {
    this.reads++;
    return this.inner.lookupEnrollmentToken(uid);
  }
  lookupRevocationToken(serial: string) {
    this.reads++;
    return this.inner.lookupRevocationToken(serial);
  }
}

describe('TokenVerifier on a real slapd with the vectors’ key', () => {
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

  async function verifier(extra: Partial<TokenVerifierOptions> = {}) {
    const provider = new CountingProvider(await pemProvider());
    const dir = new CountingDirectory(directory);
    const v = new TokenVerifier({ directory: dir, keyProvider: provider, wrap: 'rsa-pkcs1v15', ...extra });
    return { v, provider, dir };
  }

  test('right, wrong, unknown, duplicated, token-less and empty passphrases', async () => {
    const { v } = await verifier();
    for (const [uid, id] of [
      ['alice', 't01'],
      ['ute', 't02'],
      ['carol', 't06'],
      ['bob', 't05'],
    ] as const) {
      const ok = await v.verifyPassword({ uid }, passphraseOf(id), bind);
      assert.deepEqual(ok, { result: 'success', identification: uid, entryDn: `uid=${uid},${PEOPLE}` });
    }
    const wrong = await v.verifyPassword({ uid: 'alice' }, Buffer.from('correct horse battery stapl'), bind);
    assert.deepEqual(wrong, {
      result: 'failure',
      identification: 'alice',
      entryDn: `uid=alice,${PEOPLE}`,
      failedCheck: 'passphrase',
    });
    assert.equal(
      (await v.verifyPassword({ uid: 'nobody' }, passphraseOf('t01'), bind)).failedCheck,
      'lookup',
    );
    assert.equal((await v.verifyPassword({ uid: 'dupe' }, passphraseOf('t01'), bind)).failedCheck, 'lookup');
    assert.equal(
      (await v.verifyPassword({ uid: 'user2' }, Buffer.from('pass2'), bind)).failedCheck,
      'lookup',
    );
    assert.equal((await v.verifyPassword({ uid: '*' }, passphraseOf('t01'), bind)).failedCheck, 'lookup');
    // t03 holds the empty passphrase: an empty password still never succeeds.
    const empty = await v.verifyPassword({ uid: 'empty' }, Buffer.alloc(0), bind);
    assert.equal(empty.result, 'failure');
    assert.equal(empty.failedCheck, 'empty_passphrase');
  });

  test('strict: every verification reads the entry; the HSM is skipped while the token bytes are unchanged', async () => {
    const metrics = createMetrics();
    const { v, provider, dir } = await verifier({ metrics });
    assert.equal((await v.verifyPassword({ uid: 'alice' }, passphraseOf('t01'), bind)).result, 'success');
    assert.equal((await v.verifyPassword({ uid: 'alice' }, passphraseOf('t01'), bind)).result, 'success');
    assert.equal((await v.verifyPassword({ uid: 'alice' }, Buffer.from('nope'), bind)).result, 'failure');
    assert.equal(dir.reads, 3);
    assert.equal(provider.decrypts, 1);
    const text = await metrics.registry.metrics();
    assert.match(text, /shrtok_cache_hits_total 2/);
    assert.match(text, /shrtok_cache_misses_total 1/);
    assert.match(text, /shrtok_verifications_total\{kind="bind",result="success",failed_check="none"\} 2/);
    assert.match(
      text,
      /shrtok_verifications_total\{kind="bind",result="failure",failed_check="passphrase"\} 1/,
    );
  });

  test('strict: a token changed directly on slapd is used at once', async () => {
    const { v, provider } = await verifier();
    const dn = `uid=carol,${PEOPLE}`;
    try {
      assert.equal((await v.verifyPassword({ uid: 'carol' }, passphraseOf('t06'), bind)).result, 'success');
      await setToken(slapd.url, dn, token('t05').token);
      assert.equal((await v.verifyPassword({ uid: 'carol' }, passphraseOf('t06'), bind)).result, 'failure');
      assert.equal((await v.verifyPassword({ uid: 'carol' }, passphraseOf('t05'), bind)).result, 'success');
      assert.equal(provider.decrypts, 2);
    } finally {
      await setToken(slapd.url, dn, token('t06').token);
    }
  });

  test('concurrent misses for one identity make one directory read and one decryption', async () => {
    for (const cacheMode of ['strict', 'ttl'] as const) {
      const { v, provider, dir } = await verifier({ cacheMode });
      const results = await Promise.all(
        Array.from({ length: 25 }, () => v.verifyPassword({ uid: 'bob' }, passphraseOf('t05'), bind)),
      );
      assert.ok(results.every((r) => r.result === 'success'));
      assert.equal(dir.reads, 1, cacheMode);
      assert.equal(provider.decrypts, 1, cacheMode);
    }
  });

  test('failures are never cached as success; a bad token is a failure (token), not an outage', async () => {
    const { v, provider } = await verifier();
    const dn = `uid=ute,${PEOPLE}`;
    try {
      await setToken(slapd.url, dn, 'bm90IGEgdG9rZW4=');
      assert.equal((await v.verifyPassword({ uid: 'ute' }, passphraseOf('t02'), bind)).failedCheck, 'token');
      await setToken(slapd.url, dn, token('t02').token);
      assert.equal((await v.verifyPassword({ uid: 'ute' }, passphraseOf('t02'), bind)).result, 'success');
      assert.equal(provider.decrypts, 1, 'the unparsable token never reached the key');
    } finally {
      await setToken(slapd.url, dn, token('t02').token);
    }
  });

  test('ttl: warm verifications skip the directory; a change on slapd arrives through the subscription', async () => {
    const watcher = new ChangeWatcher({
      url: slapd.url,
      bindDn: SERVICE_DN,
      password: Buffer.from(SERVICE_PASSWORD),
      bases: [PEOPLE],
    });
    // A TTL of an hour: only the subscription can explain the change being seen.
    const { v, provider, dir } = await verifier({ cacheMode: 'ttl', cacheTtlMs: 3_600_000 });
    v.attachWatcher(watcher);
    await watcher.start();
    await waitFor(async () => Promise.resolve(watcher.active), 5000, 'subscription');
    const dn = `uid=alice,${PEOPLE}`;
    try {
      assert.match(v.describeCoherence(), /change subscription/);
      for (let i = 0; i < 5; i++) {
        assert.equal((await v.verifyPassword({ uid: 'alice' }, passphraseOf('t01'), bind)).result, 'success');
      }
      assert.equal(
        (await v.verifyPassword({ uid: 'nobody' }, passphraseOf('t01'), bind)).failedCheck,
        'lookup',
      );
      assert.equal(
        (await v.verifyPassword({ uid: 'nobody' }, passphraseOf('t01'), bind)).failedCheck,
        'lookup',
      );
      assert.equal(dir.reads, 2, 'one read for alice and one for the unknown user');
      await setToken(slapd.url, dn, token('t05').token);
      await waitFor(
        async () =>
          (await v.verifyPassword({ uid: 'alice' }, passphraseOf('t05'), bind)).result === 'success',
        2000,
        'the new token (well within the one-hour TTL)',
      );
      assert.equal((await v.verifyPassword({ uid: 'alice' }, passphraseOf('t01'), bind)).result, 'failure');
      assert.equal(provider.decrypts, 2);
    } finally {
      watcher.close();
      await setToken(slapd.url, dn, token('t01').token);
    }
  });

  test('ttl without a subscription says so; invalidate(dn) drops the entry', async () => {
    const { v, dir } = await verifier({ cacheMode: 'ttl', cacheTtlMs: 3_600_000 });
    assert.match(v.describeCoherence(), /WITHOUT a change subscription/);
    await v.verifyPassword({ uid: 'alice' }, passphraseOf('t01'), bind);
    await v.verifyPassword({ uid: 'alice' }, passphraseOf('t01'), bind);
    assert.equal(dir.reads, 1);
    v.invalidate(`UID=Alice, ou=people,DC=example,dc=com`);
    await v.verifyPassword({ uid: 'alice' }, passphraseOf('t01'), bind);
    assert.equal(dir.reads, 2);
  });

  test('lockout per identity and per client address, with an injected clock', async () => {
    let now = 1_000_000;
    const { v } = await verifier({
      clock: () => now,
      clientLimit: { maxFailures: 8, windowMs: 60_000, durationMs: 300_000 },
    });
    const ctx = { clientAddress: '198.51.100.1', kind: 'extop' as const };
    for (let i = 0; i < 5; i++) {
      assert.equal(
        (await v.verifyPassword({ uid: 'alice' }, Buffer.from(`wrong${i}`), ctx)).failedCheck,
        'passphrase',
      );
      now += 1000;
    }
    const locked = await v.verifyPassword({ uid: 'alice' }, passphraseOf('t01'), ctx);
    assert.deepEqual(locked, {
      result: 'failure',
      identification: 'alice',
      entryDn: `uid=alice,${PEOPLE}`,
      failedCheck: 'locked',
    });
    // Another spelling of the same entry is the same lock.
    assert.equal((await v.verifyPassword({ uid: 'ALICE' }, passphraseOf('t01'), ctx)).failedCheck, 'locked');
    assert.equal((await v.verifyPassword({ uid: 'bob' }, passphraseOf('t05'), ctx)).result, 'success');
    now += 900_001;
    assert.equal((await v.verifyPassword({ uid: 'alice' }, passphraseOf('t01'), ctx)).result, 'success');

    // Failures spread beyond the window never lock.
    for (let i = 0; i < 10; i++) {
      await v.verifyPassword({ uid: 'carol' }, Buffer.from('x'), ctx);
      now += 200_000;
    }
    assert.equal((await v.verifyPassword({ uid: 'carol' }, passphraseOf('t06'), ctx)).result, 'success');

    // Unknown identities lock as well (same answer as a wrong passphrase).
    for (let i = 0; i < 5; i++) await v.verifyPassword({ uid: 'ghost' }, Buffer.from('x'), ctx);
    assert.equal((await v.verifyPassword({ uid: 'Ghost' }, Buffer.from('x'), ctx)).failedCheck, 'locked');

    // Per client address, failed virtual binds only: 8 failures over different users block the address.
    const binder = { clientAddress: '203.0.113.9', kind: 'bind' as const };
    for (let i = 0; i < 8; i++) await v.verifyPassword({ uid: `user${i}` }, Buffer.from('x'), binder);
    assert.equal((await v.verifyPassword({ uid: 'bob' }, passphraseOf('t05'), binder)).failedCheck, 'locked');
    assert.equal(
      (
        await v.verifyPassword({ uid: 'bob' }, passphraseOf('t05'), {
          ...binder,
          clientAddress: '203.0.113.10',
        })
      ).result,
      'success',
    );
    now += 300_001;
    assert.equal((await v.verifyPassword({ uid: 'bob' }, passphraseOf('t05'), binder)).result, 'success');
  });

  test('audit: one JSON line per verification, never the passphrase, token or their encodings', async () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (b: Buffer) => (text += b.toString()));
    const { v } = await verifier({ audit: new StreamAuditSink(stream) });
    const secrets = ['t01', 't02', 't06'].map(passphraseOf);
    await v.verifyPassword({ uid: 'alice' }, secrets[0]!, bind);
    await v.verifyPassword({ uid: 'ute' }, secrets[1]!, { clientAddress: '::1', kind: 'extop' });
    await v.verifyPassword({ uid: 'carol' }, Buffer.from('guess'), bind);
    await v.verifyPassword({ uid: 'nobody' }, secrets[2]!, bind);
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 4);
    assert.deepEqual(Object.keys(lines[0]!), [
      'time',
      'kind',
      'identification',
      'entryDn',
      'clientAddress',
      'result',
      'latencyMs',
    ]);
    assert.equal(lines[1]!.kind, 'extop');
    assert.equal(lines[2]!.failedCheck, 'passphrase');
    assert.equal(lines[3]!.failedCheck, 'lookup');
    for (const s of [...secrets, Buffer.from('guess')]) {
      for (const form of [
        s.toString('utf8'),
        s.toString('base64'),
        s.toString('hex'),
        s.toString('base64url'),
      ]) {
        assert.ok(!text.includes(form), 'secret in the audit log');
      }
    }
    for (const id of ['t01', 't02', 't06']) assert.ok(!text.includes(token(id).token.slice(0, 40)));
  });

  test('key or backend unavailable gives unavailable, never a wrong passphrase, and is not counted', async () => {
    const { v, provider } = await verifier();
    await provider.inner.close();
    for (let i = 0; i < 6; i++) {
      assert.deepEqual(await v.verifyPassword({ uid: 'alice' }, passphraseOf('t01'), bind), {
        result: 'unavailable',
        identification: 'alice',
        failedCheck: 'key',
      });
    }
    const { v: v2 } = await verifier();
    await slapd.stop();
    try {
      for (let i = 0; i < 6; i++) {
        const out = await v2.verifyPassword({ uid: 'alice' }, passphraseOf('t01'), bind);
        assert.equal(out.result, 'unavailable');
        assert.equal(out.failedCheck, 'directory');
      }
    } finally {
      await slapd.start();
    }
    // Six outages did not lock alice (five failures would have).
    assert.equal((await v2.verifyPassword({ uid: 'alice' }, passphraseOf('t01'), bind)).result, 'success');
  });
});
