// The audit line is built field by field for speed; it must stay byte for byte what JSON.stringify of the
// audit object gives (escaping, caps, dropped fields, numbers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditLine, Secret } from '../../src/log/index.js';
import { auditObject } from '../../src/log/audit.js';
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
