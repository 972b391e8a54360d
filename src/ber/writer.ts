// Builds BER in one growing buffer. Sequences reserve one length octet and move their content only when
// the length needs the long form, so nesting costs one copy at most per level.
import { BerTag } from './tags.js';

export class BerWriter {
  private buf: Buffer;
  private pos = 0;
  private readonly open: number[] = [];

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private writeLength(length: number): void {
    if (length < 0x80) {
      this.ensure(1);
      this.buf[this.pos++] = length;
      return;
    }
    const n = lengthOctets(length);
    this.ensure(1 + n);
    this.buf[this.pos++] = 0x80 | n;
    this.buf.writeUIntBE(length, this.pos, n);
    this.pos += n;
  }

  startSequence(tag: number = BerTag.sequence): this {
    this.ensure(2);
    this.buf[this.pos++] = tag;
    this.pos++; // one reserved length octet
    this.open.push(this.pos);
    return this;
  }

  endSequence(): this {
    const start = this.open.pop();
    if (start === undefined) throw new Error('endSequence without startSequence');
    const length = this.pos - start;
    if (length < 0x80) {
      this.buf[start - 1] = length;
      return this;
    }
    const n = lengthOctets(length);
    this.ensure(n);
    this.buf.copyWithin(start + n, start, this.pos);
    this.buf[start - 1] = 0x80 | n;
    this.buf.writeUIntBE(length, start, n);
    this.pos += n;
    return this;
  }

  writeInteger(value: number, tag: number = BerTag.integer): this {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff)
      throw new RangeError(`integer ${value} does not fit in 32 bits`);
    let n = 1;
    while (n < 4 && (value < -(2 ** (8 * n - 1)) || value >= 2 ** (8 * n - 1))) n++;
    this.ensure(2 + n);
    this.buf[this.pos++] = tag;
    this.buf[this.pos++] = n;
    this.buf.writeIntBE(value, this.pos, n);
    this.pos += n;
    return this;
  }

  writeEnumerated(value: number, tag: number = BerTag.enumerated): this {
    return this.writeInteger(value, tag);
  }

  writeBoolean(value: boolean, tag: number = BerTag.boolean): this {
    this.ensure(3);
    this.buf[this.pos++] = tag;
    this.buf[this.pos++] = 1;
    this.buf[this.pos++] = value ? 0xff : 0x00;
    return this;
  }

  writeOctetString(value: Buffer | Uint8Array | string, tag: number = BerTag.octetString): this {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    this.ensure(1);
    this.buf[this.pos++] = tag;
    this.writeLength(bytes.length);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  writeNull(tag: number = BerTag.null): this {
    this.ensure(2);
    this.buf[this.pos++] = tag;
    this.buf[this.pos++] = 0;
    return this;
  }

  /** Appends already-encoded BER (a whole element, or several). */
  writeRaw(bytes: Buffer | Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  get length(): number {
    return this.pos;
  }

  /** The encoded bytes in a buffer of their own. */
  toBuffer(): Buffer {
    if (this.open.length !== 0) throw new Error(`${this.open.length} sequence(s) still open`);
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

function lengthOctets(length: number): number {
  if (length < 0x100) return 1;
  if (length < 0x10000) return 2;
  if (length < 0x1000000) return 3;
  if (length <= 0xffffffff) return 4;
  throw new RangeError(`length ${length} needs more than 4 octets`);
}
