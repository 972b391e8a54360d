import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerError, BerReader, BerWriter } from '../../src/ber/index.js';

const hex = (b: Buffer): string => b.toString('hex');
const bytes = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

test('integers encode in the fewest two-complement octets and read back', () => {
  const cases: [number, string][] = [
    [0, '020100'],
    [1, '020101'],
    [127, '02017f'],
    [128, '02020080'],
    [255, '020200ff'],
    [256, '02020100'],
    [-1, '0201ff'],
    [-128, '020180'],
    [-129, '0202ff7f'],
    [0x7fffffff, '02047fffffff'],
    [-0x80000000, '020480000000'],
  ];
  for (const [n, h] of cases) {
    assert.equal(hex(new BerWriter().writeInteger(n).toBuffer()), h, `encode ${n}`);
    assert.equal(new BerReader(bytes(h)).readInteger(), n, `decode ${h}`);
  }
  assert.throws(() => new BerWriter().writeInteger(2 ** 31), RangeError);
});

test('short and long form lengths; nested sequences grow their length field in place', () => {
  const short = new BerWriter().startSequence().writeOctetString('abc').endSequence().toBuffer();
  assert.equal(hex(short), '3005' + '0403616263');

  const value = Buffer.alloc(200, 0x41);
  const long = new BerWriter()
    .startSequence()
    .startSequence(0xa0)
    .writeOctetString(value)
    .endSequence()
    .endSequence()
    .toBuffer();
  // 30 81 ce | a0 81 cb | 04 81 c8 | 200 x 'A'
  assert.equal(hex(long.subarray(0, 9)), '3081cea081cb0481c8');
  assert.equal(long.length, 3 + 3 + 3 + 200);
  const outer = new BerReader(long).readSequence();
  const inner = outer.readSequence(0xa0);
  assert.deepEqual(inner.readOctetString(), value);
  inner.expectEnd('inner');
  outer.expectEnd('outer');

  const big = new BerWriter().writeOctetString(Buffer.alloc(70000)).toBuffer();
  assert.equal(hex(big.subarray(0, 5)), '0483011170');
});

test('strings are views into the input, not copies', () => {
  const input = bytes('0403 616263');
  const s = new BerReader(input).readOctetString();
  assert.equal(s.buffer, input.buffer);
  assert.equal(s.toString(), 'abc');
});

test('boolean, enumerated, null, raw elements and tags', () => {
  const w = new BerWriter().writeBoolean(true).writeEnumerated(52).writeNull().writeRaw(bytes('8001ff'));
  assert.equal(hex(w.toBuffer()), '0101ff' + '0a0134' + '0500' + '8001ff');
  const r = new BerReader(w.toBuffer());
  assert.equal(r.readBoolean(), true);
  assert.equal(r.readEnumerated(), 52);
  assert.equal(r.peekTag(), 0x05);
  r.skip();
  assert.equal(hex(r.readElement()), '8001ff');
  assert.equal(r.atEnd(), true);
  assert.equal(r.peekTag(), -1);
});

test('malformed input is a BerError naming the problem, never a default value', () => {
  const cases: [string, RegExp, (r: BerReader) => unknown][] = [
    ['0405 6162', /length 5 runs past the end/, (r) => r.readOctetString()],
    ['0480', /indefinite length/, (r) => r.readOctetString()],
    ['0485 0000000001 00', /length of length 5 is over 4/, (r) => r.readOctetString()],
    ['0484 0000', /length octets run past/, (r) => r.readOctetString()],
    ['02', /expected a length/, (r) => r.readInteger()],
    ['0201', /length 1 runs past the end/, (r) => r.readInteger()],
    ['0200', /integer of 0 octets/, (r) => r.readInteger()],
    ['020500000000 01', /integer of 5 octets/, (r) => r.readInteger()],
    ['0401 61', /expected tag 0x2, found 0x4/, (r) => r.readInteger()],
    ['', /expected a tag/, (r) => r.readOctetString()],
    ['1f01', /multi-byte tag/, (r) => r.readTag()],
    ['010200ff', /boolean must have one content octet/, (r) => r.readBoolean()],
  ];
  for (const [h, re, read] of cases) {
    assert.throws(
      () => read(new BerReader(bytes(h))),
      (e: unknown) => e instanceof BerError && re.test(e.message),
      h,
    );
  }
  const trailing = new BerReader(bytes('3003 020101 00')).readSequence();
  assert.equal(trailing.readInteger(), 1); // the sequence of 3 holds 020101 only; the 00 is outside
  assert.throws(() => trailing.readInteger(), /expected a tag, found the end/);
  const r = new BerReader(bytes('3006 020101 00'));
  assert.throws(() => r.readSequence(), /runs past/);
  const seq = new BerReader(bytes('3005 020101 0500')).readSequence();
  seq.readInteger();
  assert.throws(() => seq.expectEnd('thing'), /2 unexpected bytes after thing/);
});

test('toBuffer refuses an open sequence', () => {
  assert.throws(() => new BerWriter().startSequence().toBuffer(), /still open/);
  assert.throws(() => new BerWriter().endSequence(), /without startSequence/);
});
