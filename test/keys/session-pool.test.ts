import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionPool } from '../../src/keys/pkcs11/session-pool.js';

const s = (n: number) => Buffer.from([n]);

test('one operation per session; callers queue in order and get released sessions', async () => {
  const pool = new SessionPool([s(1), s(2)]);
  const a = await pool.acquire();
  const b = await pool.acquire();
  assert.notDeepEqual(a, b);
  const order: number[] = [];
  const c = pool.acquire().then((x) => (order.push(3), x));
  const d = pool.acquire().then((x) => (order.push(4), x));
  pool.release(b);
  assert.deepEqual(await c, b);
  pool.release(a);
  assert.deepEqual(await d, a);
  assert.deepEqual(order, [3, 4]);
});

test('close rejects queued callers and waits for running operations', async () => {
  const pool = new SessionPool([s(1)]);
  const held = await pool.acquire();
  const queued = pool.acquire();
  let closed = false;
  const closing = pool.close(new Error('re-opening')).then(() => (closed = true));
  await assert.rejects(queued, /re-opening/);
  await new Promise((r) => setImmediate(r));
  assert.equal(closed, false, 'still one operation running');
  pool.release(held);
  await closing;
  assert.equal(closed, true);
  await assert.rejects(pool.acquire(), /re-opening/);
});
