// A recycled read buffer must not go to another session while a socket of its old session can still write
// views of it. A client with a 4 KiB receive buffer stops reading a 6 MB result, so forwarded entries (views
// of the backend link's read buffer) back up in the proxy; the client then sends garbage, the session ends
// (its backend connection at once), and other sessions churn through the buffer pool. When the client
// finally reads, every entry it gets must still be its own.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FrameReader, readBufferCounts } from '../../src/frame/index.js';
import { ProtocolOp, decodeSearchResultEntry } from '../../src/ldap/index.js';
import type { ProxyServer } from '../../src/server/index.js';
import { sleep } from '../helpers/run.js';
import { SUFFIX, startSlapd } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { startInProcessProxy } from './in-process-proxy.js';
import { WireClient, searchRequest } from './ldap-wire.js';

const STALLED_READER = fileURLToPath(new URL('./stalled-reader.py', import.meta.url));
/** Entries under ou=A (about 6 MB), small enough that a 64 KiB read carries dozens of whole frames. */
const ENTRIES = 4000;
const SMALL = 1500;
const CHURN_ENTRIES = 20;
const OWN_DESCRIPTION = Buffer.alloc(SMALL, 'a');
const BIG = 30_000;

function subtree(ou: string, fill: string, count: number, size: number): string {
  const entries = [`dn: ou=${ou},${SUFFIX}\nobjectClass: organizationalUnit\nou: ${ou}\n`];
  for (let i = 0; i < count; i++)
    entries.push(
      `dn: cn=${ou}${i},ou=${ou},${SUFFIX}\nobjectClass: organizationalRole\ncn: ${ou}${i}\n` +
        `description: ${fill.repeat(size)}\n`,
    );
  return entries.join('\n');
}

let slapd: Slapd;
let proxy: ProxyServer;
let port: number;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shrtok-release-'));
  slapd = await startSlapd({
    sizeLimit: ENTRIES * 2,
    extraLdif: `${subtree('A', 'a', ENTRIES, SMALL)}\n${subtree('B', 'b', CHURN_ENTRIES, BIG)}`,
  });
  ({ proxy, port } = await startInProcessProxy(slapd.url));
});

after(async () => {
  await proxy?.shutdown(0);
  await slapd?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A 60 KB request (fills the session's client buffer) and a subtree search (fills its link buffer) in one
 * write; returns how many entries the search got. slapd may answer the two in either order.
 */
async function churn(): Promise<number> {
  const c = await WireClient.open(port);
  try {
    c.write(
      Buffer.concat([
        searchRequest(1, `cn=${'b'.repeat(60_000)},${SUFFIX}`, 0),
        searchRequest(2, `ou=B,${SUFFIX}`, 2),
      ]),
    );
    let entries = 0;
    for (let done = 0; done < 2;) {
      const f = await c.next();
      assert.ok(f, 'closed before both searches were answered');
      if (f.opTag === ProtocolOp.searchResDone) done++;
      else if (f.opTag === ProtocolOp.searchResEntry && f.messageId === 2) entries++;
    }
    return entries;
  } finally {
    c.destroy();
  }
}

test('views of a read buffer still queued in a socket are never overwritten by another session', async () => {
  const out = join(dir, 'received.ber');
  const client = spawn('python3', [STALLED_READER, String(port), out], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: client.stdout });
  const next = (): Promise<string> => new Promise((resolve) => lines.once('line', resolve));
  const command = async (line: string): Promise<string> => {
    const answer = next();
    client.stdin.write(`${line}\n`);
    return answer;
  };
  assert.equal(await next(), 'connected');
  assert.equal(await command(`send ${searchRequest(1, `ou=A,${SUFFIX}`, 2).toString('hex')}`), 'sent');
  // The result backs up: the client reads nothing, entries wait in the proxy as views of its read buffer.
  await sleep(1000);
  // Garbage from the client: the proxy answers protocolError and closes; the backend connection goes at
  // once, the client socket only once it has taken what is queued for it.
  assert.equal(await command('send 0500'), 'sent');
  await sleep(200);
  const before = readBufferCounts();
  for (let round = 0; round < 4; round++) {
    const counts = await Promise.all(Array.from({ length: 8 }, () => churn()));
    // The ou entry and its children.
    assert.deepEqual(
      counts,
      Array.from({ length: 8 }, () => CHURN_ENTRIES + 1),
    );
  }
  assert.ok(readBufferCounts().reused > before.reused, 'the churn reused no buffer');
  assert.equal(await command('read'), 'done');

  const frames = new FrameReader(1 << 24);
  frames.push(readFileSync(out));
  let entries = 0;
  let notices = 0;
  while (frames.next()) {
    if (frames.opTag === ProtocolOp.searchResEntry) {
      const entry = decodeSearchResultEntry(frames.frame);
      assert.match(entry.objectName, /^(ou=A|cn=A\d+,ou=A),dc=example,dc=com$/);
      const description = entry.attributes.find((a) => a.type === 'description')?.values[0];
      if (description !== undefined)
        assert.ok(description.equals(OWN_DESCRIPTION), `${entry.objectName}: bytes of another session`);
      entries++;
    } else if (frames.opTag === ProtocolOp.extendedResp && frames.messageId === 0) notices++;
  }
  assert.equal(frames.hasPendingBytes, false, 'the stream ended inside a frame');
  // Part of the result, then the notice of disconnection.
  assert.ok(entries > 0 && entries < ENTRIES, `${entries} entries`);
  assert.equal(notices, 1);
});
