// A minimal BER/DER reader and writer: just enough for the change subscription's LDAP messages and the
// verify extended operation. Not on the proxy's forwarding hot path.

export class BerError extends Error {
  override name = 'BerError';
}

export interface Tlv {
  tag: number;
  /** The contents octets (a view into the source buffer). */
  value: Buffer;
  /** Offset just past this element. */
  end: number;
}

/**
 * Reads one element at `offset`, bounded by `limit`. Single-byte tags only (all LDAP tags are).
 * `der` additionally requires minimal length encodings. Throws BerError on any malformed or truncated input.
 */
export function readTlv(buf: Buffer, offset: number, limit = buf.length, der = false): Tlv {
  if (offset >= limit) throw new BerError('truncated: missing tag');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new BerError('multi-byte tags are not supported');
  if (offset + 1 >= limit) throw new BerError('truncated: missing length');
  const first = buf[offset + 1]!;
  let pos = offset + 2;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const count = first & 0x7f;
    if (count === 0) throw new BerError('indefinite length');
    if (count > 4) throw new BerError('length too large');
    if (pos + count > limit) throw new BerError('truncated: length bytes');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[pos + i]!;
    if (der && (length < 0x80 || buf[pos] === 0)) throw new BerError('non-minimal length');
    pos += count;
  }
  if (pos + length > limit) throw new BerError('truncated: value');
  return { tag, value: buf.subarray(pos, pos + length), end: pos + length };
}

/** Iterates the elements inside a constructed value; the whole value must be consumed. */
export function* children(value: Buffer, der = false): Generator<Tlv> {
  let pos = 0;
  while (pos < value.length) {
    const el = readTlv(value, pos, value.length, der);
    yield el;
    pos = el.end;
  }
}

/** Reads exactly one element filling `buf`; trailing bytes are an error. */
export function readOnly(buf: Buffer, der = false): Tlv {
  const el = readTlv(buf, 0, buf.length, der);
  if (el.end !== buf.length) throw new BerError('trailing bytes');
  return el;
}

/** Decodes INTEGER contents as a bigint (two's complement). `der` requires the minimal encoding. */
export function decodeInteger(value: Buffer, der = false): bigint {
  if (value.length === 0) throw new BerError('empty INTEGER');
  if (der && value.length > 1) {
    const a = value[0]!;
    const b = value[1]!;
    if ((a === 0 && b < 0x80) || (a === 0xff && b >= 0x80)) throw new BerError('non-minimal INTEGER');
  }
  let n = 0n;
  for (const byte of value) n = (n << 8n) | BigInt(byte);
  if (value[0]! >= 0x80) n -= 1n << BigInt(value.length * 8);
  return n;
}

/** Decodes a small non-negative INTEGER/ENUMERATED. */
export function decodeSmallInt(value: Buffer): number {
  const n = decodeInteger(value);
  if (n < 0n || n > 0x7fffffffn) throw new BerError('integer out of range');
  return Number(n);
}

export function decodeBoolean(value: Buffer): boolean {
  if (value.length !== 1) throw new BerError('BOOLEAN must be one byte');
  return value[0] !== 0;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(value: Buffer): string {
  try {
    return utf8.decode(value);
  } catch {
    throw new BerError('invalid UTF-8');
  }
}

export function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = contents.length === 1 ? contents[0]! : Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
}

/** Minimal two's-complement contents of an INTEGER. */
export function integerContents(n: bigint | number): Buffer {
  let v = BigInt(n);
  const bytes: number[] = [];
  for (;;) {
    const byte = Number(v & 0xffn);
    bytes.unshift(byte);
    v >>= 8n;
    if ((v === 0n && byte < 0x80) || (v === -1n && byte >= 0x80)) break;
  }
  return Buffer.from(bytes);
}

export const ber = {
  sequence: (...items: Buffer[]) => tlv(0x30, ...items),
  integer: (n: bigint | number, tag = 0x02) => tlv(tag, integerContents(n)),
  enumerated: (n: number) => tlv(0x0a, integerContents(n)),
  boolean: (b: boolean) => tlv(0x01, Buffer.from([b ? 0xff : 0x00])),
  octets: (v: Buffer | string, tag = 0x04) => tlv(tag, typeof v === 'string' ? Buffer.from(v, 'utf8') : v),
};
