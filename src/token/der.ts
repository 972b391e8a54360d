// Strict DER for SEQUENCE { OCTET STRING wrappedKey, OCTET STRING ciphertext }: definite minimal lengths,
// primitive OCTET STRINGs, nothing after either element. Dogtag ignores extras; we refuse them.
import { TokenError } from '../keys/provider.js';

const TAG_SEQUENCE = 0x30;
const TAG_OCTET_STRING = 0x04;
const MAX_LENGTH_BYTES = 3; // 16 MiB is far beyond any token

interface Tlv {
  tag: number;
  headerBytes: number;
  value: Buffer;
  end: number;
}

function bad(message: string): never {
  throw new TokenError('der', message);
}

function readTlv(buf: Buffer, offset: number, what: string): Tlv {
  if (offset + 2 > buf.length) bad(`${what}: truncated header`);
  const tag = buf[offset] as number;
  const first = buf[offset + 1] as number;
  let length: number;
  let pos = offset + 2;
  if (first < 0x80) {
    length = first;
  } else {
    const count = first & 0x7f;
    if (count === 0) bad(`${what}: indefinite length is not DER`);
    if (count > MAX_LENGTH_BYTES) bad(`${what}: length field too long`);
    if (pos + count > buf.length) bad(`${what}: truncated length`);
    if (buf[pos] === 0) bad(`${what}: length has a leading zero byte`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (buf[pos + i] as number);
    if (length < 0x80) bad(`${what}: long-form length for a short value`);
    pos += count;
  }
  if (pos + length > buf.length) bad(`${what}: value runs past the end`);
  return { tag, headerBytes: pos - offset, value: buf.subarray(pos, pos + length), end: pos + length };
}

export interface TokenParts {
  wrappedKey: Buffer;
  ciphertext: Buffer;
}

/** Splits the token DER; the returned buffers are views into `der`. */
export function decodeTokenDer(der: Buffer): TokenParts {
  const seq = readTlv(der, 0, 'token');
  if (seq.tag !== TAG_SEQUENCE) bad('token is not a SEQUENCE');
  if (seq.end !== der.length) bad('trailing bytes after the SEQUENCE');
  const first = readTlv(seq.value, 0, 'wrapped key');
  if (first.tag !== TAG_OCTET_STRING) bad('first element is not a primitive OCTET STRING');
  const second = readTlv(seq.value, first.end, 'ciphertext');
  if (second.tag !== TAG_OCTET_STRING) bad('second element is not a primitive OCTET STRING');
  if (second.end !== seq.value.length) bad('extra element in the SEQUENCE');
  return { wrappedKey: first.value, ciphertext: second.value };
}

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthBytes(value.length), value]);
}

export function encodeTokenDer(parts: TokenParts): Buffer {
  return tlv(
    TAG_SEQUENCE,
    Buffer.concat([tlv(TAG_OCTET_STRING, parts.wrappedKey), tlv(TAG_OCTET_STRING, parts.ciphertext)]),
  );
}

export interface DerLayout {
  totalBytes: number;
  header: string;
  sequence: { headerBytes: number; contentBytes: number };
  wrappedKey: { headerBytes: number; bytes: number };
  ciphertext: { headerBytes: number; bytes: number };
}

/** Describes the DER structure (sizes and headers), for `token inspect`; call after decodeTokenDer. */
export function describeTokenDer(der: Buffer): DerLayout {
  const seq = readTlv(der, 0, 'token');
  const first = readTlv(seq.value, 0, 'wrapped key');
  const second = readTlv(seq.value, first.end, 'ciphertext');
  const headerHex = (b: Buffer, n: number): string =>
    b
      .subarray(0, n)
      .toString('hex')
      .replace(/(..)(?!$)/g, '$1 ');
  const seqStart = seq.headerBytes;
  return {
    totalBytes: der.length,
    header: `${headerHex(der, seqStart + first.headerBytes)} … ${headerHex(seq.value.subarray(first.end), second.headerBytes)}`,
    sequence: { headerBytes: seq.headerBytes, contentBytes: seq.value.length },
    wrappedKey: { headerBytes: first.headerBytes, bytes: first.value.length },
    ciphertext: { headerBytes: second.headerBytes, bytes: second.value.length },
  };
}
