import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BatchedAppendFile, FLUSH_MS } from '../../src/log/batched-file.js';
import { waitFor } from '../helpers/run.js';

function withDir(fn: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shrtok-batched-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  'lines are batched, reach the file on the timer, in order, mode 0600',
  withDir(async (dir) => {
    const path = join(dir, 'sub', 'audit.jsonl');
    const errors: Error[] = [];
    const f = new BatchedAppendFile(path, (e) => errors.push(e));
    for (let i = 0; i < 100; i++) f.write(`line ${i}\n`);
    assert.equal(readFileSync(path, 'utf8'), '', 'nothing written synchronously per line');
    // The timer (FLUSH_MS) writes them without any further call; polled, as the machine may be slow.
    assert.ok(FLUSH_MS > 0);
    await waitFor(() => readFileSync(path, 'utf8').length > 0, 10_000, 'the timed flush');
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    assert.deepEqual(
      lines,
      Array.from({ length: 100 }, (_, i) => `line ${i}`),
    );
    assert.equal(statSync(path).mode & 0o777, 0o600);
    f.close();
    assert.deepEqual(errors, []);
  }),
);

test(
  'close() and process exit flush what is queued (no line lost without a timer tick)',
  withDir((dir) => {
    const path = join(dir, 'audit.jsonl');
    const f = new BatchedAppendFile(path, () => undefined);
    f.write('a\n');
    f.close();
    assert.equal(readFileSync(path, 'utf8'), 'a\n');
    // A process that queues lines and exits at once, without close(): the exit hook writes them.
    const child = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import('${new URL('../../src/log/batched-file.ts', import.meta.url).pathname}').then((m) => {
           const f = new m.BatchedAppendFile(${JSON.stringify(path)}, () => undefined);
           for (let i = 0; i < 5; i++) f.write('exit ' + i + '\\n');
           process.exit(0);
         });`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(child.status, 0, child.stderr);
    assert.equal(readFileSync(path, 'utf8'), 'a\nexit 0\nexit 1\nexit 2\nexit 3\nexit 4\n');
  }),
);

test(
  'reopen() after rotation: queued lines go to the old file, later ones to the new file',
  withDir((dir) => {
    const path = join(dir, 'audit.jsonl');
    const f = new BatchedAppendFile(path, () => undefined);
    f.write('before\n');
    renameSync(path, `${path}.1`);
    f.reopen();
    f.write('after\n');
    f.close();
    assert.equal(readFileSync(`${path}.1`, 'utf8'), 'before\n');
    assert.equal(readFileSync(path, 'utf8'), 'after\n');
  }),
);
