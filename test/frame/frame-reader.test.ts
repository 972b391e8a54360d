import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameError, FrameReader } from '../../src/frame/index.js';
import { ProtocolOp, encodeBindRequest, encodeMessage } from '../../src/ldap/index.js';

const bytes = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

// Fixtures, one field per comment.
const unbind = bytes(
  '30 05' + // LDAPMessage, 5 bytes
    '02 01 07' + // messageID 7
    '42 00', // unbindRequest (NULL)
);
const abandon = bytes(
  '30 06' + // LDAPMessage
    '02 01 08' + // messageID 8
    '50 01 05', // abandonRequest of messageID 5
);
const bind = encodeBindRequest({
  messageId: 300, // two-octet messageID
  version: 3,
  name: 'uid=user1,ou=People,dc=example,dc=com',
  authentication: { kind: 'simple', password: Buffer.from('pass1') },
});
// A frame whose length needs the long form (0x82 xx xx).
const big = encodeMessage(0x7fffffff, Buffer.concat([bytes('4a 82 01 2c'), Buffer.alloc(300, 0x61)]));

interface Seen {
  frame: string;
  messageId: number;
  opTag: number;
}

function feed(reader: FrameReader, chunks: Buffer[]): Seen[] {
  const out: Seen[] = [];
  for (const c of chunks) {
    reader.push(c);
    while (reader.next())
      out.push({ frame: reader.frame.toString('hex'), messageId: reader.messageId, opTag: reader.opTag });
  }
  return out;
}

const all = Buffer.concat([unbind, bind, abandon, big]);
const expected: Seen[] = [
  { frame: unbind.toString('hex'), messageId: 7, opTag: ProtocolOp.unbindRequest },
  { frame: bind.toString('hex'), messageId: 300, opTag: ProtocolOp.bindRequest },
  { frame: abandon.toString('hex'), messageId: 8, opTag: ProtocolOp.abandonRequest },
  { frame: big.toString('hex'), messageId: 0x7fffffff, opTag: ProtocolOp.delRequest },
];

test('all frames in one chunk, each returned as a view of that chunk', () => {
  const reader = new FrameReader(1 << 20);
  reader.push(all);
  const views: Buffer[] = [];
  while (reader.next()) views.push(reader.frame);
  assert.equal(views.length, 4);
  for (const v of views) assert.equal(v.buffer, all.buffer, 'frame is a subarray, not a copy');
  assert.equal(reader.retainedBytes, 0);
});

test('every split offset of a multi-frame buffer gives the same frames', () => {
  for (let i = 0; i <= all.length; i++) {
    const reader = new FrameReader(1 << 20);
    assert.deepEqual(feed(reader, [all.subarray(0, i), all.subarray(i)]), expected, `split at ${i}`);
    assert.equal(reader.retainedBytes, 0, `nothing retained after split at ${i}`);
  }
});

test('every pair of split offsets (three chunks) around the headers gives the same frames', () => {
  const limit = unbind.length + bind.length + 12;
  for (let i = 0; i <= limit; i++) {
    for (let j = i; j <= limit; j++) {
      const reader = new FrameReader(1 << 20);
      const got = feed(reader, [all.subarray(0, i), all.subarray(i, j), all.subarray(j)]);
      assert.deepEqual(got, expected, `split at ${i}, ${j}`);
    }
  }
});

test('one byte per chunk', () => {
  const reader = new FrameReader(1 << 20);
  const chunks = [...all].map((b) => Buffer.from([b]));
  assert.deepEqual(feed(reader, chunks), expected);
  assert.equal(reader.retainedBytes, 0);
});

test('two frames in one chunk, then a partial third kept until it completes', () => {
  const reader = new FrameReader(1 << 20);
  const chunk = Buffer.concat([unbind, abandon, bind.subarray(0, 10)]);
  const got = feed(reader, [chunk]);
  assert.equal(got.length, 2);
  assert.equal(reader.hasPendingBytes, true);
  // Only the partial frame's own buffer is held, not the chunk it arrived in.
  assert.equal(reader.retainedBytes, bind.length);
  assert.deepEqual(feed(reader, [bind.subarray(10)]), [expected[1]]);
  assert.equal(reader.retainedBytes, 0);
  assert.equal(reader.hasPendingBytes, false);
});

test('no chunk is retained after a frame: the reader drops its last frame reference too', () => {
  const reader = new FrameReader(1 << 20);
  reader.push(Buffer.concat([unbind, abandon]));
  assert.equal(reader.next(), true);
  assert.equal(reader.next(), true);
  assert.equal(reader.next(), false);
  assert.equal(reader.frame.length, 0);
  assert.equal(reader.retainedBytes, 0);
});

test('an oversize length is rejected as soon as the length octets arrive, before the body', () => {
  const reader = new FrameReader(1000);
  // Header announcing 1 GiB: only the 6 header bytes are ever delivered.
  reader.push(bytes('30 84 40 00 00 00'));
  assert.throws(
    () => reader.next(),
    (e: unknown) =>
      e instanceof FrameError &&
      e.reason === 'tooLarge' &&
      /1073741830 bytes is over the limit of 1000/.test(e.message),
  );
  // Split inside the length octets: rejected when the last length byte arrives.
  const split = new FrameReader(1000);
  split.push(bytes('30 82'));
  assert.equal(split.next(), false);
  split.push(bytes('03'));
  assert.equal(split.next(), false);
  split.push(bytes('e9'));
  assert.throws(() => split.next(), /PDU of 1005 bytes is over the limit of 1000/);
  assert.ok(split.retainedBytes < 16, 'no body buffer was allocated');
});

test('the limit applies to the whole PDU and can change between frames (after a bind)', () => {
  const reader = new FrameReader(bind.length);
  reader.push(bind);
  assert.equal(reader.next(), true);
  reader.maxFrameBytes = bind.length - 1;
  reader.push(bind);
  assert.throws(() => reader.next(), FrameError);
});

test('length of length 5, indefinite length and a non-SEQUENCE first byte are rejected', () => {
  const cases: [string, string][] = [
    ['30 85 00 00 00 00 05', 'lengthOfLength'],
    ['30 80', 'indefiniteLength'],
    ['47 45 54 20 2f', 'notASequence'], // "GET /"
    ['16 03 01 02 00', 'notASequence'], // a TLS ClientHello on a plain port
  ];
  for (const [h, reason] of cases) {
    const reader = new FrameReader(1 << 20);
    reader.push(bytes(h));
    assert.throws(
      () => reader.next(),
      (e: unknown) => e instanceof FrameError && e.reason === reason,
      h,
    );
  }
  // The first byte alone is enough to reject garbage.
  const reader = new FrameReader(1 << 20);
  reader.push(bytes('ff'));
  assert.throws(() => reader.next(), /expected an LDAPMessage SEQUENCE \(0x30\), got 0xff/);
});

test('bad envelopes: missing or negative messageID, protocolOp past the end', () => {
  const cases: [string, RegExp][] = [
    ['30 03 04 01 00', /messageID INTEGER missing/],
    ['30 05 02 00 42 00 00', /messageID of 0 octets/],
    ['30 05 02 05 01 42 00', /messageID of 5 octets/],
    ['30 05 02 01 ff 42 00', /messageID is negative/],
    ['30 03 02 01 01', /protocolOp missing/],
    ['30 06 02 01 01 63 05 00', /protocolOp runs past/],
  ];
  for (const [h, re] of cases) {
    const reader = new FrameReader(1 << 20);
    reader.push(bytes(h));
    assert.throws(
      () => reader.next(),
      (e: unknown) => e instanceof FrameError && e.reason === 'badEnvelope' && re.test(e.message),
      h,
    );
  }
});

test('push before the previous chunk is consumed is a programming error', () => {
  const reader = new FrameReader(1 << 20);
  reader.push(Buffer.concat([unbind, abandon]));
  assert.equal(reader.next(), true);
  assert.throws(() => reader.push(unbind), /before the previous chunk was consumed/);
});

test('a large allowed PDU that trickles in is buffered as it arrives, not at its declared size', () => {
  const body = Buffer.alloc(1_000_000, 0x61);
  const frame = encodeMessage(9, Buffer.concat([bytes('4a 83 0f 42 40'), body]));
  const reader = new FrameReader(4194303);
  reader.push(frame.subarray(0, 100));
  assert.equal(reader.next(), false);
  assert.ok(reader.retainedBytes <= 65536, `holds ${reader.retainedBytes} bytes after 100 received`);
  let got: Buffer | undefined;
  for (let at = 100; at < frame.length; at += 7919) {
    reader.push(frame.subarray(at, Math.min(frame.length, at + 7919)));
    if (reader.next()) got = Buffer.from(reader.frame);
  }
  assert.ok(got?.equals(frame));
  assert.equal(reader.messageId, 9);
  assert.equal(reader.retainedBytes, 0);
});
