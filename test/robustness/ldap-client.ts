// A minimal pipelining LDAP client over a raw socket for load and fault tests: it sends prebuilt requests
// and resolves each with its final response, or with 'closed' when the connection ends first. It never
// retries anything, so what the directory holds afterwards is exactly what the proxy did.
import type { Socket } from 'node:net';
import { encodeBindRequest } from '../../src/ldap/index.js';
import { NOTICE_OF_DISCONNECTION, openSocket, splitMessages } from './ldap-wire.js';
import type { Message } from './ldap-wire.js';
import { rootDseSearch, searchRequest } from './pdus.js';

export type OpResult = { kind: 'response'; message: Message; entries: number } | { kind: 'closed' };

const INTERMEDIATE = new Set([0x64, 0x73, 0x79]);

export class LdapClient {
  private buf = Buffer.alloc(0);
  private readonly pending = new Map<number, { resolve: (r: OpResult) => void; entries: number }>();
  private nextId = 1;
  closed = false;
  /** Unsolicited Notice of Disconnection received, with its resultCode. */
  notice: number | undefined;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      for (const p of this.pending.values()) p.resolve({ kind: 'closed' });
      this.pending.clear();
    });
  }

  static async open(port: number): Promise<LdapClient> {
    return new LdapClient(await openSocket(port));
  }

  private onData(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    const { messages, rest } = splitMessages(this.buf);
    this.buf = Buffer.from(rest);
    for (const m of messages) {
      if (m.id === 0) {
        if (m.responseName === NOTICE_OF_DISCONNECTION) this.notice = m.resultCode;
        continue;
      }
      const p = this.pending.get(m.id);
      if (!p) continue;
      if (INTERMEDIATE.has(m.opTag)) {
        p.entries++;
        continue;
      }
      this.pending.delete(m.id);
      p.resolve({ kind: 'response', message: m, entries: p.entries });
    }
  }

  /** A message ID for the next request (requests are built by the caller with it). */
  id(): number {
    return this.nextId++;
  }

  /** Waits for the final response to `id` (or the close), for requests the caller writes itself. */
  expect(id: number): Promise<OpResult> {
    if (this.closed) return Promise.resolve({ kind: 'closed' });
    return new Promise((resolve) => this.pending.set(id, { resolve, entries: 0 }));
  }

  /** Sends a request built with `id` and waits for its final response (or the close). */
  send(id: number, frame: Buffer): Promise<OpResult> {
    const result = this.expect(id);
    if (!this.closed) this.socket.write(frame);
    return result;
  }

  /** Like send, but rejects when neither a response nor the close came within `ms` (a hang). */
  async sendWithin(id: number, frame: Buffer, ms: number, what = 'operation'): Promise<OpResult> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.send(id, frame),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${what}: no response and no close in ${ms} ms`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async bind(dn: string, password: string, ms = 10_000): Promise<number | undefined> {
    const id = this.id();
    const r = await this.sendWithin(
      id,
      encodeBindRequest({
        messageId: id,
        version: 3,
        name: dn,
        authentication: { kind: 'simple', password: Buffer.from(password) },
      }),
      ms,
      'bind',
    );
    return r.kind === 'response' ? r.message.resultCode : undefined;
  }

  /** Root DSE read; resolves with the elapsed ms (used as the latency probe of the other tests). */
  async ping(ms = 5000): Promise<number> {
    const id = this.id();
    const t0 = performance.now();
    const r = await this.sendWithin(id, rootDseSearch(id), ms, 'ping');
    if (r.kind !== 'response' || r.message.resultCode !== 0)
      throw new Error(`ping failed: ${JSON.stringify(r)}`);
    return performance.now() - t0;
  }

  /** (uid=<uid>) under ou=People: the number of entries. */
  async findUid(uid: string, ms = 10_000): Promise<OpResult> {
    const id = this.id();
    return this.sendWithin(
      id,
      searchRequest(id, {
        base: 'ou=People,dc=example,dc=com',
        scope: 1,
        filter: { eq: ['uid', uid] },
        attributes: ['uid'],
      }),
      ms,
      'search',
    );
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Median and 95th percentile of a sample, in ms, for reports. */
export function summarize(ms: readonly number[]): string {
  if (ms.length === 0) return 'no samples';
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
  return `median ${q(0.5).toFixed(1)} ms, p95 ${q(0.95).toFixed(1)} ms, max ${q(1).toFixed(1)} ms (n=${s.length})`;
}
