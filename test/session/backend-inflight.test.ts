// --max-backend-inflight: a connection's pipelined operations go to the backend at most N at a time, the
// rest wait in order in the proxy. Counted on the wire between the proxy and a real slapd (fault proxy in
// between), so what is checked is what the backend saw.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FaultProxy, type Direction } from '../helpers/fault-proxy.js';
import { startProxy, type ProxyProcess } from '../helpers/proxy.js';
import { sleep, waitFor } from '../helpers/run.js';
import { PEOPLE, USER_COUNT, startSlapd, type Slapd } from '../helpers/slapd.js';
import { RawClient, message, searchRequest } from '../proxy-e2e/raw-ldap.js';
import { splitMessages, type Message } from '../robustness/ldap-wire.js';

const CAP = 4;
let slapd: Slapd;

before(async () => {
  slapd = await startSlapd();
});
after(async () => {
  await slapd?.destroy();
});

/** What crossed the fault proxy: request IDs sent up, and the peak of requests without a final answer. */
class WireCount {
  readonly sent: number[] = [];
  peakInFlight = 0;
  private answered = 0;
  private readonly rest: Record<Direction, Buffer> = { up: Buffer.alloc(0), down: Buffer.alloc(0) };

  constructor(fp: FaultProxy) {
    fp.onChunk((dir, chunk) => {
      const { messages, rest } = splitMessages(Buffer.concat([this.rest[dir], chunk]));
      this.rest[dir] = rest;
      for (const m of messages) this.count(dir, m);
    });
  }

  private count(dir: Direction, m: Message): void {
    if (dir === 'up' && m.opTag === 0x63) this.sent.push(m.id);
    if (dir === 'down' && m.opTag === 0x65) this.answered++;
    this.peakInFlight = Math.max(this.peakInFlight, this.sent.length - this.answered);
  }
}

async function stack(
  cap: number,
  extraArgs: string[] = [],
): Promise<{ proxy: ProxyProcess; fp: FaultProxy; wire: WireCount }> {
  const fp = await FaultProxy.start({ port: slapd.port });
  const wire = new WireCount(fp);
  const proxy = await startProxy({
    backends: [fp.url],
    extraArgs: ['--max-backend-inflight', String(cap), '--log-level', 'error', ...extraArgs],
  });
  return { proxy, fp, wire };
}

const search = (id: number): Buffer => searchRequest(id, PEOPLE, 2, ['uid', `user${id % USER_COUNT}`]);

/** Final results by message ID, until `count` arrived. */
async function results(client: RawClient, count: number): Promise<Map<number, number | undefined>> {
  const done = new Map<number, number | undefined>();
  while (done.size < count) {
    const m = await client.next(15_000);
    assert.ok(m, `connection closed after ${done.size} results`);
    if (m.opTag === 0x65) done.set(m.id, m.resultCode);
  }
  return done;
}

test(`60 pipelined searches reach the backend at most ${CAP} at a time, and all are answered`, async () => {
  for (const cap of [CAP, 0]) {
    const { proxy, fp, wire } = await stack(cap);
    const client = await RawClient.open(proxy.port());
    try {
      const ids = Array.from({ length: 60 }, (_, i) => i + 1);
      client.write(Buffer.concat(ids.map(search)));
      const done = await results(client, ids.length);
      assert.deepEqual(
        [...done.values()].filter((c) => c !== 0),
        [],
        'every search succeeded',
      );
      assert.deepEqual(wire.sent, ids, 'the backend got every request once, in order');
      if (cap > 0)
        assert.equal(wire.peakInFlight, cap, `at most ${cap} at the backend, and pipelined up to it`);
      else assert.ok(wire.peakInFlight > CAP, `no cap: ${wire.peakInFlight} at the backend at once`);
    } finally {
      client.socket.destroy();
      await proxy.stop();
      await fp.stop();
    }
  }
});

test('an abandoned request that is still held never reaches the backend; the others are answered', async () => {
  const { proxy, fp, wire } = await stack(CAP);
  const client = await RawClient.open(proxy.port());
  try {
    fp.set({ hold: true }, 'down'); // the backend's answers wait: the first CAP stay in flight
    const ids = Array.from({ length: 10 }, (_, i) => i + 2);
    client.write(Buffer.concat(ids.map(search)));
    await waitFor(() => wire.sent.length === CAP, 5000, 'the first requests at the backend');
    const abandoned = 8;
    client.write(message(20, Buffer.from([0x50, 0x01, abandoned])));
    await sleep(100);
    fp.set({ hold: false }, 'down');
    const done = await results(client, ids.length - 1);
    assert.equal(done.has(abandoned), false);
    assert.deepEqual(
      [...done.values()].filter((c) => c !== 0),
      [],
    );
    await sleep(200);
    assert.equal(wire.sent.includes(abandoned), false, `sent to the backend: ${wire.sent.join(',')}`);
    assert.deepEqual(
      wire.sent,
      ids.filter((id) => id !== abandoned),
    );
  } finally {
    client.socket.destroy();
    await proxy.stop();
    await fp.stop();
  }
});

test('past the outstanding limit the connection is not read: at most the limit at the backend, all answered', async () => {
  // No in-flight cap, so the outstanding limit alone bounds what reaches the backend.
  const { proxy, fp, wire } = await stack(0, ['--max-outstanding-anonymous', '10']);
  const client = await RawClient.open(proxy.port());
  try {
    const ids = Array.from({ length: 120 }, (_, i) => i + 1);
    client.write(Buffer.concat(ids.map(search)));
    const done = await results(client, ids.length);
    assert.deepEqual(
      [...done.values()].filter((c) => c !== 0),
      [],
      'none refused',
    );
    assert.deepEqual(wire.sent, ids);
    assert.equal(wire.peakInFlight, 10, 'the backend never had more than the limit, and had that many');
  } finally {
    client.socket.destroy();
    await proxy.stop();
    await fp.stop();
  }
});
