import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanWriter } from '../../src/frame/index.js';

function recorder(): { writes: Buffer[]; sink: { write(b: Buffer): boolean } } {
  const writes: Buffer[] = [];
  return { writes, sink: { write: (b: Buffer) => writes.push(Buffer.from(b)) > 0 } };
}

test('contiguous frames of one chunk go out as one write; order is kept around other frames', () => {
  const chunk = Buffer.from('aaaabbbbccccdddd');
  const { writes, sink } = recorder();
  const w = new SpanWriter(sink);
  w.write(chunk.subarray(0, 4));
  w.write(chunk.subarray(4, 8));
  w.write(chunk.subarray(8, 12));
  assert.equal(writes.length, 0, 'nothing written before flush');
  w.writeNow(Buffer.from('LOCAL'));
  w.write(chunk.subarray(12, 16));
  w.flush();
  w.flush();
  assert.deepEqual(
    writes.map((b) => b.toString()),
    ['aaaabbbbcccc', 'LOCAL', 'dddd'],
  );
});

test('a dropped frame in the middle splits the span; a frame from another buffer starts a new one', () => {
  const chunk = Buffer.from('aaaabbbbcccc');
  const other = Buffer.from('xxxx');
  const { writes, sink } = recorder();
  const w = new SpanWriter(sink);
  w.write(chunk.subarray(0, 4));
  w.write(chunk.subarray(8, 12)); // bbbb was dropped by a filter
  w.write(other);
  w.flush();
  assert.deepEqual(
    writes.map((b) => b.toString()),
    ['aaaa', 'cccc', 'xxxx'],
  );
});
