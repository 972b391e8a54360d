// Backend responses are read into one reusable buffer and forwarded by reference: a client that reads
// slowly (so writes to it stay queued) must still get exactly the bytes the backend sent, in order.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { sleep } from '../helpers/run.js';
import { ADMIN_DN, ADMIN_PASSWORD, PEOPLE } from '../helpers/slapd.js';
import { startStack, type Stack } from './fixture.js';

let stack: Stack;

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
}
const int = (n: number, tag = 0x02): Buffer =>
  tlv(tag, n < 0x80 ? Buffer.from([n]) : Buffer.from([n >> 8, n & 0xff]));
const str = (s: string, tag = 0x04): Buffer => tlv(tag, Buffer.from(s));

/** Subtree searches for every entry (the binary jpegPhoto included), ids 2..count+1, pipelined. */
function searches(count: number): Buffer {
  const out: Buffer[] = [];
  for (let id = 2; id <= count + 1; id++)
    out.push(
      tlv(
        0x30,
        int(id),
        tlv(
          0x63,
          str(PEOPLE),
          int(2, 0x0a),
          int(0, 0x0a),
          int(0),
          int(0),
          tlv(0x01, Buffer.from([0])),
          str('objectClass', 0x87),
          tlv(0x30),
        ),
      ),
    );
  return Buffer.concat(out);
}

/** Sends the requests, reads with a pause after every chunk, returns everything until `count` SearchResultDone. */
async function slowExchange(port: number, count: number, pauseMs: number): Promise<Buffer> {
  const sock: Socket = await new Promise((ok, fail) => {
    const s = connect({ host: '127.0.0.1', port }, () => ok(s));
    s.once('error', fail);
  });
  sock.setNoDelay(true);
  // Bound first, so the limit is max_outstanding (1000), not the anonymous 100.
  const bind = tlv(0x30, int(1), tlv(0x60, int(3), str(ADMIN_DN), str(ADMIN_PASSWORD, 0x80)));
  await new Promise<void>((ok) => {
    sock.once('data', () => ok());
    sock.write(bind);
  });
  const chunks: Buffer[] = [];
  let total = 0;
  const done = new Promise<void>((ok, fail) => {
    sock.on('data', (c: Buffer) => {
      chunks.push(Buffer.from(c));
      total += c.length;
      const all = Buffer.concat(chunks);
      if (countDone(all) >= count) return ok();
      if (pauseMs > 0) {
        sock.pause();
        void sleep(pauseMs).then(() => sock.resume());
      }
    });
    sock.once('close', () => fail(new Error(`closed after ${total} bytes`)));
  });
  sock.write(searches(count));
  await done;
  sock.destroy();
  return Buffer.concat(chunks);
}

/** Frames per messageID, in arrival order (slapd runs pipelined operations in parallel threads). */
function byMessage(buf: Buffer): Map<number, string[]> {
  const out = new Map<number, string[]>();
  forEachFrame(buf, (frame, id) => {
    const list = out.get(id) ?? [];
    list.push(frame.toString('hex'));
    out.set(id, list);
  });
  return out;
}

function countDone(buf: Buffer): number {
  let n = 0;
  forEachFrame(buf, (_frame, _id, tag) => {
    if (tag === 0x65) n++;
  });
  return n;
}

function forEachFrame(buf: Buffer, use: (frame: Buffer, id: number, tag: number) => void): void {
  let p = 0;
  while (p + 2 <= buf.length) {
    const first = buf[p + 1]!;
    let head = 2;
    let len = first;
    if (first >= 0x80) {
      head = 2 + (first & 0x7f);
      if (p + head > buf.length) break;
      len = 0;
      for (let i = 2; i < head; i++) len = len * 256 + buf[p + i]!;
    }
    if (p + head + len > buf.length) break;
    const idLen = buf[p + head + 1]!;
    let id = 0;
    for (let i = 0; i < idLen; i++) id = id * 256 + buf[p + head + 2 + i]!;
    use(buf.subarray(p, p + head + len), id, buf[p + head + 2 + idLen]!);
    p += head + len;
  }
}

test('a slowly reading client gets byte for byte what the backend sends (shared read buffer)', async () => {
  // Several MB, more than the loopback socket buffers hold, so writes to the client stay queued.
  const count = 900;
  const direct = await slowExchange(Number(new URL(stack.slapd.url).port), count, 0);
  assert.equal(countDone(direct), count);
  assert.ok(direct.length > 200_000, `enough bytes to back up the client socket (${direct.length})`);
  const proxied = await slowExchange(Number(new URL(stack.proxy.url()).port), count, 10);
  assert.equal(proxied.length, direct.length);
  assert.deepEqual(byMessage(proxied), byMessage(direct), 'the same frames, in order per operation');
});
