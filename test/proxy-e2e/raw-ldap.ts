// A deliberately tiny LDAP client for the byte-level tests: it builds a few requests by hand and reads
// response envelopes (message ID, operation tag, result code, responseName), independently of src/.
import { connect } from 'node:net';
import type { Socket } from 'node:net';

export const NOTICE_OF_DISCONNECTION = '1.3.6.1.4.1.1466.20036';

export function berLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), berLength(content.length), content]);
}

function integer(tag: number, n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return tlv(tag, Buffer.from(bytes));
}

const octets = (tag: number, v: string | Buffer): Buffer => tlv(tag, Buffer.isBuffer(v) ? v : Buffer.from(v));

export function message(id: number, op: Buffer): Buffer {
  return tlv(0x30, Buffer.concat([integer(0x02, id), op]));
}

export function bindRequest(id: number, dn = '', password = ''): Buffer {
  return message(id, tlv(0x60, Buffer.concat([integer(0x02, 3), octets(0x04, dn), octets(0x80, password)])));
}

/** Search with filter (attr=value), or (objectClass=*) when no equality is given. */
export function searchRequest(id: number, base: string, scope: 0 | 1 | 2, eq?: [string, string]): Buffer {
  const filter = eq
    ? tlv(0xa3, Buffer.concat([octets(0x04, eq[0]), octets(0x04, eq[1])]))
    : octets(0x87, 'objectClass');
  const body = Buffer.concat([
    octets(0x04, base),
    integer(0x0a, scope),
    integer(0x0a, 0), // derefAliases never
    integer(0x02, 0), // sizeLimit
    integer(0x02, 0), // timeLimit
    Buffer.from([0x01, 0x01, 0x00]), // typesOnly false
    filter,
    tlv(0x30, Buffer.alloc(0)), // all user attributes
  ]);
  return message(id, tlv(0x63, body));
}

export function extendedRequest(id: number, oid: string, value?: Buffer): Buffer {
  const parts = [octets(0x80, oid)];
  if (value) parts.push(octets(0x81, value));
  return message(id, tlv(0x77, Buffer.concat(parts)));
}

export function unbindRequest(id: number): Buffer {
  return message(id, Buffer.from([0x42, 0x00]));
}

export interface Envelope {
  id: number;
  opTag: number;
  resultCode?: number;
  diagnostic?: string;
  responseName?: string;
  raw: Buffer;
}

interface Tlv {
  tag: number;
  start: number;
  end: number;
  next: number;
}

/** Reads one TLV at off; undefined when incomplete. Throws on lengths this test client does not expect. */
function readTlv(buf: Buffer, off: number): Tlv | undefined {
  if (buf.length < off + 2) return undefined;
  const tag = buf[off]!;
  let len = buf[off + 1]!;
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error(`unexpected length-of-length ${n} from the proxy`);
    if (buf.length < start + n) return undefined;
    len = buf.readUIntBE(start, n);
    start += n;
  }
  if (buf.length < start + len) return undefined;
  return { tag, start, end: start + len, next: start + len };
}

function parseEnvelope(raw: Buffer): Envelope {
  const outer = readTlv(raw, 0)!;
  const idTlv = readTlv(raw, outer.start)!;
  const id = raw.readUIntBE(idTlv.start, idTlv.end - idTlv.start);
  const op = readTlv(raw, idTlv.next)!;
  const env: Envelope = { id, opTag: op.tag, raw };
  // LDAPResult-shaped responses: resultCode ENUMERATED, matchedDN, diagnosticMessage
  const first = op.tag & 0x20 ? readTlv(raw, op.start) : undefined;
  if (first?.tag === 0x0a) {
    env.resultCode = raw.readUIntBE(first.start, first.end - first.start);
    const matched = readTlv(raw, first.next)!;
    const diag = readTlv(raw, matched.next)!;
    env.diagnostic = raw.toString('utf8', diag.start, diag.end);
    for (let t = readTlv(raw, diag.next); t && t.next <= op.end; t = readTlv(raw, t.next)) {
      if (t.tag === 0x8a) env.responseName = raw.toString('latin1', t.start, t.end);
    }
  }
  return env;
}

/** One raw TCP connection that collects whole LDAPMessages. */
export class RawClient {
  private buf = Buffer.alloc(0);
  private readonly queue: Envelope[] = [];
  private waiter: (() => void) | undefined;
  ended = false;
  error: Error | undefined;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (b: Buffer) => {
      this.buf = Buffer.concat([this.buf, b]);
      for (;;) {
        const t = readTlv(this.buf, 0);
        if (!t) break;
        this.queue.push(parseEnvelope(this.buf.subarray(0, t.next)));
        this.buf = this.buf.subarray(t.next);
      }
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.ended = true;
        this.wake();
        resolve();
      });
    });
    socket.on('error', (e) => {
      this.error = e;
    });
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  /** Next message; undefined if the connection closed first. Rejects after timeoutMs (hang guard). */
  async next(timeoutMs = 10_000): Promise<Envelope | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.queue.shift();
      if (m) return m;
      if (this.ended) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no LDAP message from the proxy before the hang guard');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Waits for the peer to close; rejects after timeoutMs. */
  async waitClosed(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.closed,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('proxy did not close the connection')), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  destroy(): void {
    this.socket.destroy();
  }
}
