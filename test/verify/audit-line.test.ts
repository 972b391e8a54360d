// The audit line is built field by field for speed; it must stay byte for byte what JSON.stringify of the
// audit object gives (escaping, caps, dropped fields, numbers).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditLine, Secret } from '../../src/log/index.js';
import { auditObject } from '../../src/log/audit.js';
import { BatchedAppendFile } from '../../src/log/batched-file.js';
import type { AuditEvent } from '../../src/log/index.js';

test('auditLine is exactly JSON.stringify of the audit object, for awkward values too', () => {
  const now = new Date('2026-11-27T11:00:00.123Z');
  const events: AuditEvent[] = [
    {
      kind: 'bind',
      result: 'success',
      identification: 'alice',
      entryDn: 'uid=alice,dc=x',
      latencyMs: 0.0123456,
    },
    {
      kind: 'extop',
      result: 'failure',
      identification: 'quote " backslash \\ newline \n tab \t nul \u0000 ü 😀 \ud800',
      clientAddress: '127.0.0.1',
      failedCheck: 'passphrase',
      latencyMs: 12.3456789,
      resultCode: 49,
    },
    { kind: 'cmc', result: 'unavailable', serial: '123', failedCheck: null, latencyMs: Number.NaN },
    {
      kind: 'revocation',
      result: 'malformed',
      entryDn: 'x'.repeat(3000),
      latencyMs: Infinity,
      resultCode: 2,
    },
    {
      kind: 'bind',
      result: 'failure',
      identification: new Secret('never-written') as unknown as string,
      latencyMs: 1e21,
    },
  ];
  for (const e of events) {
    assert.equal(auditLine(e, now), `${JSON.stringify(auditObject(e, now.toISOString()))}\n`);
    assert.doesNotMatch(auditLine(e, now), /never-written/);
  }
});

test('batched audit file: lines across many buffer fills, non-ASCII and longer than the buffer arrive whole, in order', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-audit-batch-'));
  try {
    const path = join(dir, 'audit.log');
    const errors: Error[] = [];
    const file = new BatchedAppendFile(path, (e) => errors.push(e));
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const body = i % 7 === 0 ? `jürgen 😀 ${'é'.repeat(i % 50)}` : 'x'.repeat(i % 300);
      lines.push(i === 1500 ? `${'y'.repeat(200_000)} ${i}\n` : `${i} ${body}\n`);
    }
    for (const l of lines) file.write(l);
    file.close();
    assert.deepEqual(errors, []);
    assert.equal(readFileSync(path, 'utf8'), lines.join(''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
