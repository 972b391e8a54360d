// One JSON line per verification. The record type has no field that could hold a secret: passphrases,
// tokens, keys and witnesses have nowhere to go.
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { VerifyKind, VerifyResult } from './types.js';

export interface AuditRecord {
  time: string;
  kind: VerifyKind;
  identification?: string;
  serial?: string;
  entryDn?: string;
  clientAddress: string;
  result: VerifyResult;
  failedCheck?: string;
  latencyMs: number;
}

export interface AuditSink {
  write(record: AuditRecord): void;
}

export class StreamAuditSink implements AuditSink {
  constructor(private readonly stream: Writable) {}

  write(record: AuditRecord): void {
    // Field order fixed; undefined fields are dropped by JSON.stringify.
    const line = JSON.stringify({
      time: record.time,
      kind: record.kind,
      identification: record.identification,
      serial: record.serial,
      entryDn: record.entryDn,
      clientAddress: record.clientAddress,
      result: record.result,
      failedCheck: record.failedCheck,
      latencyMs: record.latencyMs,
    });
    this.stream.write(line + '\n');
  }
}

/** Appends to a file (created 0600). */
export function fileAuditSink(path: string): StreamAuditSink & { close(): Promise<void> } {
  const stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
  const sink = new StreamAuditSink(stream);
  return Object.assign(sink, {
    close: () => new Promise<void>((resolve) => stream.end(() => resolve())),
  });
}

export const nullAuditSink: AuditSink = { write: () => undefined };

/** The shape of src/log's AuditLog.record, so the process-wide audit file can be the sink. */
export interface AuditEventSink {
  record(event: {
    kind: AuditRecord['kind'];
    identification?: string;
    serial?: string;
    entryDn?: string;
    clientAddress?: string;
    result: AuditRecord['result'];
    failedCheck?: string | null;
    latencyMs: number;
  }): void;
}

export function auditEventSink(log: AuditEventSink): AuditSink {
  return {
    write: (r) =>
      log.record({
        kind: r.kind,
        identification: r.identification,
        serial: r.serial,
        entryDn: r.entryDn,
        clientAddress: r.clientAddress,
        result: r.result,
        failedCheck: r.failedCheck,
        latencyMs: r.latencyMs,
      }),
  };
}
