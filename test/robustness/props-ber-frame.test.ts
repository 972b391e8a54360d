// Property tests for the BER reader and the streaming FrameReader: on random and mutated input they throw
// only their own error types, never read outside the element they were given, never allocate or retain
// more than the configured PDU limit, and frame a byte stream the same way however it is chunked.
// Input sizes and run counts are bounded so each property finishes in well under a second.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BerError, BerReader } from '../../src/ber/index.js';
import { FrameError, FrameReader } from '../../src/frame/index.js';
import { loadCorpora } from '../helpers/corpora.js';
import { mutate, tapeRand } from './mutate.js';
import { seedPdus } from './pdus.js';

const corpora = loadCorpora();
const SEEDS = seedPdus();
const POOL = [...SEEDS, ...corpora.cases.filter((c) => c.bytes.length <= 4096).map((c) => c.bytes)];

/** Random bytes, mutated seed PDUs and corpus files, in one arbitrary. */
const berInput = fc.oneof(
  fc.uint8Array({ maxLength: 512, size: 'max' }).map((a) => Buffer.from(a)),
  fc
    .tuple(fc.nat(POOL.length - 1), fc.array(fc.nat(), { minLength: 1, maxLength: 24, size: 'max' }))
    .map(([i, tape]) => mutate(POOL[i] as Buffer, tapeRand(tape), POOL)),
  fc.constantFrom(...POOL),
);

/** Walks every element it can, reading each primitive in every way LDAP code reads one. */
function walk(r: BerReader, depth: number, inner: { start: number; end: number }): void {
  while (!r.atEnd()) {
    const tag = r.peekTag();
    if (tag & 0x20 && depth < 40) {
      const sub = r.readSequence(tag);
      walk(sub, depth + 1, { start: sub.offset, end: sub.offset + sub.remaining });
      continue;
    }
    const at = r.offset;
    const view = r.readElement();
    assert.ok(view.byteOffset >= r.buffer.byteOffset + inner.start, 'element starts before its container');
    assert.ok(view.byteOffset + view.length <= r.buffer.byteOffset + inner.end, 'element runs past its end');
    // Re-read the same element as each primitive type; each must fail with BerError or stay inside.
    for (const read of [
      (x: BerReader) => x.readInteger(tag),
      (x: BerReader) => x.readBoolean(tag),
      (x: BerReader) => x.readOctetString(tag).length,
      (x: BerReader) => x.readString(tag),
    ]) {
      try {
        read(new BerReader(r.buffer, at, inner.end));
      } catch (e) {
        if (!(e instanceof BerError)) throw e;
      }
    }
  }
}

test(`BerReader: only BerError, never a read outside the element (${corpora.summary})`, () => {
  fc.assert(
    fc.property(berInput, fc.nat(8), fc.nat(8), (input, padBefore, padAfter) => {
      // The input sits inside a larger buffer filled with 0x30 so an overrun would parse, not fail.
      const host = Buffer.alloc(padBefore + input.length + padAfter, 0x30);
      input.copy(host, padBefore);
      const end = padBefore + input.length;
      try {
        walk(new BerReader(host, padBefore, end), 0, { start: padBefore, end });
      } catch (e) {
        if (!(e instanceof BerError)) throw e;
      }
    }),
    { numRuns: 3000 },
  );
});

/** Collects the outcome of framing `stream` cut at `cuts`: frames (hex), then the error reason if any. */
function frameAll(
  stream: Buffer,
  cuts: readonly number[],
  limit: number,
): { frames: string[]; error?: string; maxRetained: number } {
  const reader = new FrameReader(limit);
  const frames: string[] = [];
  let maxRetained = 0;
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  points.push(stream.length);
  let from = 0;
  try {
    for (const to of points) {
      if (to <= from) continue;
      reader.push(stream.subarray(from, to));
      from = to;
      while (reader.next()) {
        assert.ok(reader.frame.length <= limit, `frame of ${reader.frame.length} over ${limit}`);
        assert.equal(reader.frame[0], 0x30);
        frames.push(`${reader.messageId}/${reader.opTag}/${reader.frame.toString('hex')}`);
      }
      // After next() returned false the chunk is released: what is left is the reader's own buffer.
      maxRetained = Math.max(maxRetained, reader.retainedBytes);
      assert.ok(reader.retainedBytes <= limit, `retains ${reader.retainedBytes} bytes over limit ${limit}`);
    }
  } catch (e) {
    if (!(e instanceof FrameError)) throw e;
    return { frames, error: e.reason, maxRetained };
  }
  return { frames, maxRetained };
}

/** Runs `body` with Buffer.allocUnsafe/alloc recording the largest size asked for. */
function withAllocSpy<T>(body: () => T): { result: T; largest: number } {
  const origUnsafe = Reflect.get(Buffer, 'allocUnsafe') as (size: number) => Buffer;
  const origAlloc = Reflect.get(Buffer, 'alloc') as (size: number, fill?: unknown, enc?: unknown) => Buffer;
  let largest = 0;
  Reflect.set(Buffer, 'allocUnsafe', (size: number) => {
    largest = Math.max(largest, size);
    return origUnsafe(size);
  });
  Reflect.set(Buffer, 'alloc', (size: number, fill?: unknown, enc?: unknown) => {
    largest = Math.max(largest, size);
    return origAlloc(size, fill, enc);
  });
  try {
    return { result: body(), largest };
  } finally {
    Reflect.set(Buffer, 'allocUnsafe', origUnsafe);
    Reflect.set(Buffer, 'alloc', origAlloc);
  }
}

/** A stream of several PDUs (seed, mutated, random, length bombs) concatenated. */
const stream = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...SEEDS) },
      { weight: 3, arbitrary: berInput },
      {
        weight: 1,
        // a header claiming a huge or just-over-limit body, followed by a little data
        arbitrary: fc
          .tuple(fc.integer({ min: 1, max: 4 }), fc.nat(), fc.uint8Array({ maxLength: 16 }))
          .map(([n, len, tail]) => {
            const head = Buffer.alloc(2 + n);
            head[0] = 0x30;
            head[1] = 0x80 | n;
            head.writeUIntBE(len % 2 ** (8 * n), 2, n);
            return Buffer.concat([head, tail]);
          }),
      },
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((parts) => Buffer.concat(parts));

test('FrameReader: only FrameError, never allocates or retains more than the PDU limit', () => {
  fc.assert(
    fc.property(
      stream,
      fc.array(fc.nat(), { maxLength: 12 }),
      fc.integer({ min: 64, max: 2048 }),
      (bytes, cuts, limit) => {
        const { largest } = withAllocSpy(() => frameAll(bytes, cuts, limit));
        assert.ok(largest <= limit, `allocated ${largest} bytes with a limit of ${limit}`);
      },
    ),
    { numRuns: 3000 },
  );
});

test('FrameReader: the frames and the error are the same however the stream is chunked', () => {
  fc.assert(
    fc.property(stream, fc.array(fc.nat(), { maxLength: 20 }), (bytes, cuts) => {
      const whole = frameAll(bytes, [], 4096);
      const split = frameAll(bytes, cuts, 4096);
      assert.deepEqual(split.frames, whole.frames);
      assert.equal(split.error, whole.error);
    }),
    { numRuns: 2000 },
  );
});

test('FrameReader: byte-at-a-time delivery of well-formed PDUs gives them back exactly', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...SEEDS), { minLength: 1, maxLength: 8 }), (pdus) => {
      const bytes = Buffer.concat(pdus);
      const cuts = Array.from({ length: bytes.length }, (_, i) => i);
      const out = frameAll(bytes, cuts, 4096);
      assert.equal(out.error, undefined);
      assert.deepEqual(
        out.frames.map((f) => f.split('/')[2]),
        pdus.map((p) => p.toString('hex')),
      );
    }),
    { numRuns: 200 },
  );
});

test('FrameReader: a length bomb is refused from its header, before any body buffer exists', () => {
  for (const header of [
    [0x30, 0x84, 0x7f, 0xff, 0xff, 0xff],
    [0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
    [0x30, 0x83, 0x04, 0x00, 0x00],
  ]) {
    const reader = new FrameReader(262143);
    const { result, largest } = withAllocSpy(() => {
      try {
        reader.push(Buffer.from(header));
        reader.next();
        return 'accepted';
      } catch (e) {
        return e instanceof FrameError ? e.reason : 'other';
      }
    });
    assert.equal(result, 'tooLarge', Buffer.from(header).toString('hex'));
    assert.equal(largest, 0);
  }
  const reader = new FrameReader(262143);
  reader.push(Buffer.from([0x30, 0x85, 0, 0, 0, 0, 1]));
  assert.throws(
    () => reader.next(),
    (e: unknown) => e instanceof FrameError && e.reason === 'lengthOfLength',
  );
});
