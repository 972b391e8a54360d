// Read buffers are recycled between connections (src/frame/read-buffers.ts). Under churn, with pipelined
// bind + search in one write and clients that vanish in the middle of a large result, every
// client still gets exactly its own answers, and buffers are in fact reused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readBufferCounts } from '../../src/frame/index.js';
import {
  ProtocolOp,
  decodeBindResponse,
  decodeResultResponse,
  decodeSearchResultEntry,
  encodeBindRequest,
  encodeMessage,
} from '../../src/ldap/index.js';
import type { ProxyServer } from '../../src/server/index.js';
import { PEOPLE, SUFFIX, USER_COUNT, startSlapd } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { startInProcessProxy } from './in-process-proxy.js';
import { WireClient, searchRequest } from './ldap-wire.js';

let slapd: Slapd;
let proxy: ProxyServer;
let port: number;

before(async () => {
  slapd = await startSlapd();
  ({ proxy, port } = await startInProcessProxy(slapd.url));
});

after(async () => {
  await proxy?.shutdown(0);
  await slapd?.destroy();
});

const UNBIND = Buffer.from([ProtocolOp.unbindRequest, 0]);

/** Bind as user i and read its own entry (one write), then unbind. Returns the DN read. */
async function ownEntry(i: number): Promise<string> {
  const dn = `uid=user${i},${PEOPLE}`;
  const c = await WireClient.open(port);
  try {
    c.write(
      Buffer.concat([
        encodeBindRequest({
          messageId: 1,
          version: 3,
          name: dn,
          authentication: { kind: 'simple', password: Buffer.from(`pass${i}`) },
        }),
        searchRequest(2, dn, 0),
      ]),
    );
    const frames = await c.until(2, ProtocolOp.searchResDone);
    assert.equal(decodeBindResponse(frames[0]!.frame).resultCode, 0);
    const entries = frames.filter((f) => f.opTag === ProtocolOp.searchResEntry);
    assert.equal(entries.length, 1);
    assert.equal(decodeResultResponse(frames[frames.length - 1]!.frame).resultCode, 0);
    c.write(encodeMessage(3, UNBIND));
    await c.waitClosed();
    return decodeSearchResultEntry(entries[0]!.frame).objectName;
  } finally {
    c.destroy();
  }
}

/** Starts a search of the whole tree and disappears after the first response frame. */
async function vanishMidResult(): Promise<void> {
  const c = await WireClient.open(port);
  c.write(searchRequest(1, SUFFIX, 2));
  await c.next();
  c.destroy();
}

test('read buffers are reused across connections and never mix their bytes', async () => {
  const before = readBufferCounts();
  for (let round = 0; round < 8; round++) {
    const users = Array.from({ length: 20 }, (_, k) => (round * 20 + k) % USER_COUNT);
    const [dns] = await Promise.all([
      Promise.all(users.map((i) => ownEntry(i))),
      Promise.all(Array.from({ length: 5 }, () => vanishMidResult())),
    ]);
    assert.deepEqual(
      dns.map((dn) => dn.toLowerCase()),
      users.map((i) => `uid=user${i},${PEOPLE}`.toLowerCase()),
    );
  }
  const after = readBufferCounts();
  assert.ok(after.reused > before.reused, `no buffer was reused: ${JSON.stringify(after)}`);
  // 200 sessions, two buffers each: reuse keeps the number allocated well below 400.
  assert.ok(after.allocated - before.allocated < 200, `allocated ${after.allocated - before.allocated}`);
});
