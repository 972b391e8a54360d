// A plain backend connection reads into one reusable buffer: while the owner says a client write may still
// reference it, no further read may happen (it would overwrite bytes not yet sent); reading resumes after.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { BackendLink, BackendPool } from '../../src/backend/index.js';
import type { BackendLinkOwner } from '../../src/backend/index.js';
import { parseLdapUrl } from '../../src/config/load.js';
import { sleep, waitFor } from '../helpers/run.js';

/** A SearchResultDone for messageID `id`, success. */
function done(id: number): Buffer {
  return Buffer.from([0x30, 0x0c, 0x02, 0x01, id, 0x65, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00]);
}

/** A backend link to a plain test server on `port`. */
function linkTo(port: number, owner: BackendLinkOwner): BackendLink {
  const pool = new BackendPool([parseLdapUrl(`ldap://127.0.0.1:${port}`, 'backend')], {
    connectTimeoutMs: 2000,
    downMs: 1000,
    startTls: false,
    maxPduBytes: 1 << 20,
  });
  return new BackendLink(pool, owner);
}

test('reading stops while the owner holds the read buffer and resumes when released', async () => {
  let peer: Socket | undefined;
  const server: Server = createServer((s) => (peer = s));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  const seen: string[] = [];
  let hold = true;
  let release: (() => void) | undefined;
  const owner: BackendLinkOwner = {
    onBackendReady: () => undefined,
    onBackendFailed: () => undefined,
    onBackendLost: () => undefined,
    beginBackendBatch: () => undefined,
    endBackendBatch: () => undefined,
    onBackendDrain: () => undefined,
    onBackendSecurityLayer: () => undefined,
    onBackendRaw: () => undefined,
    onBackendFrame: (frame) => seen.push(frame.toString('hex')),
    holdsBackendBytes: (then) => {
      if (!hold) return false;
      release = then;
      return true;
    },
  };
  const link = linkTo(port, owner);
  try {
    link.connect();
    await waitFor(() => peer !== undefined && link.state === 'ready', 5000, 'the backend connection');
    peer!.write(done(1));
    await waitFor(() => seen.length === 1, 5000, 'the first frame');
    assert.equal(seen[0], done(1).toString('hex'));
    // Held: later bytes stay in the kernel, the shared buffer keeps the first frame intact.
    peer!.write(done(2));
    await sleep(200);
    assert.equal(seen.length, 1, 'no read while the buffer is held');
    hold = false;
    release!();
    await waitFor(() => seen.length === 2, 5000, 'the second frame after release');
    assert.equal(seen[1], done(2).toString('hex'));
  } finally {
    link.destroy();
    peer?.destroy();
    await new Promise((ok) => server.close(ok));
  }
});

test('holdsWrittenBytes reports bytes still queued in the socket and calls back once they are handed over', async () => {
  let peer: Socket | undefined;
  const server: Server = createServer((s) => {
    peer = s;
    s.pause(); // reads nothing until resumed: the link's writes back up
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  const noop = (): undefined => undefined;
  const owner: BackendLinkOwner = {
    onBackendReady: noop,
    onBackendFailed: noop,
    onBackendLost: noop,
    beginBackendBatch: noop,
    endBackendBatch: noop,
    onBackendDrain: noop,
    onBackendSecurityLayer: noop,
    onBackendRaw: noop,
    onBackendFrame: noop,
    holdsBackendBytes: () => false,
  };
  const link = linkTo(port, owner);
  try {
    link.connect();
    await waitFor(() => peer !== undefined && link.state === 'ready', 5000, 'the backend connection');
    let released = 0;
    assert.equal(
      link.holdsWrittenBytes(() => released++),
      false,
      'nothing queued yet',
    );
    const chunk = Buffer.alloc(1 << 20, 0x30);
    for (let i = 0; i < 64 && !link.needsDrain; i++) {
      link.write(chunk.subarray(0));
      link.flush();
    }
    assert.equal(link.needsDrain, true, 'the kernel buffers filled up');
    assert.equal(
      link.holdsWrittenBytes(() => released++),
      true,
    );
    await sleep(200);
    assert.equal(released, 0, 'not released while the bytes are still queued');
    peer!.resume();
    await waitFor(() => released === 1, 10_000, 'the release after the peer read');
  } finally {
    link.destroy();
    peer?.destroy();
    await new Promise((ok) => server.close(ok));
  }
});
