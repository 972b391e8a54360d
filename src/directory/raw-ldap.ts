// A tiny LDAP client over net/tls for one long-running search whose entries must be seen as they arrive
// (ldapts buffers a search until SearchResultDone, so it cannot carry a syncrepl or persistent search).
import { EventEmitter } from 'node:events';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { BerError, ber, children, decodeSmallInt, readTlv, tlv } from './ber.js';
import type { Tlv } from './ber.js';
import { tlsOptionsFor } from './connect.js';

export const Op = {
  bindRequest: 0x60,
  bindResponse: 0x61,
  unbindRequest: 0x42,
  searchRequest: 0x63,
  searchResEntry: 0x64,
  searchResDone: 0x65,
  searchResRef: 0x73,
  extendedReq: 0x77,
  extendedResp: 0x78,
  intermediateResponse: 0x79,
} as const;

const START_TLS_OID = '1.3.6.1.4.1.1466.20037';
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export interface RawControl {
  oid: string;
  critical: boolean;
  value?: Buffer;
}

export interface LdapMessage {
  id: number;
  op: Tlv;
  controls: RawControl[];
}

export interface LdapResult {
  code: number;
  matchedDn: string;
  diagnostic: string;
}

export class LdapResultError extends Error {
  override name = 'LdapResultError';
  constructor(readonly result: LdapResult) {
    super(`LDAP result ${result.code}${result.diagnostic ? `: ${result.diagnostic}` : ''}`);
  }
}

export interface RawConnectOptions {
  url: string;
  starttls?: boolean;
  caFile?: string;
  connectTimeoutMs?: number;
}

export function encodeControls(controls: RawControl[]): Buffer {
  return tlv(
    0xa0,
    ...controls.map((c) =>
      ber.sequence(
        ber.octets(c.oid),
        ...(c.critical ? [ber.boolean(true)] : []),
        ...(c.value ? [ber.octets(c.value)] : []),
      ),
    ),
  );
}

function decodeControls(value: Buffer): RawControl[] {
  const out: RawControl[] = [];
  for (const c of children(value)) {
    const parts = [...children(c.value)];
    const oid = parts[0];
    if (!oid || oid.tag !== 0x04) throw new BerError('control without an OID');
    let critical = false;
    let ctlValue: Buffer | undefined;
    for (const p of parts.slice(1)) {
      if (p.tag === 0x01) critical = p.value[0] !== 0;
      else if (p.tag === 0x04) ctlValue = p.value;
    }
    out.push({ oid: oid.value.toString('latin1'), critical, value: ctlValue });
  }
  return out;
}

/** Decodes the LDAPResult fields at the start of a response's contents. */
export function decodeResult(op: Tlv): LdapResult {
  const [code, matched, diag] = [...children(op.value)];
  if (!code || code.tag !== 0x0a || !matched || !diag) throw new BerError('malformed LDAPResult');
  return {
    code: decodeSmallInt(code.value),
    matchedDn: matched.value.toString('utf8'),
    diagnostic: diag.value.toString('utf8'),
  };
}

/** One connection; messages are routed to a handler per message ID. Emits 'close' once. */
export class RawLdapConnection extends EventEmitter {
  private nextId = 1;
  private pending: Buffer = Buffer.alloc(0);
  private readonly handlers = new Map<number, (m: LdapMessage) => void>();
  private closed = false;

  private constructor(private socket: Socket | TLSSocket) {
    super();
    this.attach();
  }

  static async open(opts: RawConnectOptions): Promise<RawLdapConnection> {
    const url = new URL(opts.url);
    const secure = url.protocol === 'ldaps:';
    const port = Number(url.port || (secure ? 636 : 389));
    const tlsOptions = tlsOptionsFor(opts);
    const socket = await new Promise<Socket | TLSSocket>((resolve, reject) => {
      const s = secure
        ? tlsConnect({ ...tlsOptions, host: url.hostname, port })
        : netConnect({ host: url.hostname, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect to ${opts.url} timed out`));
      }, opts.connectTimeoutMs ?? 5000);
      const onError = (e: Error): void => {
        clearTimeout(timer);
        reject(e);
      };
      s.once(secure ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.removeListener('error', onError);
        resolve(s);
      });
      s.once('error', onError);
    });
    socket.setNoDelay(true);
    const conn = new RawLdapConnection(socket);
    if (opts.starttls && !secure) await conn.startTls(tlsOptions, url.hostname);
    return conn;
  }

  private attach(): void {
    this.socket.on('data', this.onData);
    this.socket.on('error', this.onEnd);
    this.socket.on('close', this.onEnd);
  }

  private detach(): void {
    this.socket.off('data', this.onData);
    this.socket.off('error', this.onEnd);
    this.socket.off('close', this.onEnd);
  }

  private readonly onEnd = (): void => {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.emit('close');
  };

  private readonly onData = (chunk: Buffer): void => {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    try {
      while (this.pending.length >= 2) {
        const total = frameLength(this.pending);
        if (total === undefined) return;
        if (total > MAX_MESSAGE_BYTES) throw new BerError('message too large');
        if (this.pending.length < total) return;
        const frame = this.pending.subarray(0, total);
        this.pending = this.pending.subarray(total);
        this.dispatch(frame);
      }
    } catch {
      // A server sending garbage: drop the connection, the owner reconnects.
      this.onEnd();
    }
  };

  private dispatch(frame: Buffer): void {
    const envelope = readTlv(frame, 0);
    const parts = [...children(envelope.value)];
    const [idEl, op, ctl] = parts;
    if (!idEl || idEl.tag !== 0x02 || !op) throw new BerError('malformed LDAPMessage');
    const message: LdapMessage = {
      id: decodeSmallInt(idEl.value),
      op,
      controls: ctl?.tag === 0xa0 ? decodeControls(ctl.value) : [],
    };
    if (message.id === 0) {
      // Notice of disconnection (RFC 4511 §4.4.1).
      this.onEnd();
      return;
    }
    this.handlers.get(message.id)?.(message);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends an operation and routes every response with its message ID to `onMessage`. */
  send(op: Buffer, controls: RawControl[], onMessage: (m: LdapMessage) => void): number {
    if (this.closed) throw new Error('connection closed');
    const id = this.nextId++;
    this.handlers.set(id, onMessage);
    const parts = [ber.integer(id), op, ...(controls.length ? [encodeControls(controls)] : [])];
    this.socket.write(ber.sequence(...parts));
    return id;
  }

  /** Sends one request and waits for its single response. */
  request(op: Buffer, expectTag: number, timeoutMs = 10_000): Promise<LdapMessage> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.off('close', onClose);
      };
      const onClose = (): void => {
        done();
        reject(new Error('connection closed'));
      };
      // A server that accepts and never answers must not hang its caller: give up and drop the connection.
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no response within ${timeoutMs} ms`));
        this.close();
      }, timeoutMs);
      this.once('close', onClose);
      const id = this.send(op, [], (m) => {
        this.handlers.delete(id);
        done();
        if (m.op.tag !== expectTag) reject(new BerError(`unexpected response tag ${m.op.tag}`));
        else resolve(m);
      });
    });
  }

  async bind(dn: string, password: Buffer | string, timeoutMs?: number): Promise<void> {
    const pw = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
    const op = tlv(Op.bindRequest, ber.integer(3), ber.octets(dn), ber.octets(pw, 0x80));
    const res = decodeResult((await this.request(op, Op.bindResponse, timeoutMs)).op);
    if (res.code !== 0) throw new LdapResultError(res);
  }

  private async startTls(tlsOptions: ReturnType<typeof tlsOptionsFor>, host: string): Promise<void> {
    const op = tlv(Op.extendedReq, ber.octets(START_TLS_OID, 0x80));
    const res = decodeResult((await this.request(op, Op.extendedResp)).op);
    if (res.code !== 0) throw new LdapResultError(res);
    this.detach();
    const plain = this.socket;
    this.socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ ...tlsOptions, socket: plain, host });
      s.once('secureConnect', () => {
        s.removeListener('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
    this.attach();
  }

  close(): void {
    if (this.closed) return;
    try {
      this.socket.write(ber.sequence(ber.integer(this.nextId++), Buffer.from([Op.unbindRequest, 0])));
    } catch {
      // closing anyway
    }
    this.socket.end();
    this.onEnd();
  }
}

/** Total bytes of the frame at the start of `buf`, or undefined when the length bytes are not all there. */
function frameLength(buf: Buffer): number | undefined {
  if (buf[0] !== 0x30) throw new BerError('LDAPMessage must be a SEQUENCE');
  const first = buf[1]!;
  if (first < 0x80) return 2 + first;
  const count = first & 0x7f;
  if (count === 0 || count > 4) throw new BerError('bad message length');
  if (buf.length < 2 + count) return undefined;
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + buf[2 + i]!;
  return 2 + count + length;
}

export interface SearchSpec {
  base: string;
  scope: 'base' | 'one' | 'sub';
  /** Only the presence filter is needed here. */
  presentAttribute: string;
  attributes: string[];
}

export function encodeSearchRequest(s: SearchSpec): Buffer {
  const scope = { base: 0, one: 1, sub: 2 }[s.scope];
  return tlv(
    Op.searchRequest,
    ber.octets(s.base),
    ber.enumerated(scope),
    ber.enumerated(0),
    ber.integer(0),
    ber.integer(0),
    ber.boolean(false),
    ber.octets(s.presentAttribute, 0x87),
    ber.sequence(...s.attributes.map((a) => ber.octets(a))),
  );
}

/** The DN of a SearchResultEntry. */
export function entryDn(op: Tlv): string {
  const first = readTlv(op.value, 0);
  return first.value.toString('utf8');
}
