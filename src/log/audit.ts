// Audit lines: one JSON object per line per verification, to their own file (--audit-log FILE) or,
// without one, to the process log. Only the fields of AuditEvent are copied, so a caller cannot
// leak a passphrase, token, key or witness by passing a larger object.
import type { Logger } from 'pino';
import { BatchedAppendFile } from './batched-file.js';
import { Secret } from './secret.js';

export interface AuditEvent {
  kind: 'bind' | 'extop' | 'cmc' | 'revocation';
  /** Identification (uid) or decimal certificate serial, whichever the proof named. */
  identification?: string;
  serial?: string;
  entryDn?: string;
  clientAddress?: string;
  result: 'success' | 'failure' | 'malformed' | 'unavailable';
  failedCheck?: string | null;
  latencyMs: number;
  /** The LDAP result code sent back. */
  resultCode?: number;
}

const STRING_FIELDS = ['identification', 'serial', 'entryDn', 'clientAddress', 'failedCheck'] as const;

let clockMs = -1;
let clockIso = '';

/** Date.now() as an ISO string, formatted once per millisecond (thousands of records share one). */
export function isoNow(): string {
  const ms = Date.now();
  if (ms !== clockMs) {
    clockMs = ms;
    clockIso = new Date(ms).toISOString();
  }
  return clockIso;
}

/**
 * The line written for an event: fixed key order, strings capped, anything else dropped. The same bytes
 * as JSON.stringify(auditObject(...)), concatenated field by field (one line per verification).
 */
export function auditLine(event: AuditEvent, now?: Date): string {
  const time = now ? now.toISOString() : isoNow();
  let line =
    `{"time":${JSON.stringify(time)},"type":"verification",` +
    `"kind":${JSON.stringify(String(event.kind))},"result":${JSON.stringify(String(event.result))}`;
  for (const key of STRING_FIELDS) {
    const v = auditString(event[key]);
    if (v !== undefined) line += `,"${key}":${JSON.stringify(v)}`;
  }
  if (typeof event.resultCode === 'number') line += `,"resultCode":${JSON.stringify(event.resultCode)}`;
  return `${line},"latencyMs":${JSON.stringify(auditLatency(event.latencyMs))}}\n`;
}

/** A Secret here would be a programming error: the placeholder is written, never the value. */
function auditString(v: unknown): string | undefined {
  if (v instanceof Secret) return v.toString();
  if (typeof v === 'string') return v.length > 1024 ? `${v.slice(0, 1024)}…` : v;
  return undefined;
}

function auditLatency(ms: number): number {
  return Number.isFinite(ms) ? Math.round(ms * 1000) / 1000 : -1;
}

/** The fields of the line as an object (the process-log fallback nests it under "audit"). */
export function auditObject(event: AuditEvent, time: string): Record<string, string | number> {
  const out: Record<string, string | number> = {
    time,
    type: 'verification',
    kind: String(event.kind),
    result: String(event.result),
  };
  for (const key of STRING_FIELDS) {
    const v = auditString(event[key]);
    if (v !== undefined) out[key] = v;
  }
  if (typeof event.resultCode === 'number') out.resultCode = event.resultCode;
  out.latencyMs = auditLatency(event.latencyMs);
  return out;
}

/**
 * Audit records are never dropped by --log-level: a child logger with its own level. Operators who want
 * them apart from the process log use --audit-log.
 */
function atInfo(logger: Logger): Logger {
  return logger.child({}, { level: 'info' });
}

export class AuditLog {
  private file: BatchedAppendFile | undefined;
  private path: string | undefined;

  private fallback: Logger;

  /** `fallback` gets the records when no file is configured, at info whatever its own level. */
  constructor(fallback: Logger) {
    this.fallback = atInfo(fallback);
  }

  /** Sends audit lines to FILE (created 0600, appended), or back to the process log with undefined. */
  open(path: string | undefined): void {
    this.closeFile();
    this.path = path;
    if (path !== undefined)
      this.file = new BatchedAppendFile(path, (e) =>
        this.fallback.error({ reason: e.message, file: path }, 'audit log write failed'),
      );
  }

  /** The logger used when no audit file is configured. */
  setFallback(logger: Logger): void {
    this.fallback = atInfo(logger);
  }

  get destination(): string {
    return this.path ?? 'log';
  }

  /** Queues the line; it reaches the file within FLUSH_MS, at reopen/close, or at process exit. */
  record(event: AuditEvent): void {
    if (this.file) this.file.write(auditLine(event));
    // Below info the logger drops the line: do not build it.
    else if (this.fallback.isLevelEnabled('info'))
      this.fallback.info({ audit: auditObject(event, isoNow()) }, 'audit');
  }

  /** Reopens the file after log rotation (SIGHUP). */
  reopen(): void {
    this.file?.reopen();
  }

  close(): void {
    this.closeFile();
  }

  private closeFile(): void {
    const f = this.file;
    this.file = undefined;
    f?.close();
  }
}
