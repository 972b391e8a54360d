// Hostile and broken clients never take the proxy down: garbage, length bombs, bad length-of-length and
// slow drips get protocolError in a Notice of Disconnection (or just wait), and other clients keep working.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PEOPLE } from '../helpers/slapd.js';
import { sleep } from '../helpers/run.js';
import { ldapTool, startStack } from './fixture.js';
import type { Stack } from './fixture.js';
import { NOTICE_OF_DISCONNECTION, RawClient, bindRequest, searchRequest } from './raw-ldap.js';

let stack: Stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

async function othersStillServed(): Promise<void> {
  const r = await ldapTool('ldapsearch', stack.proxy.url(), [
    '-x',
    '-LLL',
    '-b',
    PEOPLE,
    '(uid=user2)',
    'uid',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^uid: user2$/m);
  assert.ok(stack.proxy.alive, stack.proxy.stderr);
}

/** Sends bytes on a fresh connection and expects a protocolError notice, then the close. */
async function expectProtocolErrorNotice(bytes: Buffer, bindFirst = false): Promise<void> {
  const c = await RawClient.open(stack.proxy.port());
  try {
    if (bindFirst) {
      c.write(bindRequest(1));
      assert.equal((await c.next())?.resultCode, 0);
    }
    c.write(bytes);
    const m = await c.next(15_000);
    assert.ok(m, 'closed without a Notice of Disconnection');
    assert.deepEqual([m.id, m.opTag, m.responseName, m.resultCode], [0, 0x78, NOTICE_OF_DISCONNECTION, 2]);
    await c.waitClosed(15_000);
  } finally {
    c.destroy();
  }
}

test('random garbage gets protocolError and a close', async () => {
  const junk = randomBytes(64);
  junk[0] = 0xff;
  await expectProtocolErrorNotice(junk);
  await othersStillServed();
});

test('an HTTP request on the LDAP port gets protocolError and a close', async () => {
  await expectProtocolErrorNotice(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  await othersStillServed();
});

test('length bomb 30 84 7f ff ff ff is refused at once', async () => {
  await expectProtocolErrorNotice(Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]));
  await othersStillServed();
});

test('length bomb after a successful bind is refused too', async () => {
  await expectProtocolErrorNotice(Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]), true);
  await othersStillServed();
});

test('length-of-length 5 (30 85 ...) is refused', async () => {
  await expectProtocolErrorNotice(Buffer.from([0x30, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00]));
  await othersStillServed();
});

test('indefinite length (30 80) is refused', async () => {
  await expectProtocolErrorNotice(Buffer.from([0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00]));
  await othersStillServed();
});

test('a PDU one byte over the pre-bind limit (262144) is refused before its body arrives', async () => {
  await expectProtocolErrorNotice(Buffer.from([0x30, 0x83, 0x04, 0x00, 0x00, 0x02, 0x01, 0x01]));
  await othersStillServed();
});

test('a PDU over the post-bind limit (4194304) is refused', async () => {
  await expectProtocolErrorNotice(Buffer.from([0x30, 0x83, 0x40, 0x00, 0x00, 0x02, 0x01, 0x01]), true);
  await othersStillServed();
});

test('garbage after a valid bind on the same connection is refused', async () => {
  await expectProtocolErrorNotice(Buffer.from([0x04, 0x02, 0x41, 0x41]), true);
  await othersStillServed();
});

test('a client sending one byte per second is answered once its PDU is complete, others meanwhile served', async () => {
  const c = await RawClient.open(stack.proxy.port());
  try {
    const pdu = bindRequest(9);
    for (let i = 0; i < 4; i++) {
      c.write(pdu.subarray(i, i + 1));
      await sleep(1000);
      if (i === 1) await othersStillServed();
    }
    c.write(pdu.subarray(4));
    const m = await c.next();
    assert.deepEqual([m?.id, m?.opTag, m?.resultCode], [9, 0x61, 0]);
  } finally {
    c.destroy();
  }
  await othersStillServed();
});

test('a client that hangs up mid-PDU does not disturb the proxy', async () => {
  for (let i = 0; i < 20; i++) {
    const c = await RawClient.open(stack.proxy.port());
    c.write(searchRequest(1, PEOPLE, 2).subarray(0, 10 + i));
    c.destroy();
  }
  await othersStillServed();
});

test('a hundred garbage connections at once leave the proxy serving', async () => {
  const clients = await Promise.all(Array.from({ length: 100 }, () => RawClient.open(stack.proxy.port())));
  for (const [i, c] of clients.entries()) {
    const b = randomBytes(32 + i);
    if (b[0] === 0x30) b[0] = 0x31;
    c.write(b);
  }
  await Promise.all(clients.map((c) => c.waitClosed(20_000)));
  await othersStillServed();
});

test('random byte strings starting like a message never crash the proxy', async () => {
  for (let i = 0; i < 30; i++) {
    const c = await RawClient.open(stack.proxy.port());
    const b = Buffer.concat([Buffer.from([0x30]), randomBytes(1 + (i % 6)), randomBytes(40)]);
    c.write(b);
    // no assertion on what it gets: some of these are valid prefixes; the proxy just must not die
    await sleep(20);
    c.destroy();
  }
  await othersStillServed();
});
