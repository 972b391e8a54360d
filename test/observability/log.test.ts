import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { format, inspect } from 'node:util';
import { AuditLog, auditLine, createLogger, readSecretFile, REDACTED, Secret } from '../../src/log/index.js';
import type { AuditEvent } from '../../src/log/index.js';

const MARKER = 'Marker-Passphrase-7f3a';
// Parsed JSON lines, read field by field in assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = Record<string, any>;

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, stream };
}

test('Secret redacts in every way a value can be turned into text', () => {
  const s = new Secret(MARKER);
  const b = new Secret(Buffer.from(MARKER));
  const renderings = [
    String(s),
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions
    `${s}`,
    // eslint-disable-next-line @typescript-eslint/restrict-plus-operands
    s + '',
    JSON.stringify({ s, b }),
    inspect(s),
    inspect({ nested: { b } }, { depth: 5, showHidden: true }),
    format('%s %o %O %j', s, s, b, s),
    Object.keys(s).join(','),
    JSON.stringify({ ...s }),
  ];
  for (const r of renderings) assert.ok(!r.includes(MARKER), r);
  assert.equal(String(s), REDACTED);
  assert.equal(s.reveal(), MARKER);
  b.wipe();
  assert.ok(b.reveal().every((x) => x === 0));
});

test('readSecretFile reads a file, drops one newline, and errors without content', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-log-'));
  try {
    writeFileSync(join(dir, 'pw'), `${MARKER}\n`);
    assert.equal(readSecretFile(join(dir, 'pw')).reveal(), MARKER);
    assert.throws(() => readSecretFile(join(dir, 'missing')), /cannot read secret file .*missing: ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the logger writes JSON lines, honours the level, and redacts secret keys at any depth', () => {
  const { lines, stream } = capture();
  const log = createLogger({ level: 'info', destination: stream });
  log.debug('hidden at info');
  log.info({ password: MARKER }, 'top level');
  log.info({ bind: { dn: 'uid=a', passphrase: MARKER } }, 'nested');
  log.warn({ req: { entry: { shrTok: MARKER, userPassword: MARKER } } }, 'deeper');
  log.error({ a: { b: { c: { witness: MARKER, token: MARKER } } } }, 'deepest');
  log.info({ secret: new Secret(MARKER), value: new Secret(MARKER) }, 'typed');
  log.child({ component: 'session' }).info({ pin: MARKER }, 'child');
  assert.equal(lines.length, 6);
  for (const line of lines) {
    assert.ok(!line.includes(MARKER), line);
    const o = JSON.parse(line);
    assert.equal(typeof o.time, 'string');
    assert.ok(['info', 'warn', 'error'].includes(o.level));
  }
  const parsed = lines.map((l) => JSON.parse(l) as Row);
  assert.equal(parsed[0]!.password, REDACTED);
  assert.equal(parsed[1]!.bind.dn, 'uid=a');
  assert.equal(parsed[2]!.req.entry.shrTok, REDACTED);
  assert.equal(parsed[3]!.a.b.c.witness, REDACTED);
  assert.equal(parsed[4]!.value, REDACTED);
  assert.equal(parsed[5]!.component, 'session');
  log.level = 'debug';
  log.debug('now visible');
  assert.equal(lines.length, 7);
});

test('audit lines go to their own file, one JSON object per line, with only the audit fields', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-audit-'));
  try {
    const { lines, stream } = capture();
    const audit = new AuditLog(createLogger({ destination: stream }));
    const file = join(dir, 'sub', 'audit.jsonl');
    audit.open(file);
    const event = {
      kind: 'bind',
      identification: 'user1',
      entryDn: 'uid=user1,ou=People,dc=example,dc=com',
      clientAddress: '127.0.0.1',
      result: 'failure',
      failedCheck: 'passphrase',
      latencyMs: 1.23456,
      resultCode: 49,
      // Extra fields a careless caller might pass: never written.
      passphrase: MARKER,
      token: MARKER,
    } as AuditEvent;
    audit.record(event);
    audit.record({
      kind: 'cmc',
      serial: '12',
      result: 'success',
      latencyMs: 2,
      identification: new Secret(MARKER) as unknown as string,
    });
    audit.close();
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes(MARKER));
    const rows = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Row);
    assert.equal(rows.length, 2);
    assert.deepEqual(Object.keys(rows[0]!), [
      'time',
      'type',
      'kind',
      'result',
      'identification',
      'entryDn',
      'clientAddress',
      'failedCheck',
      'resultCode',
      'latencyMs',
    ]);
    assert.equal(rows[0]!.latencyMs, 1.235);
    assert.equal(rows[1]!.identification, REDACTED);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(lines.length, 0, 'nothing went to the process log');

    // Without a file, audit lines go to the process log.
    audit.open(undefined);
    audit.record({ kind: 'extop', identification: 'u', result: 'unavailable', latencyMs: 3 });
    assert.equal(lines.length, 1);
    assert.equal(JSON.parse(lines[0]!).audit.result, 'unavailable');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without an audit file, records reach the process log even when its level is warn or error', () => {
  for (const level of ['warn', 'error'] as const) {
    const { lines, stream } = capture();
    const logger = createLogger({ level, destination: stream });
    const audit = new AuditLog(logger);
    logger.info('an info line the level drops');
    audit.record({
      kind: 'bind',
      identification: 'user1',
      clientAddress: '127.0.0.1',
      result: 'success',
    } as AuditEvent);
    assert.equal(lines.length, 1, `level ${level}: ${lines.join(' | ')}`);
    const row = JSON.parse(lines[0]!) as Row;
    assert.equal(row.msg, 'audit');
    assert.equal(row.audit.identification, 'user1');
  }
});

test('auditLine caps long strings and keeps a fixed shape', () => {
  const line = auditLine(
    { kind: 'revocation', serial: 'x'.repeat(5000), result: 'malformed', latencyMs: NaN },
    new Date(0),
  );
  const o = JSON.parse(line);
  assert.equal(o.time, '1970-01-01T00:00:00.000Z');
  assert.equal(o.serial.length, 1025);
  assert.equal(o.latencyMs, -1);
  assert.ok(line.endsWith('}\n') && line.indexOf('\n') === line.length - 1);
});

test('audit reopen after rotation (SIGHUP) writes to a fresh file at the same path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-audit-rot-'));
  try {
    const audit = new AuditLog(createLogger({ destination: capture().stream }));
    const file = join(dir, 'audit.jsonl');
    audit.open(file);
    audit.record({ kind: 'bind', identification: 'before', result: 'success', latencyMs: 1 });
    renameSync(file, `${file}.1`);
    audit.reopen();
    audit.record({ kind: 'bind', identification: 'after', result: 'failure', latencyMs: 1 });
    audit.close();
    assert.match(readFileSync(`${file}.1`, 'utf8'), /"identification":"before"/);
    const fresh = readFileSync(file, 'utf8');
    assert.match(fresh, /"identification":"after"/);
    assert.doesNotMatch(fresh, /before/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
