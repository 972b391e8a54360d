// The verification service feeding an isolated registry: cache evictions by reason and lockout gauges,
// with a real slapd and the vectors' key through the real pem provider.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics } from '../../src/metrics/index.js';
import { TokenVerifier } from '../../src/verify/index.js';
import type { VerifyContext } from '../../src/verify/index.js';
import { PEOPLE } from '../helpers/slapd.js';
import { passphraseOf, pemProvider, serviceDirectory, startTokenSlapd } from '../verify/fixtures.js';
import { parseExposition, value } from './exposition.js';

const bind: VerifyContext = { clientAddress: '192.0.2.9', kind: 'bind' };

test('cache evictions (capacity, invalidated), hits and misses, lockouts and outcomes reach the registry', async () => {
  const slapd = await startTokenSlapd();
  const { pool, directory } = serviceDirectory(slapd.url);
  const keyProvider = await pemProvider();
  try {
    const m = createMetrics();
    const v = new TokenVerifier({
      directory,
      keyProvider,
      wrap: 'rsa-pkcs1v15',
      cacheMaxEntries: 1,
      lockout: { maxFailures: 2, windowMs: 60_000, durationMs: 60_000 },
      metrics: m,
    });
    m.lockoutsActiveFrom(() => v.lockout.activeCount());
    assert.equal((await v.verifyPassword({ uid: 'alice' }, passphraseOf('t01'), bind)).result, 'success');
    assert.equal((await v.verifyPassword({ uid: 'alice' }, passphraseOf('t01'), bind)).result, 'success');
    // A second identity pushes alice out of a one-entry cache.
    assert.equal((await v.verifyPassword({ uid: 'carol' }, passphraseOf('t06'), bind)).result, 'success');
    v.invalidate(`uid=carol,${PEOPLE}`);
    for (let i = 0; i < 2; i++)
      assert.equal(
        (await v.verifyPassword({ uid: 'bob' }, Buffer.from(`wrong${i}`), bind)).result,
        'failure',
      );

    const exp = parseExposition((await m.scrape()).body);
    assert.equal(value(exp, 'shrtok_cache_evictions_total', { reason: 'capacity' }), 1);
    assert.equal(value(exp, 'shrtok_cache_evictions_total', { reason: 'invalidated' }), 1);
    assert.ok(value(exp, 'shrtok_cache_hits_total') >= 1);
    assert.ok(value(exp, 'shrtok_cache_misses_total') >= 2);
    assert.equal(value(exp, 'shrtok_lockouts_total', { scope: 'identity' }), 1);
    assert.equal(value(exp, 'shrtok_lockouts_active'), 1);
    assert.equal(
      value(exp, 'shrtok_verifications_total', { kind: 'bind', result: 'success', failed_check: 'none' }),
      3,
    );
    assert.equal(
      value(exp, 'shrtok_verifications_total', {
        kind: 'bind',
        result: 'failure',
        failed_check: 'passphrase',
      }),
      2,
    );
    assert.equal(
      value(exp, 'shrtok_verification_duration_seconds_count', { kind: 'bind', result: 'success' }),
      3,
    );
  } finally {
    await pool.close();
    await keyProvider.close();
    await slapd.destroy();
  }
});
