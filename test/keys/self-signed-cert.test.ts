// The self-signed certificate that `hsm init` stores next to the key: every one must parse in OpenSSL
// (through Node's X509Certificate) and verify with the key it was made for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync, sign } from 'node:crypto';
import { buildSelfSignedCert } from '../../src/keys/self-signed-cert.js';

test('2,000 self-signed certificates in a row all parse and verify (DER-minimal random serials)', async () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const serials = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const { der } = await buildSelfSignedCert({
      commonName: 'issuance protection',
      publicKey,
      sign: (tbs) => Promise.resolve(sign('sha256', tbs, privateKey)),
    });
    // A non-minimal INTEGER (serial 00 0x..) makes this throw ERR_OSSL_ASN1_ILLEGAL_PADDING.
    const cert = new X509Certificate(der);
    assert.ok(cert.verify(publicKey));
    assert.match(cert.serialNumber, /^[4-7][0-9A-F]{31}$/);
    serials.add(cert.serialNumber);
  }
  assert.equal(serials.size, 2000);
});
