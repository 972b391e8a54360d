// Wire-level helpers for the network robustness tests, written independently of src/ so a framing bug in
// the proxy cannot hide itself: an LDAPMessage splitter, a classifier that predicts what the proxy must do
// with a byte string, and a probe that sends one case on its own connection under a deadline.
import { readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';

export interface Message {
  id: number;
  opTag: number;
  /** resultCode of LDAPResult-shaped responses. */
  resultCode?: number;
  /** responseName of an extendedResp (Notice of Disconnection: 1.3.6.1.4.1.1466.20036). */
  responseName?: string;
  raw: Buffer;
}

export const NOTICE_OF_DISCONNECTION = '1.3.6.1.4.1.1466.20036';

/** Header of the TLV at off: [tag, contentStart, contentEnd] or undefined if incomplete; null if invalid. */
function header(b: Buffer, off: number, end = b.length): [number, number, number] | undefined | null {
  if (off + 2 > end) return undefined;
  const first = b[off + 1] as number;
  let start = off + 2;
  let len = first;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 4) return null;
    if (start + n > end) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (b[start + i] as number);
    start += n;
  }
  return [b[off] as number, start, start + len];
}

/** Splits a byte stream into LDAPMessages; `rest` is what is left (an incomplete or malformed tail). */
export function splitMessages(b: Buffer): { messages: Message[]; rest: Buffer; malformed: boolean } {
  const messages: Message[] = [];
  let off = 0;
  for (;;) {
    if (off >= b.length) return { messages, rest: b.subarray(off), malformed: false };
    const h = header(b, off);
    if (h === null || (h && h[0] !== 0x30)) return { messages, rest: b.subarray(off), malformed: true };
    if (h === undefined || h[2] > b.length) return { messages, rest: b.subarray(off), malformed: false };
    const msg = parseMessage(b.subarray(off, h[2]));
    if (!msg) return { messages, rest: b.subarray(off), malformed: true };
    messages.push(msg);
    off = h[2];
  }
}

function parseMessage(raw: Buffer): Message | undefined {
  const outer = header(raw, 0);
  if (!outer || outer[2] !== raw.length) return undefined;
  const idH = header(raw, outer[1]);
  if (!idH || idH[0] !== 0x02 || idH[2] - idH[1] < 1 || idH[2] - idH[1] > 4) return undefined;
  const id = raw.readUIntBE(idH[1], idH[2] - idH[1]);
  const op = header(raw, idH[2]);
  if (!op || op[2] > raw.length) return undefined;
  const msg: Message = { id, opTag: op[0], raw };
  if (op[0] & 0x20) {
    const rc = header(raw, op[1], op[2]);
    if (rc && rc[0] === 0x0a && rc[2] <= op[2]) {
      msg.resultCode = raw.readUIntBE(rc[1], Math.min(4, rc[2] - rc[1]) || 1);
      // matchedDN, diagnosticMessage, then optional [3] referral, [10] responseName
      let p = rc[2];
      for (let i = 0; i < 6 && p < op[2]; i++) {
        const t = header(raw, p, op[2]);
        if (!t) break;
        if (t[0] === 0x8a) msg.responseName = raw.toString('latin1', t[1], t[2]);
        p = t[2];
      }
    }
  }
  return msg;
}

export type Expectation = 'complete' | 'truncated' | 'invalid';

/**
 * What the documented framing rules (RFC 4511 §5.1 and the PDU limit) make of a byte string sent on a
 * fresh connection: complete PDUs only, a valid prefix ending in an unfinished PDU, or a PDU the proxy
 * must refuse (tag other than SEQUENCE, indefinite length, length of length over 4, over the limit).
 */
export function classify(b: Buffer, limit: number): Expectation {
  let off = 0;
  while (off < b.length) {
    if (b[off] !== 0x30) return 'invalid';
    const h = header(b, off);
    if (h === null) return 'invalid';
    if (h === undefined) return 'truncated';
    if (h[2] - off > limit) return 'invalid';
    if (h[2] > b.length) return 'truncated';
    off = h[2];
  }
  return 'complete';
}

export interface ProbeResult {
  outcome: 'answered' | 'closed' | 'deadline';
  messages: Message[];
  /** Bytes after the last whole message (must be empty unless the connection was reset). */
  rest: Buffer;
  malformed: boolean;
  reset: boolean;
  ms: number;
}

export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.setNoDelay(true);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * Sends `bytes` on a new connection. With `sentinelId`, also sends `sentinel` and waits for a final
 * response with that ID ('answered') or the close; without, half-closes after the bytes when `finish` is
 * set and waits for the close. The deadline is a liveness bound, measured from the write.
 */
export async function probe(
  port: number,
  bytes: Buffer,
  opts: { sentinel?: Buffer; sentinelId?: number; finish?: boolean; deadlineMs: number },
): Promise<ProbeResult> {
  const sock = await openSocket(port);
  const chunks: Buffer[] = [];
  let reset = false;
  const start = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: ProbeResult['outcome']): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      const { messages, rest, malformed } = splitMessages(Buffer.concat(chunks));
      resolve({ outcome, messages, rest, malformed, reset, ms: performance.now() - start });
    };
    const timer = setTimeout(() => settle('deadline'), opts.deadlineMs);
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      if (opts.sentinelId === undefined) return;
      const { messages } = splitMessages(Buffer.concat(chunks));
      if (messages.some((m) => m.id === opts.sentinelId && m.opTag !== 0x64 && m.opTag !== 0x73))
        settle('answered');
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') reset = true;
    });
    sock.on('close', () => settle('closed'));
    sock.write(opts.sentinel ? Buffer.concat([bytes, opts.sentinel]) : bytes);
    if (opts.finish) sock.end();
  });
}

/** Reads the resident set size of a process, in bytes (VmRSS in /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(text);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Open file descriptors of a process. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
