// Byte-level pass-through: the same request bytes sent to slapd and to the proxy give the same response bytes,
// whether the PDUs arrive one byte per segment or many PDUs in one segment.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_DN, ADMIN_PASSWORD, PEOPLE, SUFFIX } from '../helpers/slapd.js';
import { sleep } from '../helpers/run.js';
import { startStack } from './fixture.js';
import type { Stack } from './fixture.js';
import {
  RawClient,
  bindRequest,
  extendedRequest,
  message,
  searchRequest,
  tlv,
  unbindRequest,
} from './raw-ldap.js';
import type { Envelope } from './raw-ldap.js';

let stack: Stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

type Send = (c: RawClient, bytes: Buffer) => Promise<void>;
const whole: Send = (c, b) => {
  c.write(b);
  return Promise.resolve();
};
const bytewise: Send = async (c, b) => {
  for (let i = 0; i < b.length; i++) {
    c.write(b.subarray(i, i + 1));
    if (i % 8 === 0) await sleep(1);
  }
};

/** Sends each stage of requests to one port, collecting counts[i] responses after stage i. */
async function exchange(
  port: number,
  stages: Buffer[],
  counts: number[],
  send: Send = whole,
): Promise<Envelope[]> {
  const c = await RawClient.open(port);
  try {
    const out: Envelope[] = [];
    for (const [i, stage] of stages.entries()) {
      await send(c, stage);
      for (let k = 0; k < (counts[i] ?? 0); k++) {
        const m = await c.next();
        assert.ok(m, `connection closed after ${out.length} responses`);
        out.push(m);
      }
    }
    return out;
  } finally {
    c.destroy();
  }
}

/** Response bytes grouped by message ID: slapd may answer pipelined operations in any order. */
function byMessageId(ms: Envelope[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const m of ms) out.set(m.id, [...(out.get(m.id) ?? []), m.raw.toString('hex')]);
  return new Map([...out.entries()].sort((a, b) => a[0] - b[0]));
}

async function assertSameBytes(
  requests: Buffer | Buffer[],
  count: number | number[],
  send: Send = whole,
): Promise<Envelope[]> {
  const stages = Array.isArray(requests) ? requests : [requests];
  const counts = Array.isArray(count) ? count : [count];
  const direct = await exchange(stack.slapd.port, stages, counts);
  const proxied = await exchange(stack.proxy.port(), stages, counts, send);
  assert.deepEqual(byMessageId(proxied), byMessageId(direct));
  return direct;
}

test('anonymous bind response bytes are identical', async () => {
  const [m] = await assertSameBytes(bindRequest(1), 1);
  assert.equal(m?.resultCode, 0);
});

test('simple bind with wrong password: identical invalidCredentials bytes', async () => {
  const [m] = await assertSameBytes(bindRequest(3, `uid=user1,${PEOPLE}`, 'nope'), 1);
  assert.equal(m?.resultCode, 49);
});

test('search response frames are identical, message IDs kept', async () => {
  const ms = await assertSameBytes(searchRequest(5, PEOPLE, 2, ['uid', 'user1']), 2);
  assert.deepEqual(
    ms.map((m) => [m.id, m.opTag]),
    [
      [5, 0x64],
      [5, 0x65],
    ],
  );
});

test('the largest message ID (2^31-1) passes through unchanged', async () => {
  const [m] = await assertSameBytes(bindRequest(0x7fffffff), 1);
  assert.equal(m?.id, 0x7fffffff);
});

test('unknown extended operation with a binary value: identical response bytes', async () => {
  const [m] = await assertSameBytes(
    extendedRequest(4, '1.3.6.1.4.1.99999.1', Buffer.from([0, 0xff, 0x30, 0x84])),
    1,
  );
  assert.equal(m?.opTag, 0x78);
  assert.equal(m?.resultCode, 2);
});

test('WhoAmI extended operation: identical response bytes', async () => {
  const [m] = await assertSameBytes(extendedRequest(2, '1.3.6.1.4.1.4203.1.11.3'), 1);
  assert.equal(m?.resultCode, 0);
});

test('many PDUs in one segment give the same response sequence', async () => {
  const reqs = Buffer.concat([
    bindRequest(1, `uid=user5,${PEOPLE}`, 'pass5'),
    searchRequest(2, PEOPLE, 1, ['uid', 'user5']),
    searchRequest(3, SUFFIX, 0),
    extendedRequest(4, '1.3.6.1.4.1.4203.1.11.3'),
    searchRequest(5, `ou=none,${SUFFIX}`, 0),
  ]);
  const ms = await assertSameBytes(reqs, 7);
  assert.deepEqual(ms.map((m) => m.id).sort(), [1, 2, 2, 3, 3, 4, 5]);
});

test('PDUs split into one-byte segments give the same responses', async () => {
  const reqs = Buffer.concat([bindRequest(1), searchRequest(2, PEOPLE, 2, ['uid', 'photo'])]);
  const ms = await assertSameBytes(reqs, 3, bytewise);
  assert.equal(ms[1]?.opTag, 0x64);
});

test('a search request carrying a control passes with the control intact', async () => {
  // manageDsaIT (2.16.840.1.113730.3.4.2), critical; slapd echoes the effect, not the control
  const control = tlv(
    0x30,
    Buffer.concat([tlv(0x04, Buffer.from('2.16.840.1.113730.3.4.2')), Buffer.from([0x01, 0x01, 0xff])]),
  );
  const plain = searchRequest(6, PEOPLE, 0);
  const body = plain.subarray(2); // messageID + protocolOp (short-form length)
  const withControl = tlv(0x30, Buffer.concat([body, tlv(0xa0, control)]));
  const ms = await assertSameBytes(withControl, 2);
  assert.equal(ms[1]?.resultCode, 0);
});

test('an unknown critical control gets the same unavailableCriticalExtension', async () => {
  const control = tlv(
    0x30,
    Buffer.concat([tlv(0x04, Buffer.from('1.2.3.4.5.6.7')), Buffer.from([0x01, 0x01, 0xff])]),
  );
  const body = searchRequest(8, PEOPLE, 0).subarray(2);
  const ms = await assertSameBytes(tlv(0x30, Buffer.concat([body, tlv(0xa0, control)])), 1);
  assert.equal(ms[0]?.resultCode, 12);
});

test('unbind closes the connection from the server side', async () => {
  const c = await RawClient.open(stack.proxy.port());
  try {
    c.write(bindRequest(1));
    assert.equal((await c.next())?.resultCode, 0);
    c.write(unbindRequest(2));
    assert.equal(await c.next(), undefined);
    await c.waitClosed();
  } finally {
    c.destroy();
  }
});

test('a modify request with a large value (1 MiB) after bind passes through', async () => {
  const value = Buffer.alloc(1 << 20, 0x61);
  const change = tlv(
    0x30,
    Buffer.concat([
      Buffer.from([0x0a, 0x01, 0x02]), // replace
      tlv(0x30, Buffer.concat([tlv(0x04, Buffer.from('description')), tlv(0x31, tlv(0x04, value))])),
    ]),
  );
  const modify = (id: number) =>
    message(
      id,
      tlv(0x66, Buffer.concat([tlv(0x04, Buffer.from(`uid=user30,${PEOPLE}`)), tlv(0x30, change)])),
    );
  // after the bind has completed: slapd's own pre-bind limit is 262143 bytes
  const ms = await assertSameBytes([bindRequest(1, ADMIN_DN, ADMIN_PASSWORD), modify(2)], [1, 1]);
  assert.equal(ms[1]?.resultCode, 0);
});

test('the proxy is still running after the wire tests', () => {
  assert.ok(stack.proxy.alive, stack.proxy.stderr);
});
