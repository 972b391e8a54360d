import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  VerifyProtocolError,
  decodeVerifyRequest,
  decodeVerifyResponse,
  encodeVerifyRequest,
  encodeVerifyResponse,
} from '../../src/verify/index.js';
import type { VerifyRequest } from '../../src/verify/index.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('VerifyRequest fixtures decode and re-encode byte for byte', () => {
  const cases: [string, VerifyRequest][] = [
    // SEQUENCE { [0] "alice", [2] "pw" }
    [
      '30 0b  80 05 616c696365  82 02 7077',
      { subject: { identification: 'alice' }, passphrase: Buffer.from('pw') },
    ],
    // SEQUENCE { [1] 4097, [2] "x" }
    ['30 07  81 02 1001  82 01 78', { subject: { serial: '4097' }, passphrase: Buffer.from('x') }],
    // serial 128 needs a leading zero byte
    ['30 08  81 02 0080  82 02 7879', { subject: { serial: '128' }, passphrase: Buffer.from('xy') }],
    // SEQUENCE { [3] 30 00 }: CMC request without subject
    ['30 04  83 02 3000', { cmcRequest: hex('3000') }],
    // UTF-8 identification
    ['30 0a  80 04 c3a46c69  83 02 3000', { subject: { identification: 'äli' }, cmcRequest: hex('3000') }],
  ];
  for (const [bytes, expected] of cases) {
    const der = hex(bytes);
    assert.deepEqual(decodeVerifyRequest(der), expected, bytes);
    assert.equal(encodeVerifyRequest(expected).toString('hex'), der.toString('hex'), bytes);
  }
});

test('a long cmcRequest uses a long-form length', () => {
  const cmc = Buffer.alloc(300, 7);
  const der = encodeVerifyRequest({ cmcRequest: cmc });
  assert.equal(der.subarray(0, 8).toString('hex'), '3082013083820' + '12c'.padStart(3, '0'));
  assert.deepEqual(decodeVerifyRequest(der), { cmcRequest: cmc });
});

test('malformed VerifyRequest values are protocol errors', () => {
  const bad = [
    '', // empty
    '31 04 8202 7077', // SET instead of SEQUENCE
    '30 04 82 02 7077 00', // trailing byte
    '30 05 82 02 7077', // length beyond the value
    '30 80 82 02 7077 0000', // indefinite length
    '30 81 04 82 02 7077', // non-minimal length (DER)
    '30 00', // no proof
    '30 07 80 05 616c696365', // identification without a proof
    '30 04 82 02 7077', // passphrase without a subject
    '30 04 80 00 8200', // empty identification
    '30 06 80 02 ff fe 82 00', // identification not UTF-8
    '30 06 81 01 ff 82 01 78', // negative serial
    '30 07 81 02 0001 82 01 78', // non-minimal INTEGER
    '30 05 81 00 82 01 78', // empty INTEGER
    '30 08 80 01 61 82 01 78 82 00', // two proofs
    '30 04 84 02 3000', // unknown tag
    '30 02 83 00', // empty cmcRequest
    '30 06 82 01 78 80 01 61', // subject after the proof
    '30 05 a0 03 04 01 61', // constructed tag instead of [0] primitive... then no proof
    '30 04 1f 01 00 00', // multi-byte tag
  ];
  for (const b of bad) {
    assert.throws(() => decodeVerifyRequest(hex(b)), VerifyProtocolError, b);
  }
  assert.throws(() => decodeVerifyRequest(undefined), VerifyProtocolError);
  const longSerial = encodeVerifyRequest({
    subject: { serial: (1n << 1000n).toString() },
    passphrase: Buffer.from('x'),
  });
  assert.throws(() => decodeVerifyRequest(longSerial), /serialNumber is too long/);
  const longId = encodeVerifyRequest({
    subject: { identification: 'a'.repeat(1025) },
    passphrase: Buffer.from('x'),
  });
  assert.throws(() => decodeVerifyRequest(longId), /identification is too long/);
  assert.throws(() => decodeVerifyRequest(Buffer.alloc(300 * 1024, 0x30)), /too large/);
});

test('VerifyResponse encodes as SEQUENCE { entryDN, [0] identification, [1] failedCheck }', () => {
  assert.equal(
    encodeVerifyResponse({ entryDn: 'uid=a', identification: 'a', failedCheck: 'locked' }).toString('hex'),
    '30' +
      '12' +
      '0405' +
      Buffer.from('uid=a').toString('hex') +
      '8001' +
      '61' +
      '8106' +
      Buffer.from('locked').toString('hex'),
  );
  assert.equal(encodeVerifyResponse({ entryDn: '' }).toString('hex'), '30020400');
  assert.throws(() => decodeVerifyResponse(hex('3005 0400 8101 61 00')), VerifyProtocolError);
  assert.throws(
    () => decodeVerifyResponse(hex('3006 0400 8101 61 8000')),
    VerifyProtocolError,
    'out of order',
  );
});

test('round trips for arbitrary requests and responses (fast-check)', () => {
  const subject = fc.option(
    fc.oneof(
      fc.string({ minLength: 1, unit: 'grapheme' }).map((identification) => ({ identification })),
      fc.bigInt({ min: 0n, max: 1n << 160n }).map((n) => ({ serial: n.toString(10) })),
    ),
    { nil: undefined },
  );
  fc.assert(
    fc.property(subject, fc.uint8Array({ maxLength: 2000 }), fc.boolean(), (s, bytes, usePass) => {
      const buf = Buffer.from(bytes);
      let req: VerifyRequest;
      if (usePass && s) req = { subject: s, passphrase: buf };
      else if (buf.length > 0) req = s ? { subject: s, cmcRequest: buf } : { cmcRequest: buf };
      else return;
      assert.deepEqual(decodeVerifyRequest(encodeVerifyRequest(req)), req);
    }),
  );
  fc.assert(
    fc.property(fc.string(), fc.option(fc.string()), fc.option(fc.string()), (dn, id, check) => {
      const res = {
        entryDn: dn,
        ...(id !== null ? { identification: id } : {}),
        ...(check !== null ? { failedCheck: check } : {}),
      };
      assert.deepEqual(decodeVerifyResponse(encodeVerifyResponse(res)), res);
    }),
  );
  // Arbitrary bytes never throw anything but VerifyProtocolError.
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        decodeVerifyRequest(Buffer.from(bytes));
      } catch (e) {
        assert.ok(e instanceof VerifyProtocolError);
      }
    }),
  );
});
