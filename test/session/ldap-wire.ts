// A minimal raw LDAP client for the session tests: writes exact bytes and reads whole response frames.
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { BerWriter } from '../../src/ber/index.js';
import { FrameReader } from '../../src/frame/index.js';
import { ProtocolOp, encodeMessage } from '../../src/ldap/index.js';

/** A SearchRequest for (objectClass=*) with no attribute list, as a whole LDAPMessage. */
export function searchRequest(messageId: number, base: string, scope: number): Buffer {
  const w = new BerWriter();
  w.startSequence(ProtocolOp.searchRequest).writeOctetString(base).writeEnumerated(scope).writeEnumerated(0);
  w.writeInteger(0).writeInteger(0).writeBoolean(false).writeOctetString('objectClass', 0x87).startSequence();
  w.endSequence().endSequence();
  return encodeMessage(messageId, w.toBuffer());
}

export interface Received {
  frame: Buffer;
  messageId: number;
  opTag: number;
}

export class WireClient {
  private readonly reader = new FrameReader(1 << 26);
  private readonly frames: Received[] = [];
  private waiters: (() => void)[] = [];
  closed = false;
  error: Error | undefined;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      try {
        this.reader.push(chunk);
        while (this.reader.next())
          this.frames.push({
            frame: Buffer.from(this.reader.frame),
            messageId: this.reader.messageId,
            opTag: this.reader.opTag,
          });
      } catch (e) {
        this.error = e as Error;
        socket.destroy();
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => resolve(new WireClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next frame, or undefined once the connection is closed. */
  async next(): Promise<Received | undefined> {
    for (;;) {
      if (this.error) throw this.error;
      const f = this.frames.shift();
      if (f) return f;
      if (this.closed) return undefined;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Frames until one with `opTag` and `messageId` arrives (inclusive). */
  async until(messageId: number, opTag: number): Promise<Received[]> {
    const out: Received[] = [];
    for (;;) {
      const f = await this.next();
      if (!f)
        throw new Error(
          `closed before response ${messageId}/0x${opTag.toString(16)}; got ${out.length} frames`,
        );
      out.push(f);
      if (f.messageId === messageId && f.opTag === opTag) return out;
    }
  }

  async waitClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
  }

  destroy(): void {
    this.socket.destroy();
  }
}
