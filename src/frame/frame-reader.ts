// Streaming LDAPMessage framer. It reads only the envelope (length, messageID, protocolOp tag) and never
// buffers a body before checking its declared length against the limit. A frame inside one chunk is a
// subarray of that chunk; only a frame split across chunks is copied, once, into a buffer of its exact size.
//
// Use: reader.push(chunk); while (reader.next()) use(reader.frame, reader.messageId, reader.opTag).
// push() may only be called once next() has returned false (the previous chunk is fully consumed).

const EMPTY = Buffer.alloc(0);
/** Tag (1) + long-form length (1 + 4). */
const MAX_HEADER = 6;
const SEQUENCE = 0x30;
/**
 * A split frame's buffer starts at most this big and doubles as bytes arrive, so a peer that announces a
 * large (allowed) length and then trickles bytes cannot make every connection hold the full size at once.
 */
const INITIAL_PARTIAL_BYTES = 65536;

export type FrameErrorReason =
  'notASequence' | 'indefiniteLength' | 'lengthOfLength' | 'tooLarge' | 'badEnvelope';

/** The peer sent something that cannot be an LDAPMessage; the connection must be closed. */
export class FrameError extends Error {
  override name = 'FrameError';
  constructor(
    readonly reason: FrameErrorReason,
    message: string,
  ) {
    super(message);
  }
}

export class FrameReader {
  /** Largest whole LDAPMessage (header included) accepted; may change between frames (after a bind). */
  maxFrameBytes: number;
  /** The last frame returned by next(); valid until the next call. */
  frame: Buffer = EMPTY;
  messageId = 0;
  opTag = 0;

  private buf: Buffer = EMPTY;
  private pos = 0;
  private readonly head = Buffer.alloc(MAX_HEADER);
  private headLen = 0;
  private partial: Buffer | null = null;
  private partialTotal = 0;
  private filled = 0;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  push(chunk: Buffer): void {
    if (this.pos < this.buf.length)
      throw new Error('FrameReader.push called before the previous chunk was consumed');
    this.buf = chunk;
    this.pos = 0;
  }

  /** Bytes the reader still references: a chunk not yet consumed, a partial frame, header bytes. */
  get retainedBytes(): number {
    return this.buf.length + (this.partial?.length ?? 0) + this.headLen;
  }

  /** True while the last pushed chunk still has bytes not returned (views of it are still needed). */
  get holdsChunk(): boolean {
    return this.pos < this.buf.length;
  }

  /** True when bytes of a next frame have been received but not yet returned. */
  get hasPendingBytes(): boolean {
    return this.pos < this.buf.length || this.partial !== null || this.headLen > 0;
  }

  /**
   * Everything received but not returned as a frame, in order; the reader is empty afterwards. Used when
   * the stream stops being BER (a SASL security layer installed by a bind, RFC 4422 §3.7).
   */
  takeRemaining(): Buffer {
    const parts: Buffer[] = [];
    if (this.headLen > 0) parts.push(Buffer.from(this.head.subarray(0, this.headLen)));
    if (this.partial !== null) parts.push(this.partial.subarray(0, this.filled));
    if (this.pos < this.buf.length) parts.push(this.buf.subarray(this.pos));
    this.headLen = 0;
    this.partial = null;
    this.frame = EMPTY;
    this.release();
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  next(): boolean {
    this.frame = EMPTY;
    const buf = this.buf;
    if (this.partial === null) {
      if (this.headLen === 0) {
        const avail = buf.length - this.pos;
        if (avail === 0) return this.release();
        const total = this.frameLength(buf, this.pos, avail);
        if (total < 0) {
          buf.copy(this.head, 0, this.pos, buf.length);
          this.headLen = avail;
          return this.release();
        }
        if (avail >= total) {
          const start = this.pos;
          this.pos += total;
          this.setFrame(buf.subarray(start, this.pos));
          if (this.pos === buf.length) this.release();
          return true;
        }
        this.startPartial(total);
      } else {
        // Finish a header that was split across chunks, one byte at a time (at most 5 bytes).
        for (;;) {
          if (this.pos >= buf.length) return this.release();
          this.head[this.headLen++] = buf[this.pos++] as number;
          const total = this.frameLength(this.head, 0, this.headLen);
          if (total >= 0) {
            this.head.copy(this.startPartial(total), 0, 0, this.headLen);
            this.filled = this.headLen;
            this.headLen = 0;
            break;
          }
        }
      }
    }
    const total = this.partialTotal;
    const n = Math.min(total - this.filled, buf.length - this.pos);
    let partial = this.partial;
    if (partial === null) return false; // unreachable: set above
    if (this.filled + n > partial.length) {
      const grown = Buffer.allocUnsafe(Math.min(total, Math.max(partial.length * 2, this.filled + n)));
      partial.copy(grown, 0, 0, this.filled);
      partial = this.partial = grown;
    }
    buf.copy(partial, this.filled, this.pos, this.pos + n);
    this.filled += n;
    this.pos += n;
    if (this.pos === buf.length) this.release();
    if (this.filled < total) return false;
    this.partial = null;
    this.setFrame(partial.length === total ? partial : partial.subarray(0, total));
    return true;
  }

  private startPartial(total: number): Buffer {
    const partial = Buffer.allocUnsafe(Math.min(total, INITIAL_PARTIAL_BYTES));
    this.partial = partial;
    this.partialTotal = total;
    this.filled = 0;
    return partial;
  }

  private release(): false {
    this.buf = EMPTY;
    this.pos = 0;
    return false;
  }

  /** Total frame length from the header at b[off..off+avail), -1 if more header bytes are needed. */
  private frameLength(b: Buffer, off: number, avail: number): number {
    const tag = b[off] as number;
    if (tag !== SEQUENCE)
      throw new FrameError('notASequence', `expected an LDAPMessage SEQUENCE (0x30), got 0x${hex(tag)}`);
    if (avail < 2) return -1;
    const first = b[off + 1] as number;
    if (first < 0x80) return this.checkLimit(2 + first);
    const n = first & 0x7f;
    if (n === 0) throw new FrameError('indefiniteLength', 'indefinite length is not allowed (RFC 4511 §5.1)');
    if (n > 4) throw new FrameError('lengthOfLength', `length of length ${n} is over 4`);
    if (avail < 2 + n) return -1;
    let length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (b[off + 2 + i] as number);
    return this.checkLimit(2 + n + length);
  }

  private checkLimit(total: number): number {
    if (total > this.maxFrameBytes)
      throw new FrameError('tooLarge', `PDU of ${total} bytes is over the limit of ${this.maxFrameBytes}`);
    return total;
  }

  /** Decodes messageID and the protocolOp tag, checking that both lie inside the frame. */
  private setFrame(frame: Buffer): void {
    const end = frame.length;
    let p = (frame[1] as number) < 0x80 ? 2 : 2 + ((frame[1] as number) & 0x7f);
    if (p + 2 > end || frame[p] !== 0x02) throw new FrameError('badEnvelope', 'messageID INTEGER missing');
    const idLen = frame[p + 1] as number;
    p += 2;
    if (idLen < 1 || idLen > 4 || p + idLen > end)
      throw new FrameError('badEnvelope', `messageID of ${idLen} octets is invalid`);
    if ((frame[p] as number) & 0x80) throw new FrameError('badEnvelope', 'messageID is negative');
    let id = 0;
    for (let i = 0; i < idLen; i++) id = id * 256 + (frame[p + i] as number);
    p += idLen;
    if (p + 2 > end) throw new FrameError('badEnvelope', 'protocolOp missing');
    const opTag = frame[p] as number;
    const first = frame[p + 1] as number;
    let opEnd: number;
    if (first < 0x80) {
      opEnd = p + 2 + first;
    } else {
      const n = first & 0x7f;
      if (n === 0 || n > 4 || p + 2 + n > end)
        throw new FrameError('badEnvelope', 'protocolOp length is invalid');
      let length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + (frame[p + 2 + i] as number);
      opEnd = p + 2 + n + length;
    }
    if (opEnd > end) throw new FrameError('badEnvelope', 'protocolOp runs past the end of the LDAPMessage');
    this.frame = frame;
    this.messageId = id;
    this.opTag = opTag;
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
