// Audit write cost per record: a synchronous write per line (the former --audit-log path, pino/sonic-boom sync)
// against AuditLog's batched file, same lines, CPU µs per record of this process, 3 rounds side by side.
//   node --import tsx bench/audit-write.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AuditLog, auditLine, createLogger } from '../src/log/index.js';
const N = 50000;
const ev = {
  kind: 'bind' as const,
  identification: 'tok17',
  entryDn: 'uid=tok17,ou=People,dc=example,dc=com',
  clientAddress: '127.0.0.1',
  result: 'success' as const,
  failedCheck: null,
  latencyMs: 0.4321,
};
const dir = mkdtempSync(join(tmpdir(), 'audit-micro-'));
function cpu(f: () => void): number {
  const a = process.cpuUsage();
  f();
  const b = process.cpuUsage(a);
  return (b.user + b.system) / N;
}
for (let r = 0; r < 3; r++) {
  const sync = pino.destination({ dest: join(dir, `s${r}`), append: true, sync: true, mode: 0o600 });
  const before = cpu(() => {
    for (let i = 0; i < N; i++) sync.write(auditLine(ev));
  });
  sync.flushSync();
  sync.end();
  const a = new AuditLog(createLogger());
  a.open(join(dir, `b${r}`));
  const after = cpu(() => {
    for (let i = 0; i < N; i++) a.record(ev);
    a.close();
  });
  console.log(
    `round ${r}: sync write per line ${before.toFixed(2)} µs/record, batched ${after.toFixed(2)} µs/record`,
  );
}
rmSync(dir, { recursive: true, force: true });
