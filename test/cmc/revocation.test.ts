import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import {
  buildEnrollmentRequest,
  buildRevocationRequest,
  decodeCmcRequest,
  keyIdentifier,
  precheckEnrollment,
  precheckRevocation,
  verifyCmc,
  verifyRevocation,
  verifyRevocationWithSecret,
} from '../../src/cmc/index.js';
import { requestKeyPem } from './fixtures.js';

const ISSUER = 'CN=CA Signing Certificate,OU=pki-tomcat,O=EXAMPLE';
const key = createPrivateKey(requestKeyPem(2));
const signer = { key, sid: keyIdentifier(key) };
const SERIALS = [0n, 1n, 0x7fn, 0x80n, 0xffn, 2n ** 63n, 2n ** 64n + 1n, 2n ** 159n, 2n ** 256n - 1n];

for (const signed of [false, true]) {
  const envelope = signed ? 'signed SignedData' : 'unsigned id-data';

  test(`${envelope}: serials (leading 0x00, beyond 2^64) come back in decimal with the issuer`, () => {
    for (const serial of SERIALS) {
      const built = buildRevocationRequest({
        issuer: ISSUER,
        serial,
        passphrase: 'Revoke.Secret-123',
        reason: 1,
        ...(signed ? { signer } : {}),
      });
      const req = decodeCmcRequest(built.der);
      assert.equal(req.kind, 'revocation');
      assert.equal(req.signedData === null, !signed);
      const r = verifyCmc(built.der, Buffer.from('Revoke.Secret-123'));
      assert.deepEqual(
        [r.ok, r.failedCheck, r.serial, r.issuer],
        [true, null, serial.toString(10), ISSUER],
        r.message,
      );
    }
  });

  test(`${envelope}: passphrase checks in order`, () => {
    const opts = { issuer: ISSUER, serial: 4097n, ...(signed ? { signer } : {}) };
    const secret = Buffer.from('Widerruf-ñ-日本-🔑');
    const good = decodeCmcRequest(buildRevocationRequest({ ...opts, passphrase: secret }).der);
    assert.equal(precheckRevocation(good), null);
    assert.equal(verifyRevocationWithSecret(good, secret).ok, true);
    assert.equal(verifyRevocationWithSecret(good, null).failedCheck, 'token');
    assert.equal(
      verifyRevocationWithSecret(good, Buffer.from('Widerruf-ñ-日本-🔒')).failedCheck,
      'revoke_passphrase',
    );
    assert.equal(verifyRevocationWithSecret(good, secret.subarray(0, -1)).failedCheck, 'revoke_passphrase');
    assert.equal(
      verifyRevocationWithSecret(good, Buffer.concat([secret, Buffer.from(' ')])).failedCheck,
      'revoke_passphrase',
    );
    const seen: Buffer[] = [];
    verifyRevocation(good, (p) => (seen.push(p), false));
    assert.deepEqual(seen, [secret], 'the matcher sees the exact passphrase bytes');

    for (const passphrase of [null, '']) {
      const r = verifyCmc(buildRevocationRequest({ ...opts, passphrase }).der, secret);
      assert.deepEqual([r.failedCheck, r.serial, r.issuer], ['revoke_passphrase_missing', '4097', ISSUER]);
    }
    const result = verifyRevocationWithSecret(good, Buffer.from('wrong'));
    assert.ok(!JSON.stringify(result).includes('Widerruf'), 'results never carry the passphrase');
  });
}

test('an enrollment request given to the revocation check is revoke_request_missing, and vice versa parse', () => {
  const enrollment = decodeCmcRequest(
    buildEnrollmentRequest({ format: 'pkcs10', key, secret: 's', identification: 'u' }).der,
  );
  assert.equal(
    verifyRevocationWithSecret(enrollment, Buffer.from('s')).failedCheck,
    'revoke_request_missing',
  );
  const revocation = decodeCmcRequest(
    buildRevocationRequest({ issuer: ISSUER, serial: 1n, passphrase: 'p' }).der,
  );
  assert.equal(precheckEnrollment(revocation, {})?.failedCheck, 'parse');
});

test('reason, comment and invalidityDate are decoded', () => {
  const date = new Date('2025-03-15T12:00:00Z');
  const req = decodeCmcRequest(
    buildRevocationRequest({
      issuer: ISSUER,
      serial: 9n,
      passphrase: 'p',
      reason: 5,
      comment: 'gone',
      invalidityDate: date,
    }).der,
  );
  assert.equal(req.revocation?.reason, 5);
  assert.equal(req.revocation?.comment, 'gone');
  assert.equal(req.revocation?.invalidityDate?.toISOString(), date.toISOString());
});
