import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServicePool } from '../../src/directory/index.js';
import { TokenVerifier } from '../../src/verify/index.js';
import type { VerifyContext } from '../../src/verify/index.js';
import { PEOPLE } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CERT_REPO,
  CountingProvider,
  VECTORS,
  cmcRequests,
  pemProvider,
  revocations,
  serviceDirectory,
  startTokenSlapd,
  vectorFile,
} from './fixtures.js';

const ctx: VerifyContext = { clientAddress: '127.0.0.1', kind: 'extop' };
const dogtag = (
  JSON.parse(readFileSync(join(VECTORS, 'dogtag_cmc_requests.json'), 'utf8')) as {
    requests: typeof cmcRequests;
  }
).requests;

describe('CMC verification through the directory and the key', () => {
  let slapd: Slapd;
  let pool: ServicePool;
  let v: TokenVerifier;
  let provider: CountingProvider;

  before(async () => {
    slapd = await startTokenSlapd();
    const sd = serviceDirectory(slapd.url);
    pool = sd.pool;
    provider = new CountingProvider(await pemProvider());
    v = new TokenVerifier({ directory: sd.directory, keyProvider: provider, wrap: 'rsa-pkcs1v15' });
  });
  after(async () => {
    await pool.close();
    await slapd.destroy();
  });

  test('every enrollment vector (oracle and Dogtag) gives its expected result', async () => {
    for (const vec of [...cmcRequests, ...dogtag]) {
      const out = await v.verifyCmc(vectorFile(vec.der_file), ctx);
      if (vec.expected.ok) {
        assert.deepEqual(
          out,
          {
            result: 'success',
            identification: vec.identification,
            entryDn: `uid=${vec.identification},${PEOPLE}`,
          },
          vec.id,
        );
      } else {
        assert.equal(out.result, 'failure', vec.id);
        assert.equal(out.failedCheck, vec.expected.failed_check, vec.id);
      }
    }
    // alice, bob and carol: one decryption each, however many requests.
    assert.equal(provider.decrypts, 3);
  });

  test('every revocation vector gives its expected result', async () => {
    for (const vec of revocations) {
      const out = await v.verifyCmc(vectorFile(vec.der_file), ctx);
      assert.equal(out.result, vec.expected.ok ? 'success' : 'failure', vec.id);
      assert.equal(out.failedCheck, vec.expected.failed_check ?? undefined, vec.id);
      assert.equal(out.serial, vec.serial, vec.id);
      if (vec.expected.failed_check !== 'revoke_passphrase_missing') {
        assert.equal(out.entryDn, `cn=${vec.serial},${CERT_REPO}`, vec.id);
      }
    }
  });

  test('a named subject must agree with the request; garbage is a parse failure', async () => {
    const c01 = vectorFile(cmcRequests[0]!.der_file);
    assert.equal((await v.verifyCmc(c01, ctx, { uid: 'alice' })).result, 'success');
    assert.equal((await v.verifyCmc(c01, ctx, { uid: 'bob' })).failedCheck, 'subject_mismatch');
    assert.equal((await v.verifyCmc(c01, ctx, { serial: '4097' })).failedCheck, 'subject_mismatch');
    assert.equal((await v.verifyCmc(Buffer.from('not cmc'), ctx)).failedCheck, 'parse');
    assert.equal((await v.verifyCmc(c01.subarray(0, 100), ctx)).failedCheck, 'parse');
  });

  test('an enrollment for an identification the directory does not hold fails with lookup', async () => {
    // c01 names alice; a directory that does not find her gives lookup, and no decryption is attempted.
    const sd = serviceDirectory(slapd.url);
    const other = new TokenVerifier({
      directory: {
        lookupEnrollmentToken: (uid) => sd.directory.lookupEnrollmentToken(`${uid}-missing`),
        lookupRevocationToken: (s) => sd.directory.lookupRevocationToken(s),
      },
      keyProvider: provider,
      wrap: 'rsa-pkcs1v15',
    });
    const out = await other.verifyCmc(vectorFile(cmcRequests[0]!.der_file), ctx);
    assert.deepEqual(out, { result: 'failure', identification: 'alice', failedCheck: 'lookup' });
    await sd.pool.close();
  });
});
