// PROXY protocol (HAProxy) v1 and v2 header parsing, so lockout, audit and rate limits see the real
// client address behind a load balancer. Reference: HAProxy's proxy-protocol.txt.

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** v1 headers are at most 107 bytes including CRLF (spec §2.1). */
const V1_MAX = 107;
/** Longest v2 header we accept: 16 bytes + address block + TLVs. */
const V2_MAX = 16 + 1024;

export class ProxyProtocolError extends Error {
  override name = 'ProxyProtocolError';
}

export interface ProxyAddress {
  address: string;
  port: number;
}

export type ProxyHeader =
  | { complete: false }
  | {
      complete: true;
      /** Bytes the header occupies; what follows belongs to the proxied connection. */
      length: number;
      version: 1 | 2;
      /** Absent for LOCAL (health checks) and UNKNOWN/UNSPEC: use the socket's own address. */
      source?: ProxyAddress;
      destination?: ProxyAddress;
    };

const INCOMPLETE: ProxyHeader = { complete: false };

/** Parses a header at the start of `buf`; `{complete:false}` means more bytes are needed. */
export function parseProxyHeader(buf: Buffer): ProxyHeader {
  if (startsWithPartial(buf, V2_SIGNATURE)) return buf.length < 16 ? INCOMPLETE : parseV2(buf);
  if (startsWithPartial(buf, V1_PREFIX)) return parseV1(buf);
  throw new ProxyProtocolError('connection did not start with a PROXY protocol header');
}

function startsWithPartial(buf: Buffer, prefix: Buffer): boolean {
  const n = Math.min(buf.length, prefix.length);
  return buf.subarray(0, n).equals(prefix.subarray(0, n));
}

function parseV2(buf: Buffer): ProxyHeader {
  const verCmd = buf[12] as number;
  if (verCmd >> 4 !== 2) throw new ProxyProtocolError(`unsupported PROXY v2 version ${verCmd >> 4}`);
  const command = verCmd & 0x0f;
  if (command > 1) throw new ProxyProtocolError(`unsupported PROXY v2 command ${command}`);
  const famProto = buf[13] as number;
  const bodyLength = buf.readUInt16BE(14);
  if (16 + bodyLength > V2_MAX)
    throw new ProxyProtocolError(`PROXY v2 header of ${bodyLength} bytes is too long`);
  const total = 16 + bodyLength;
  if (buf.length < total) return INCOMPLETE;
  if (command === 0) return { complete: true, length: total, version: 2 };
  const family = famProto >> 4;
  const body = buf.subarray(16, total);
  if (family === 1) {
    if (body.length < 12) throw new ProxyProtocolError('PROXY v2 IPv4 address block is truncated');
    return {
      complete: true,
      length: total,
      version: 2,
      source: { address: ipv4(body.subarray(0, 4)), port: body.readUInt16BE(8) },
      destination: { address: ipv4(body.subarray(4, 8)), port: body.readUInt16BE(10) },
    };
  }
  if (family === 2) {
    if (body.length < 36) throw new ProxyProtocolError('PROXY v2 IPv6 address block is truncated');
    return {
      complete: true,
      length: total,
      version: 2,
      source: { address: ipv6(body.subarray(0, 16)), port: body.readUInt16BE(32) },
      destination: { address: ipv6(body.subarray(16, 32)), port: body.readUInt16BE(34) },
    };
  }
  // UNSPEC or AF_UNIX: no usable network address.
  return { complete: true, length: total, version: 2 };
}

function parseV1(buf: Buffer): ProxyHeader {
  const end = buf.indexOf('\r\n', 0, 'latin1');
  if (end === -1) {
    if (buf.length >= V1_MAX) throw new ProxyProtocolError('PROXY v1 header has no CRLF within 107 bytes');
    return INCOMPLETE;
  }
  if (end + 2 > V1_MAX) throw new ProxyProtocolError('PROXY v1 header is longer than 107 bytes');
  const parts = buf.subarray(0, end).toString('latin1').split(' ');
  const proto = parts[1];
  if (proto === 'UNKNOWN') return { complete: true, length: end + 2, version: 1 };
  if ((proto !== 'TCP4' && proto !== 'TCP6') || parts.length !== 6)
    throw new ProxyProtocolError('malformed PROXY v1 header');
  const [, , src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  return {
    complete: true,
    length: end + 2,
    version: 1,
    source: { address: checkAddress(src, proto), port: checkPort(sport) },
    destination: { address: checkAddress(dst, proto), port: checkPort(dport) },
  };
}

function checkPort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535)
    throw new ProxyProtocolError('bad port in PROXY v1 header');
  return Number(text);
}

function checkAddress(text: string, proto: 'TCP4' | 'TCP6'): string {
  const ok = proto === 'TCP4' ? /^(\d{1,3}\.){3}\d{1,3}$/.test(text) : /^[0-9a-fA-F:.]+$/.test(text);
  if (!ok) throw new ProxyProtocolError('bad address in PROXY v1 header');
  return text;
}

function ipv4(b: Buffer): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

function ipv6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // Compress the longest run of zero groups, as RFC 5952 recommends.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best === -1) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
