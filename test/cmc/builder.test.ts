import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { AsnParser, AsnSerializer } from '@peculiar/asn1-schema';
import { PKIData } from '../../src/cmc/asn1.js';
import {
  buildEnrollmentRequest,
  decodeCmcRequest,
  deriveProofKeys,
  keyIdentifier,
  precheckEnrollment,
  verifyCmc,
  verifyEnrollment,
} from '../../src/cmc/index.js';
import type { EnrollmentSpec } from '../../src/cmc/index.js';
import { OID } from '../../src/cmc/oids.js';
import { tlv } from '../../src/cmc/builder.js';
import { requestKeyPem } from './fixtures.js';

const key1 = createPrivateKey(requestKeyPem(1));
const key2 = createPrivateKey(requestKeyPem(2));
const SECRET = 'Secret.123';
const FORMATS = ['pkcs10', 'crmf'] as const;

function check(spec: Partial<EnrollmentSpec> & Pick<EnrollmentSpec, 'format'>, opts = {}, secret = SECRET) {
  const built = buildEnrollmentRequest({ key: key1, secret: SECRET, identification: 'testuser', ...spec });
  return verifyCmc(built.der, Buffer.from(secret, 'utf8'), opts);
}

for (const format of FORMATS) {
  test(`${format}: identityProofV2 alone verifies, DER and base64`, () => {
    const built = buildEnrollmentRequest({ format, key: key1, secret: SECRET, identification: 'testuser' });
    for (const input of [built.der, Buffer.from(built.base64)]) {
      const r = verifyCmc(input, Buffer.from(SECRET));
      assert.deepEqual([r.ok, r.failedCheck, r.identification], [true, null, 'testuser'], r.message);
    }
  });

  test(`${format}: non-ASCII passphrase and identification verify (RFC/client behaviour)`, () => {
    const r = check(
      { format, secret: 'Kennwört-日本-🔑', identification: 'zoë.ñ', popLink: {} },
      {},
      'Kennwört-日本-🔑',
    );
    assert.deepEqual([r.ok, r.identification], [true, 'zoë.ñ'], r.message);
  });

  test(`${format}: POP link verifies, and is required with requirePopLink`, () => {
    assert.equal(check({ format, popLink: {} }, { requirePopLink: true }).failedCheck, null);
    assert.equal(check({ format }, { requirePopLink: true }).failedCheck, 'pop_link_missing');
    assert.equal(
      check({ format, popLink: {}, omitPopLinkWitness: true }, { requirePopLink: true }).failedCheck,
      'pop_link_missing',
    );
  });

  test(`${format}: every SHA-2 hash with every SHA-2 HMAC, HMAC-SHA384 included`, () => {
    for (const h of ['sha256', 'sha384', 'sha512'] as const) {
      for (const m of [OID.hmacSha256, OID.hmacSha384, OID.hmacSha512]) {
        const w = { hashOid: OID[h], macOid: m };
        const r = check({ format, identityProof: w, popLink: w, signatureHash: h });
        assert.equal(r.failedCheck, null, `${h}/${m}: ${r.message}`);
      }
    }
  });

  test(`${format}: SHA-1 and HMAC-SHA1 are refused as *_alg`, () => {
    assert.equal(
      check({ format, identityProof: { macOid: OID.hmacSha1 } }).failedCheck,
      'identity_proof_alg',
    );
    assert.equal(check({ format, identityProof: { hashOid: OID.sha1 } }).failedCheck, 'identity_proof_alg');
    assert.equal(check({ format, popLink: { macOid: OID.hmacSha1 } }).failedCheck, 'pop_link_alg');
    assert.equal(check({ format, popLink: { hashOid: OID.sha1 } }).failedCheck, 'pop_link_alg');
  });

  test(`${format}: missing controls fail in Dogtag's order`, () => {
    assert.equal(check({ format, identification: null }).failedCheck, 'identification_missing');
    assert.equal(check({ format, identification: '' }).failedCheck, 'identification_missing');
    assert.equal(
      check({ format, identification: null, identityProof: null }).failedCheck,
      'identification_missing',
    );
    assert.equal(check({ format, identityProof: null }).failedCheck, 'identity_proof_missing');
    assert.equal(
      check({ format, popLink: {}, omitPopLinkRandom: true }).failedCheck,
      'pop_link_random_missing',
    );
    assert.equal(check({ format, popLink: {}, omitPopLinkWitness: true }).failedCheck, 'pop_link_missing');
  });

  test(`${format}: wrong secrets fail identity_proof / pop_link`, () => {
    assert.equal(check({ format }, {}, 'Secret.124').failedCheck, 'identity_proof');
    assert.equal(check({ format, identityProof: { secret: 'other' } }).failedCheck, 'identity_proof');
    assert.equal(check({ format, identityProof: { identification: 'other' } }).failedCheck, 'identity_proof');
    assert.equal(check({ format, popLink: { secret: 'other' } }).failedCheck, 'pop_link');
    // The proof of identity is checked before the POP link.
    assert.equal(
      check({ format, popLink: { secret: 'x' }, identityProof: { secret: 'y' } }).failedCheck,
      'identity_proof',
    );
  });

  test(`${format}: signature failures`, () => {
    const other = { key: key2, sid: keyIdentifier(createPrivateKey(requestKeyPem(2))) };
    assert.equal(check({ format, extraSigners: [other] }).failedCheck, 'signature', 'two SignerInfos');
    assert.equal(check({ format, sid: randomBytes(20) }).failedCheck, 'signature', 'wrong SKI');
    assert.equal(check({ format, skiExtension: false }).failedCheck, 'signature', 'no SKI extension');
    assert.equal(check({ format, signedBy: key2 }).failedCheck, 'signature', 'signed by another key');
    assert.equal(check({ format, signedBy: 'none' }).failedCheck, 'signature', 'unsigned id-data');
    const flipLast = (b: Buffer): Buffer => Buffer.concat([b.subarray(0, -1), Buffer.from([b.at(-1)! ^ 1])]);
    assert.equal(
      check({ format, mutateReqSequence: flipLast }).failedCheck,
      'signature',
      'request POP broken',
    );
    const renamed = (b: Buffer): Buffer =>
      Buffer.from(b.toString('latin1').replace('testuser', 'testusex'), 'latin1');
    assert.equal(check({ format, mutatePkiData: renamed }).failedCheck, 'signature', 'eContent tampered');
  });

  test(`${format}: RSASSA-PSS and ECDSA signatures verify`, () => {
    assert.equal(check({ format, pss: true, signatureHash: 'sha384' }).failedCheck, null);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    assert.equal(check({ format, key: ec, popLink: {} }).failedCheck, null);
  });
}

test('pkcs10: a changed bodyPartID after the proof fails identity_proof (only the MAC covers it)', () => {
  const bump = (b: Buffer): Buffer => {
    const out = Buffer.from(b);
    out[out.indexOf(Buffer.from([0x02, 0x01, 0x01])) + 2] = 7;
    return out;
  };
  assert.equal(check({ format: 'pkcs10', mutateReqSequence: bump }).failedCheck, 'identity_proof');
});

test('bare rsaEncryption as the SignerInfo signature algorithm uses the digest algorithm', () => {
  assert.equal(
    check({ format: 'pkcs10', rsaEncryptionOid: true, signatureHash: 'sha512' }).failedCheck,
    null,
  );
});

test('identityProof v1 alone is identity_proof_missing, naming v1', () => {
  const v1 = tlv(0x04, Buffer.alloc(20));
  const r = check({ format: 'pkcs10', identityProof: null, extraControls: [[OID.identityProof, v1]] });
  assert.equal(r.failedCheck, 'identity_proof_missing');
  assert.match(r.message, /v1/);
});

test('no secret for an enrollment is a token failure', () => {
  const built = buildEnrollmentRequest({ format: 'pkcs10', key: key1, secret: SECRET, identification: 'u' });
  assert.equal(verifyCmc(built.der, null).failedCheck, 'token');
});

test('sid forms: PKCS#10 takes only the plain SKI, CRMF takes plain and Dogtag-wrapped', () => {
  assert.equal(check({ format: 'pkcs10', sid: 'plain' }).failedCheck, null);
  assert.equal(check({ format: 'pkcs10', sid: 'wrapped' }).failedCheck, 'signature');
  assert.equal(check({ format: 'crmf', sid: 'plain' }).failedCheck, null);
  assert.equal(check({ format: 'crmf', sid: 'wrapped' }).failedCheck, null);
});

test('precheck stops before any secret is needed', () => {
  const good = decodeCmcRequest(
    buildEnrollmentRequest({ format: 'pkcs10', key: key1, secret: SECRET, identification: 'u' }).der,
  );
  assert.equal(precheckEnrollment(good, {}), null);
  const sha1 = buildEnrollmentRequest({
    format: 'crmf',
    key: key1,
    secret: SECRET,
    identification: 'u',
    identityProof: { macOid: OID.hmacSha1 },
  });
  assert.equal(precheckEnrollment(decodeCmcRequest(sha1.der), {})?.failedCheck, 'identity_proof_alg');
  // The POP link algorithm is only judged after the proof of identity, as Dogtag orders it.
  const popSha1 = buildEnrollmentRequest({
    format: 'crmf',
    key: key1,
    secret: SECRET,
    identification: 'u',
    popLink: { macOid: OID.hmacSha1 },
  });
  const req = decodeCmcRequest(popSha1.der);
  assert.equal(precheckEnrollment(req, {}), null);
  assert.equal(
    verifyEnrollment(req, deriveProofKeys(Buffer.from(SECRET), 'u'), {}).failedCheck,
    'pop_link_alg',
  );
});

test('the builder output matches the asn1-schema PKIData serialisation byte for byte', () => {
  const built = buildEnrollmentRequest({
    format: 'crmf',
    key: key1,
    secret: SECRET,
    identification: 'u',
    popLink: {},
  });
  const req = decodeCmcRequest(built.der);
  assert.ok(req.eContent.equals(built.pkiData));
  const reencoded = Buffer.from(AsnSerializer.serialize(AsnParser.parse(built.pkiData, PKIData)));
  assert.ok(reencoded.equals(built.pkiData));
});
