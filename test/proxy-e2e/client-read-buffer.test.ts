// Plain client sockets read into one buffer per session, and requests are forwarded as views of it. A read
// must never overwrite bytes still queued for the backend: with slapd stopped, megabytes of pipelined
// requests fill the kernel buffers, the proxy's backend writes queue up, and every request must still
// reach slapd intact once it runs again.
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { readIntoBuffer } from '../../src/session/user-read-buffer.js';
import { sleep, waitFor } from '../helpers/run.js';
import { ADMIN_DN, ADMIN_PASSWORD, PEOPLE, USER_COUNT } from '../helpers/slapd.js';
import { startStack, type Stack } from './fixture.js';
import { RawClient, bindRequest, message, tlv } from './raw-ldap.js';

let stack: Stack;

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

const octets = (tag: number, s: string | Buffer): Buffer => tlv(tag, Buffer.isBuffer(s) ? s : Buffer.from(s));
const enumerated = (n: number): Buffer => Buffer.from([0x0a, 0x01, n]);
const integer0 = Buffer.from([0x02, 0x01, 0x00]);

/** (&(uid=<uid>)(!(description=<padding>))): matches the user, and is `padding` bytes long. */
function paddedSearch(id: number, uid: string, padding: number): Buffer {
  const equality = (attr: string, value: string | Buffer): Buffer =>
    tlv(0xa3, Buffer.concat([octets(0x04, attr), octets(0x04, value)]));
  const filter = tlv(
    0xa0,
    Buffer.concat([
      equality('uid', uid),
      tlv(0xa2, equality('description', Buffer.alloc(padding, 0x61 + (id % 26)))),
    ]),
  );
  const body = Buffer.concat([
    octets(0x04, PEOPLE),
    enumerated(2),
    enumerated(0),
    integer0,
    integer0,
    Buffer.from([0x01, 0x01, 0x00]),
    filter,
    tlv(0x30, octets(0x04, 'uid')),
  ]);
  return message(id, tlv(0x63, body));
}

test('an accepted socket reads into the given buffer; false stops reading until resume()', async () => {
  const received: Buffer[] = [];
  let accepted: Socket | undefined;
  let stopAfterFirst = true;
  let adopted = false;
  const server = createServer((s) => {
    accepted = s;
    adopted = readIntoBuffer(s, Buffer.alloc(4096), (n, buf) => {
      received.push(Buffer.from(buf.subarray(0, n)));
      return !stopAfterFirst;
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  try {
    await new Promise<void>((ok) => client.once('connect', ok));
    await waitFor(() => accepted !== undefined, 5000, 'the accepted socket');
    assert.equal(adopted, true, 'Node 20 lets an accepted socket read into a user buffer');
    client.write('first');
    await waitFor(() => received.length === 1, 5000, 'the first read');
    assert.equal(received[0]!.toString(), 'first');
    client.write('second');
    await sleep(200);
    assert.equal(received.length, 1, 'no read after the callback returned false');
    stopAfterFirst = false;
    accepted!.resume();
    // 1 MiB in writes larger than the 4 KiB buffer: every byte arrives, in order.
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    client.write(big);
    const expected = Buffer.concat([Buffer.from('second'), big]);
    await waitFor(
      () => received.reduce((n, b) => n + b.length, 0) >= 5 + expected.length,
      10_000,
      'all bytes',
    );
    assert.ok(Buffer.concat(received.slice(1)).equals(expected));
  } finally {
    client.destroy();
    accepted?.destroy();
    await new Promise((ok) => server.close(ok));
  }
});

test('requests queued behind a stopped backend reach it intact (no read overwrites them)', async () => {
  const client = await RawClient.open(stack.proxy.port());
  const COUNT = 700;
  const PADDING = 20_000;
  try {
    client.write(bindRequest(1, ADMIN_DN, ADMIN_PASSWORD));
    assert.equal((await client.next())?.resultCode, 0);
    stack.slapd.proc!.kill('SIGSTOP');
    try {
      // 14 MB: more than slapd's receive buffer and the proxy's send buffer together.
      for (let id = 2; id < COUNT + 2; id++)
        client.write(paddedSearch(id, `user${id % USER_COUNT}`, PADDING));
      await sleep(1500);
    } finally {
      stack.slapd.proc!.kill('SIGCONT');
    }
    const entries = new Map<number, Buffer>();
    const done = new Map<number, number | undefined>();
    while (done.size < COUNT) {
      const m = await client.next(30_000);
      assert.ok(m, `the proxy closed the connection after ${done.size} results`);
      if (m.opTag === 0x64) entries.set(m.id, m.raw);
      else if (m.opTag === 0x65) done.set(m.id, m.resultCode);
      else assert.fail(`unexpected response tag 0x${m.opTag.toString(16)} for message ${m.id}`);
    }
    for (let id = 2; id < COUNT + 2; id++) {
      assert.equal(done.get(id), 0, `search ${id} succeeded`);
      const entry = entries.get(id);
      assert.ok(
        entry?.includes(Buffer.from(`uid=user${id % USER_COUNT},${PEOPLE}`)),
        `search ${id} found its user`,
      );
    }
  } finally {
    if (stack.slapd.proc) stack.slapd.proc.kill('SIGCONT');
    client.socket.destroy();
  }
});
