// The whole secret path as the proxy runs it: shrTok / revShrTok -> pem key provider -> proof keys -> verify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  decodeCmcRequest,
  deriveProofKeys,
  precheckEnrollment,
  precheckRevocation,
  verifyEnrollment,
  verifyRevocationWithSecret,
} from '../../src/cmc/index.js';
import { openKeyProvider } from '../../src/keys/index.js';
import { decryptToken } from '../../src/token/index.js';
import { enrollmentVectors, fixture, FIXTURES, revocationVectors } from './fixtures.js';

const keyPem = join(FIXTURES, 'issuance_protection_key.pem');

test('enrollment vectors verify with the secret decrypted from shared_secret_from_token', async () => {
  const provider = await openKeyProvider({ kind: 'pem', keyPem, allowSoftwareKey: true, wrap: 'auto' });
  try {
    for (const v of enrollmentVectors()) {
      const req = decodeCmcRequest(fixture(v.der_file));
      assert.equal(precheckEnrollment(req, {}), null, v.id);
      const { passphrase } = await decryptToken(
        v.shared_secret_from_token.token,
        provider,
        v.shared_secret_from_token.wrap,
      );
      assert.equal(passphrase.toString('hex'), v.shared_secret_utf8_hex, v.id);
      const result = verifyEnrollment(req, deriveProofKeys(passphrase, req.identification!), {});
      passphrase.fill(0);
      assert.equal(result.ok, v.expected.ok, `${v.id}: ${result.message}`);
      assert.equal(result.failedCheck, v.expected.failed_check, v.id);
      assert.equal(result.identification ?? null, v.expected.identification, v.id);
    }
  } finally {
    await provider.close();
  }
});

test('revocation vectors verify against the decrypted revocation token (both token text forms)', async () => {
  const provider = await openKeyProvider({ kind: 'pem', keyPem, allowSoftwareKey: true, wrap: 'auto' });
  try {
    for (const v of revocationVectors()) {
      const req = decodeCmcRequest(fixture(v.der_file));
      const early = precheckRevocation(req);
      for (const value of [v.revocation_token.token, v.revocation_token.token_oneline!]) {
        const { passphrase } = await decryptToken(value, provider, v.revocation_token.wrap);
        const result = early ?? verifyRevocationWithSecret(req, passphrase);
        passphrase.fill(0);
        assert.deepEqual(
          [result.ok, result.failedCheck, result.serial, result.issuer],
          [v.expected.ok, v.expected.failed_check, v.expected.serial, v.expected.issuer],
          v.id,
        );
      }
    }
  } finally {
    await provider.close();
  }
});
