// A strict, bounded DER TLV walker. It validates the whole tree (definite minimal lengths, nesting depth,
// no trailing bytes) before asn1js sees it, and hands out byte-exact slices for the MAC and signatures.
import { CmcParseError } from './errors.js';

export interface Tlv {
  /** First identifier byte (class | constructed | low tag number, or 0x1f for high tags). */
  readonly tag: number;
  readonly constructed: boolean;
  /** The whole element: identifier, length and value, exactly as received. */
  readonly raw: Buffer;
  /** The value octets. */
  readonly value: Buffer;
}

export interface DerLimits {
  maxDepth: number;
  maxNodes: number;
}

/** Reads one TLV at `offset`; throws CmcParseError on anything that is not DER. */
export function readTlv(buf: Buffer, offset = 0): Tlv {
  let pos = offset;
  const fail = (what: string): never => {
    throw new CmcParseError(`invalid DER at byte ${pos}: ${what}`);
  };
  if (pos >= buf.length) fail('truncated identifier');
  const tag = buf[pos++] as number;
  if ((tag & 0x1f) === 0x1f) {
    // High tag number form: base-128, at most 4 bytes, minimal.
    let count = 0;
    if (buf[pos] === 0x80) fail('non-minimal tag number');
    for (;;) {
      if (pos >= buf.length) fail('truncated tag number');
      const b = buf[pos++] as number;
      if (++count > 4) fail('tag number too large');
      if ((b & 0x80) === 0) break;
    }
  }
  if (pos >= buf.length) fail('truncated length');
  const first = buf[pos++] as number;
  let len: number;
  if (first < 0x80) len = first;
  else if (first === 0x80) return fail('indefinite length');
  else {
    const n = first & 0x7f;
    if (n > 4) fail('length too large');
    if (pos + n > buf.length) fail('truncated length');
    if (buf[pos] === 0) fail('non-minimal length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[pos++] as number);
    if (len < 0x80) fail('non-minimal length');
  }
  if (pos + len > buf.length) fail('value runs past the end');
  return {
    tag,
    constructed: (tag & 0x20) !== 0,
    raw: buf.subarray(offset, pos + len),
    value: buf.subarray(pos, pos + len),
  };
}

/** Reads exactly one TLV that fills `buf` (no trailing bytes). */
export function readOnly(buf: Buffer, what: string): Tlv {
  const tlv = readTlv(buf, 0);
  if (tlv.raw.length !== buf.length) throw new CmcParseError(`${what}: trailing bytes after the DER element`);
  return tlv;
}

/** The children of a constructed element, in order. */
export function children(tlv: Tlv): Tlv[] {
  if (!tlv.constructed) throw new CmcParseError('expected a constructed element');
  const out: Tlv[] = [];
  let off = 0;
  while (off < tlv.value.length) {
    const child = readTlv(tlv.value, off);
    out.push(child);
    off += child.raw.length;
  }
  return out;
}

/** Validates a whole DER tree within the limits, so later parsers cannot recurse or loop too far. */
export function validateDer(buf: Buffer, limits: DerLimits): Tlv {
  const root = readOnly(buf, 'request');
  let nodes = 0;
  const walk = (tlv: Tlv, depth: number): void => {
    if (++nodes > limits.maxNodes) throw new CmcParseError(`more than ${limits.maxNodes} DER elements`);
    if (depth > limits.maxDepth) throw new CmcParseError(`DER nesting deeper than ${limits.maxDepth}`);
    if (tlv.constructed) for (const c of children(tlv)) walk(c, depth + 1);
  };
  walk(root, 1);
  return root;
}

/** Expects a given identifier byte. */
export function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv) throw new CmcParseError(`${what} is missing`);
  if (tlv.tag !== tag)
    throw new CmcParseError(`${what}: expected tag 0x${tag.toString(16)}, got 0x${tlv.tag.toString(16)}`);
  return tlv;
}

/** Re-tags an element (e.g. IMPLICIT [0] SET -> SET), keeping length and value bytes. */
export function retag(tlv: Tlv, tag: number): Buffer {
  const out = Buffer.from(tlv.raw);
  out[0] = tag;
  return out;
}

/** The dotted form of an OBJECT IDENTIFIER element. */
export function oidOf(tlv: Tlv | undefined, what: string): string {
  const t = expectTag(tlv, 0x06, what);
  const v = t.value;
  if (v.length === 0 || (v[v.length - 1] as number) & 0x80) throw new CmcParseError(`${what}: bad OID`);
  const arcs: bigint[] = [];
  let acc = 0n;
  let start = true;
  for (const b of v) {
    if (start && b === 0x80) throw new CmcParseError(`${what}: non-minimal OID arc`);
    acc = (acc << 7n) | BigInt(b & 0x7f);
    start = (b & 0x80) === 0;
    if (start) {
      arcs.push(acc);
      acc = 0n;
    }
  }
  const first = arcs[0] as bigint;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

/** Unsigned big-endian INTEGER contents as a bigint; negative values rejected. */
export function unsignedInteger(tlv: Tlv | undefined, what: string): bigint {
  const t = expectTag(tlv, 0x02, what);
  const v = t.value;
  if (v.length === 0) throw new CmcParseError(`${what}: empty INTEGER`);
  if (
    v.length > 1 &&
    ((v[0] === 0 && !((v[1] as number) & 0x80)) || (v[0] === 0xff && (v[1] as number) & 0x80))
  )
    throw new CmcParseError(`${what}: non-minimal INTEGER`);
  if ((v[0] as number) & 0x80) throw new CmcParseError(`${what}: negative INTEGER`);
  return v.length > 64 ? fail64(what) : BigInt(`0x${v.toString('hex')}`);
}

function fail64(what: string): never {
  throw new CmcParseError(`${what}: INTEGER longer than 64 bytes`);
}
