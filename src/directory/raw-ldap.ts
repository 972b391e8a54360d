// A tiny LDAP client over net/tls for one long-running search whose entries must be seen as they arrive
// (ldapts buffers a search until SearchResultDone, so it cannot carry a syncrepl or persistent search).
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { BerError, BerWriter } from '../ber/index.js';
import { FrameReader } from '../frame/index.js';
import {
  ProtocolOp,
  decodeBindResponse,
  decodeEnvelope,
  decodeExtendedResponse,
  encodeMessage,
} from '../ldap/index.js';
import type { Control, Envelope, LdapResult } from '../ldap/index.js';
import { tlsOptionsFor } from './connect.js';

const START_TLS_OID = '1.3.6.1.4.1.1466.20037';
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const SIMPLE_AUTH_TAG = 0x80;
const REQUEST_NAME_TAG = 0x80;
const REQUEST_VALUE_TAG = 0x81;
const PRESENT_FILTER_TAG = 0x87;
const UNBIND_REQUEST = Buffer.from([ProtocolOp.unbindRequest, 0]);
const READ_BUFFER_BYTES = 64 * 1024;

/** A decoded envelope and the frame it came from (for the src/ldap response decoders). */
export interface LdapMessage extends Envelope {
  frame: Buffer;
}

export class LdapResultError extends Error {
  override name = 'LdapResultError';
  constructor(readonly result: LdapResult) {
    super(
      `LDAP result ${result.resultCode}${result.diagnosticMessage ? `: ${result.diagnosticMessage}` : ''}`,
    );
  }
}

export interface RawConnectOptions {
  url: string;
  starttls?: boolean;
  caFile?: string;
  connectTimeoutMs?: number;
}

/** An exchange waiting for its answer: failed on close, or when its deadline passes. */
interface PendingExchange {
  deadline: number;
  timeoutMs: number;
  fail: (e: Error) => void;
}

/** One connection; messages are routed to a handler per message ID. Emits 'close' once. */
export class RawLdapConnection extends EventEmitter {
  private nextId = 1;
  private readonly frames = new FrameReader(MAX_MESSAGE_BYTES);
  private readonly handlers = new Map<number, (m: LdapMessage) => void>();
  /** Message ID → deadline of each exchange(); one timer per connection watches them all. */
  private readonly pending = new Map<number, PendingExchange>();
  private deadlineTimer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;
  /** Requests written in one turn of the event loop leave in one write (see send). */
  private corked = false;
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
    // Plain connections read into one buffer per connection (net onread): no 64 KiB allocation and no
    // Readable 'data' path per read. Each chunk is copied out (small: from Buffer's pool), so handlers may
    // keep views of a frame. TLS (ldaps, StartTLS) keeps the stream path.
    const received: Buffer[] = [];
    let deliver = (chunk: Buffer): void => void received.push(chunk);
    const onread =
      secure || opts.starttls
        ? undefined
        : {
            buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
            callback: (n: number, buf: Uint8Array): boolean => {
              deliver(Buffer.from(buf.subarray(0, n)));
              return true;
            },
          };
    const socket = await new Promise<Socket | TLSSocket>((resolve, reject) => {
      const s = secure
        ? tlsConnect({ ...tlsOptions, host: url.hostname, port })
        : netConnect({ host: url.hostname, port, ...(onread ? { onread } : {}) });
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
    if (onread) {
      deliver = conn.onData;
      for (const chunk of received.splice(0)) conn.onData(chunk);
    }
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
    this.stopDeadlines();
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) p.fail(new Error('connection closed'));
    this.emit('close');
  };

  private readonly uncork = (): void => {
    this.corked = false;
    if (!this.closed) this.socket.uncork();
  };

  private readonly onData = (chunk: Buffer): void => {
    if (this.closed) return;
    try {
      this.frames.push(chunk);
      while (this.frames.next()) this.dispatch(this.frames.frame);
    } catch {
      // A server sending garbage (FrameError, BerError): drop the connection, the owner reconnects.
      this.onEnd();
    }
  };

  private dispatch(frame: Buffer): void {
    const e = decodeEnvelope(frame);
    // Fields copied one by one: an object spread per received message showed in profiles.
    const message: LdapMessage = {
      messageId: e.messageId,
      opTag: e.opTag,
      op: e.op,
      controls: e.controls,
      frame,
    };
    if (message.messageId === 0) {
      // Notice of disconnection (RFC 4511 §4.4.1).
      this.onEnd();
      return;
    }
    this.handlers.get(message.messageId)?.(message);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Sends an operation and routes every response with its message ID to `onMessage`. Requests sent during
   * one turn of the event loop (several verifications arriving together) are corked and leave in one
   * write at the next check phase: one syscall and one wake-up of the server instead of one per request.
   */
  send(op: Buffer, controls: Control[], onMessage: (m: LdapMessage) => void): number {
    if (this.closed) throw new Error('connection closed');
    const id = this.nextId++;
    this.handlers.set(id, onMessage);
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(this.uncork);
    }
    this.socket.write(encodeMessage(id, op, controls));
    return id;
  }

  private watchDeadline(id: number, p: PendingExchange): void {
    this.pending.set(id, p);
    if (p.deadline >= this.armedFor) return;
    this.stopDeadlines();
    this.armDeadlines(p.deadline, p.timeoutMs);
  }

  private armDeadlines(deadline: number, inMs: number): void {
    this.armedFor = deadline;
    // The socket keeps the process alive while anything is pending; the timer need not.
    this.deadlineTimer = setTimeout(this.checkDeadlines, Math.max(1, Math.ceil(inMs))).unref();
  }

  private stopDeadlines(): void {
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.armedFor = Infinity;
  }

  /** Fails the exchanges whose deadline passed (and drops the connection), re-arms for the next one. */
  private readonly checkDeadlines = (): void => {
    this.deadlineTimer = undefined;
    this.armedFor = Infinity;
    const now = performance.now();
    let next = Infinity;
    let expired: PendingExchange | undefined;
    for (const [id, p] of this.pending) {
      if (p.deadline <= now) {
        this.pending.delete(id);
        this.handlers.delete(id);
        expired ??= p;
        p.fail(new Error(`no response within ${p.timeoutMs} ms`));
      } else if (p.deadline < next) next = p.deadline;
    }
    // A server that stopped answering one request is not trusted with the others.
    if (expired) this.close();
    else if (next !== Infinity) this.armDeadlines(next, next - now);
  };

  /**
   * Sends one request and feeds its responses to `onMessage` until it returns a result (not undefined) or
   * throws. A server that accepts and never answers must not hang its caller: after timeoutMs the
   * exchange fails and the connection is dropped.
   */
  exchange<T>(op: Buffer, onMessage: (m: LdapMessage) => T | undefined, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      let id = -1;
      const finish = (): void => {
        this.pending.delete(id);
        this.handlers.delete(id);
      };
      try {
        id = this.send(op, [], (m) => {
          let result: T | undefined;
          try {
            result = onMessage(m);
          } catch (e) {
            finish();
            reject(e instanceof Error ? e : new Error(String(e)));
            return;
          }
          if (result === undefined) return;
          finish();
          resolve(result);
        });
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      this.watchDeadline(id, { deadline: performance.now() + timeoutMs, timeoutMs, fail: reject });
    });
  }

  /** Sends one request and waits for its single response, which must have `expectTag`. */
  request(op: Buffer, expectTag: number, timeoutMs = 10_000): Promise<LdapMessage> {
    return this.exchange(
      op,
      (m) => {
        if (m.opTag !== expectTag) throw new BerError(`unexpected response tag ${m.opTag}`, 0);
        return m;
      },
      timeoutMs,
    );
  }

  async bind(dn: string, password: Buffer | string, timeoutMs?: number): Promise<void> {
    const op = simpleBindOp(dn, password);
    const res = decodeBindResponse((await this.request(op, ProtocolOp.bindResponse, timeoutMs)).frame);
    if (res.resultCode !== 0) throw new LdapResultError(res);
  }

  private async startTls(tlsOptions: ReturnType<typeof tlsOptionsFor>, host: string): Promise<void> {
    const op = extendedOp(START_TLS_OID);
    const res = decodeExtendedResponse((await this.request(op, ProtocolOp.extendedResp)).frame);
    if (res.resultCode !== 0) throw new LdapResultError(res);
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
      this.socket.write(encodeMessage(this.nextId++, UNBIND_REQUEST));
    } catch {
      // closing anyway
    }
    this.socket.end();
    this.onEnd();
  }
}

export interface SearchSpec {
  base: string;
  scope: 'base' | 'one' | 'sub';
  /** Only the presence filter is needed here. */
  presentAttribute: string;
  attributes: string[];
}

/** A simple BindRequest protocolOp (LDAPv3). */
export function simpleBindOp(dn: string, password: Buffer | string): Buffer {
  return new BerWriter(64)
    .startSequence(ProtocolOp.bindRequest)
    .writeInteger(3)
    .writeOctetString(dn)
    .writeOctetString(password, SIMPLE_AUTH_TAG)
    .endSequence()
    .toBuffer();
}

/** An ExtendedRequest protocolOp. */
export function extendedOp(requestName: string, requestValue?: Buffer): Buffer {
  const w = new BerWriter(64)
    .startSequence(ProtocolOp.extendedReq)
    .writeOctetString(requestName, REQUEST_NAME_TAG);
  if (requestValue !== undefined) w.writeOctetString(requestValue, REQUEST_VALUE_TAG);
  return w.endSequence().toBuffer();
}

export function encodeSearchRequest(s: SearchSpec): Buffer {
  const scope = { base: 0, one: 1, sub: 2 }[s.scope];
  const w = new BerWriter(128)
    .startSequence(ProtocolOp.searchRequest)
    .writeOctetString(s.base)
    .writeEnumerated(scope)
    .writeEnumerated(0) // derefAliases never
    .writeInteger(0) // sizeLimit
    .writeInteger(0) // timeLimit
    .writeBoolean(false) // typesOnly
    .writeOctetString(s.presentAttribute, PRESENT_FILTER_TAG)
    .startSequence();
  for (const a of s.attributes) w.writeOctetString(a);
  return w.endSequence().endSequence().toBuffer();
}
