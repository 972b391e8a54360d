import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import {
  buildEnrollmentRequest,
  CMC_LIMITS,
  CmcParseError,
  decodeCmcRequest,
  verifyCmc,
} from '../../src/cmc/index.js';
import { nameToRfc4514 } from '../../src/cmc/names.js';
import { oidTlv, tlv } from '../../src/cmc/builder.js';
import { fixture, requestKeyPem } from './fixtures.js';

const parseError = (input: Buffer, match: RegExp): void => {
  assert.throws(
    () => decodeCmcRequest(input),
    (e: unknown) => e instanceof CmcParseError && match.test(e.message),
  );
};

const c01 = fixture('cmc/c01.der');

test('base64 input: 76-column CRLF, one line, PEM armour and stray spaces are all accepted', () => {
  const b64 = c01.toString('base64');
  const variants = [
    fixture('cmc/c01.b64'),
    Buffer.from(b64),
    Buffer.from(`-----BEGIN CMC REQUEST-----\n${b64.replace(/.{64}/g, '$&\n')}\n-----END CMC REQUEST-----\n`),
    Buffer.from(` \t${b64.slice(0, 10)} ${b64.slice(10)}\r\n`),
  ];
  for (const v of variants) assert.ok(decodeCmcRequest(v).der.equals(c01));
});

test('inputs that are neither DER nor base64 are parse errors', () => {
  parseError(Buffer.alloc(0), /empty/);
  parseError(Buffer.from('not base64 at all!'), /neither DER nor base64/);
  parseError(Buffer.from('MIIB*A=='), /neither DER nor base64/);
  parseError(Buffer.from('QUJD'), /DER/); // valid base64 of "ABC", not DER
  parseError(Buffer.alloc(CMC_LIMITS.maxInputBytes + 1, 0x41), /larger than/);
});

test('non-DER encodings are refused: indefinite and non-minimal lengths, trailing bytes, truncation', () => {
  parseError(Buffer.from('3080020101 0000'.replace(/ /g, ''), 'hex'), /indefinite length/);
  parseError(Buffer.from('308103020101', 'hex'), /non-minimal length/);
  parseError(Buffer.concat([c01, Buffer.from([0])]), /trailing bytes/);
  for (const cut of [1, 2, 10, 100, c01.length - 1]) parseError(c01.subarray(0, cut), /DER/);
});

test('nesting and element counts are bounded before any ASN.1 library sees the input', () => {
  let deep = tlv(0x05);
  for (let i = 0; i < CMC_LIMITS.maxDepth + 5; i++) deep = tlv(0x30, deep);
  parseError(deep, /nesting deeper/);
  const many = tlv(0x30, ...Array.from({ length: CMC_LIMITS.maxNodes + 1 }, () => tlv(0x05)));
  parseError(many, /more than \d+ DER elements/);
});

test('wrong envelopes are parse errors', () => {
  const content = (type: string, inner: Buffer): Buffer => tlv(0x30, oidTlv(type), tlv(0xa0, inner));
  parseError(content('1.2.840.113549.1.7.3', tlv(0x30)), /unsupported content type/);
  parseError(content('1.2.840.113549.1.7.1', tlv(0x04, Buffer.from('3003020101', 'hex'))), /PKIData|four/);
  parseError(tlv(0x30, oidTlv('1.2.840.113549.1.7.1')), /content is missing/);
});

function pkiData(...controls: Buffer[]): Buffer {
  return tlv(0x30, tlv(0x30, ...controls), tlv(0x30), tlv(0x30), tlv(0x30));
}
const control = (oid: string, ...values: Buffer[]): Buffer =>
  tlv(0x30, tlv(0x02, Buffer.from([1])), oidTlv(oid), tlv(0x31, ...values));
const unsigned = (pki: Buffer): Buffer =>
  tlv(0x30, oidTlv('1.2.840.113549.1.7.1'), tlv(0xa0, tlv(0x04, pki)));

test('ambiguous or malformed controls are parse errors', () => {
  const ident = (bytes: Buffer): Buffer => control('1.3.6.1.5.5.7.7.2', tlv(0x0c, bytes));
  parseError(unsigned(pkiData(ident(Buffer.from([0xc3, 0x28])))), /not valid UTF-8/);
  parseError(unsigned(pkiData(ident(Buffer.from('a')), ident(Buffer.from('b')))), /more than once/);
  parseError(
    unsigned(pkiData(control('1.3.6.1.5.5.7.7.2', tlv(0x0c, Buffer.from('a')), tlv(0x0c, Buffer.from('b'))))),
    /one value/,
  );
  parseError(unsigned(pkiData(control('1.3.6.1.5.5.7.7.2', tlv(0x13, Buffer.from('a'))))), /UTF8String/);
  const rr = (serial: Buffer): Buffer =>
    control('1.3.6.1.5.5.7.7.17', tlv(0x30, tlv(0x30), tlv(0x02, serial), tlv(0x0a, Buffer.from([0]))));
  parseError(unsigned(pkiData(rr(Buffer.from([0xff])))), /negative/);
  parseError(unsigned(pkiData(rr(Buffer.from([0x00, 0x01])))), /non-minimal INTEGER/);
  assert.equal(decodeCmcRequest(unsigned(pkiData(rr(Buffer.from([0x00, 0x80]))))).serial, '128');
});

test('verifyCmc reports parse failures as results, never throws', () => {
  const r = verifyCmc(Buffer.from('garbage'), Buffer.from('s'));
  assert.deepEqual([r.ok, r.failedCheck], [false, 'parse']);
});

test('more than one certificate request in a PKIData is refused as parse', () => {
  const key = createPrivateKey(requestKeyPem(1));
  const dup = (b: Buffer): Buffer => {
    const inner = b.subarray(b[1] === 0x82 ? 4 : b[1] === 0x81 ? 3 : 2);
    return tlv(0x30, inner, inner);
  };
  const built = buildEnrollmentRequest({
    format: 'pkcs10',
    key,
    secret: 's',
    identification: 'u',
    mutateReqSequence: dup,
  });
  assert.equal(verifyCmc(built.der, Buffer.from('s')).failedCheck, 'parse');
});

test('RFC 4514 issuer strings: order, escaping, string types, multi-valued RDNs, unknown types', () => {
  const atv = (oid: string, value: Buffer): Buffer => tlv(0x30, oidTlv(oid), value);
  const rdn = (...atvs: Buffer[]): Buffer => tlv(0x31, ...atvs);
  const bmp = Buffer.from('Ünï', 'utf16le').swap16();
  const name = tlv(
    0x30,
    rdn(atv('2.5.4.6', tlv(0x13, Buffer.from('DE')))),
    rdn(atv('2.5.4.10', tlv(0x0c, Buffer.from('A, B + "C" <D>; E\\', 'utf8')))),
    rdn(atv('2.5.4.11', tlv(0x1e, bmp)), atv('0.9.2342.19200300.100.1.25', tlv(0x16, Buffer.from('ex')))),
    rdn(atv('1.2.3.4', tlv(0x04, Buffer.from([1, 2])))),
    rdn(atv('2.5.4.3', tlv(0x0c, Buffer.from('#lead and trail ')))),
  );
  const universal = Buffer.alloc(8);
  universal.writeUInt32BE(0x1f511, 0);
  universal.writeUInt32BE(0x41, 4);
  assert.equal(
    nameToRfc4514(
      tlv(
        0x30,
        rdn(atv('2.5.4.7', tlv(0x1c, universal))),
        rdn(atv('2.5.4.8', tlv(0x14, Buffer.from([0xe9])))),
      ),
    ),
    'ST=é,L=🔑A',
  );
  assert.equal(
    nameToRfc4514(name),
    'CN=\\#lead and trail\\ ,1.2.3.4=#04020102,OU=Ünï+DC=ex,O=A\\, B \\+ \\"C\\" \\<D\\>\\; E\\\\,C=DE',
  );
});
