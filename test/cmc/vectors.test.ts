import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeCmcRequest,
  deriveProofKeys,
  precheckEnrollment,
  verifyCmc,
  verifyEnrollment,
  verifyRevocationWithSecret,
} from '../../src/cmc/index.js';
import { enrollmentVectors, fixture, revocationVectors } from './fixtures.js';

for (const v of enrollmentVectors()) {
  for (const file of [v.der_file, v.b64_file]) {
    test(`enrollment vector ${v.id} (${file}) gives ${v.expected.failed_check ?? 'ok'}`, () => {
      const secret = Buffer.from(v.shared_secret_utf8_hex, 'hex');
      const result = verifyCmc(fixture(file), secret);
      assert.equal(result.ok, v.expected.ok, result.message);
      assert.equal(result.failedCheck, v.expected.failed_check);
      assert.equal(result.identification ?? null, v.expected.identification);
      assert.ok(!result.message.includes(secret.toString('utf8')), 'message must not carry the secret');
    });
  }

  test(`enrollment vector ${v.id}: precheck passes, then the split API gives the same result`, () => {
    const req = decodeCmcRequest(fixture(v.der_file));
    assert.equal(req.kind, 'enrollment');
    assert.equal(req.identification, v.identification);
    assert.equal(req.requests[0]?.format, v.format);
    assert.equal(precheckEnrollment(req, {}), null);
    const keys = deriveProofKeys(Buffer.from(v.shared_secret_utf8_hex, 'hex'), req.identification);
    const result = verifyEnrollment(req, keys, {});
    assert.equal(result.failedCheck, v.expected.failed_check);
    // The witness bytes never show up when the keys object is logged or serialised.
    assert.equal(JSON.stringify({ keys }), '{"keys":"[ProofKeys]"}');
  });
}

test('requirePopLink: requests with a POP link still pass, the one without fails pop_link_missing', () => {
  for (const v of enrollmentVectors().filter((x) => x.expected.ok)) {
    const req = decodeCmcRequest(fixture(v.der_file));
    const secret = Buffer.from(v.shared_secret_utf8_hex, 'hex');
    const result = verifyEnrollment(req, deriveProofKeys(secret, v.identification), { requirePopLink: true });
    if (req.popLinkRandom) assert.equal(result.failedCheck, null, `${v.id}: ${result.message}`);
    else assert.equal(result.failedCheck, 'pop_link_missing', v.id);
  }
});

test('a wrong secret fails identity_proof on every valid vector', () => {
  for (const v of enrollmentVectors().filter((x) => x.expected.ok)) {
    const result = verifyCmc(fixture(v.der_file), Buffer.from('not the secret'));
    assert.equal(result.failedCheck, 'identity_proof', v.id);
  }
});

for (const v of revocationVectors()) {
  for (const file of [v.der_file, v.b64_file]) {
    test(`revocation vector ${v.id} (${file}) gives ${v.expected.failed_check ?? 'ok'}`, () => {
      const result = verifyCmc(fixture(file), Buffer.from(v.shared_secret_utf8_hex, 'hex'));
      assert.equal(result.ok, v.expected.ok, result.message);
      assert.equal(result.failedCheck, v.expected.failed_check);
      assert.equal(result.serial, v.expected.serial);
      assert.equal(result.issuer, v.expected.issuer);
    });
  }

  test(`revocation vector ${v.id}: decoded fields and the token check`, () => {
    const req = decodeCmcRequest(fixture(v.der_file));
    assert.equal(req.kind, 'revocation');
    assert.equal(req.signedData, null, 'vectors are unsigned id-data');
    assert.equal(req.serial, v.serial);
    assert.equal(req.issuer, v.issuer);
    assert.equal(req.revocation?.passphrase?.toString('hex') ?? null, v.request_passphrase_hex);
    const undecryptable = verifyRevocationWithSecret(req, null);
    assert.equal(undecryptable.failedCheck, v.request_passphrase_hex ? 'token' : 'revoke_passphrase_missing');
  });
}
