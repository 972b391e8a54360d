// A cursor over one BER buffer. Reads never copy: strings and raw elements are subarrays of the input.
// A value that runs past the end of its container is a BerError, never a silent '' or 0.
import { BerError } from './errors.js';
import { BerTag, MAX_LENGTH_OCTETS } from './tags.js';

export class BerReader {
  private pos: number;
  private readonly end: number;

  constructor(
    readonly buffer: Buffer,
    start = 0,
    end = buffer.length,
    /** Also refuse long-form lengths that are not minimal (DER, X.690 §10.1); inherited by inner readers. */
    readonly der = false,
  ) {
    this.pos = start;
    this.end = end;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** The next identifier octet without consuming it, or -1 at the end. */
  peekTag(): number {
    return this.pos < this.end ? (this.buffer[this.pos] as number) : -1;
  }

  readTag(expected?: number): number {
    if (this.pos >= this.end) throw new BerError('expected a tag, found the end of the element', this.pos);
    const tag = this.buffer[this.pos] as number;
    if ((tag & 0x1f) === 0x1f)
      throw new BerError(`multi-byte tag 0x${tag.toString(16)} is not used by LDAP`, this.pos);
    if (expected !== undefined && tag !== expected)
      throw new BerError(`expected tag 0x${expected.toString(16)}, found 0x${tag.toString(16)}`, this.pos);
    this.pos++;
    return tag;
  }

  /** Reads a definite length and checks that the content fits in the enclosing element. */
  readLength(): number {
    const at = this.pos;
    if (at >= this.end) throw new BerError('expected a length, found the end of the element', at);
    const first = this.buffer[this.pos++] as number;
    let length: number;
    if (first < 0x80) {
      length = first;
    } else {
      const n = first & 0x7f;
      if (n === 0) throw new BerError('indefinite length is not allowed in LDAP (RFC 4511 §5.1)', at);
      if (n > MAX_LENGTH_OCTETS) throw new BerError(`length of length ${n} is over ${MAX_LENGTH_OCTETS}`, at);
      if (this.pos + n > this.end) throw new BerError('length octets run past the end of the element', at);
      length = 0;
      if (this.der && (this.buffer[this.pos] === 0 || (n === 1 && (this.buffer[this.pos] as number) < 0x80)))
        throw new BerError('non-minimal length is not DER', at);
      for (let i = 0; i < n; i++) length = length * 256 + (this.buffer[this.pos++] as number);
    }
    if (length > this.end - this.pos)
      throw new BerError(
        `length ${length} runs past the end of the element (${this.end - this.pos} left)`,
        at,
      );
    return length;
  }

  /** Enters a constructed element: returns a reader over its content and moves past it. */
  readSequence(tag: number = BerTag.sequence): BerReader {
    this.readTag(tag);
    const length = this.readLength();
    const inner = new BerReader(this.buffer, this.pos, this.pos + length, this.der);
    this.pos += length;
    return inner;
  }

  /** INTEGER or ENUMERATED of 1..4 content octets, two's complement. */
  readInteger(tag: number = BerTag.integer): number {
    this.readTag(tag);
    const at = this.pos;
    const length = this.readLength();
    if (length < 1 || length > 4) throw new BerError(`integer of ${length} octets is out of range`, at);
    const value = this.buffer.readIntBE(this.pos, length);
    this.pos += length;
    return value;
  }

  readEnumerated(tag: number = BerTag.enumerated): number {
    return this.readInteger(tag);
  }

  readBoolean(tag: number = BerTag.boolean): boolean {
    this.readTag(tag);
    const at = this.pos;
    if (this.readLength() !== 1) throw new BerError('boolean must have one content octet', at);
    return (this.buffer[this.pos++] as number) !== 0;
  }

  /** Content of a primitive element as a view into the input. */
  readOctetString(tag: number = BerTag.octetString): Buffer {
    this.readTag(tag);
    const length = this.readLength();
    const value = this.buffer.subarray(this.pos, this.pos + length);
    this.pos += length;
    return value;
  }

  readString(tag: number = BerTag.octetString): string {
    return this.readOctetString(tag).toString('utf8');
  }

  /** The whole next element (tag, length and content) as a view. */
  readElement(): Buffer {
    const start = this.pos;
    this.readTag();
    const length = this.readLength();
    this.pos += length;
    return this.buffer.subarray(start, this.pos);
  }

  skip(): void {
    this.readTag();
    const length = this.readLength();
    this.pos += length;
  }

  /** Fails when trailing bytes remain inside a container that should be fully consumed. */
  expectEnd(what: string): void {
    if (this.pos !== this.end)
      throw new BerError(`${this.end - this.pos} unexpected bytes after ${what}`, this.pos);
  }
}
