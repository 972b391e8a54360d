// Recognises the virtual bind DNs: uid=<identification>,<suffix> and serialNumber=<decimal>,<suffix>.

export const DEFAULT_VIRTUAL_SUFFIX = 'cn=shared-token';

/**
 * Longest identification and serial accepted in a virtual DN. Anything longer is invalid at once: each
 * failed bind's identity is kept in the lockout table (up to 100,000 of them), and a 200,000-digit serial
 * costs ~100 ms of BigInt work, so unbounded values let one anonymous client pin memory and stall the proxy.
 * Dogtag serials are at most 128 bits (39 digits); uids are short.
 */
export const MAX_IDENTIFICATION_CHARS = 256;
export const MAX_SERIAL_DIGITS = 64;

export type VirtualDn =
  /** Not under the virtual suffix: the bind goes to the backend. */
  | { kind: 'none' }
  /** Under the suffix but not a form we answer: invalidCredentials. */
  | { kind: 'invalid' }
  | { kind: 'uid'; identification: string }
  | { kind: 'serial'; serial: string };

interface Ava {
  type: string;
  value: string;
}

/**
 * Splits an RFC 4514 DN into RDNs of attribute-value pairs, unescaping values. Returns undefined for
 * a string that is not a DN (bad escape, missing '=', hex-form values, which no virtual DN uses).
 */
const ATTRIBUTE_TYPE = /^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)*)$/;
/** DNs without escapes, quotes, multi-valued RDNs or hex values: the common case, parsed by splitting. */
const PLAIN_DN = /^[^\\"+#;<>]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function parsePlainDn(dn: string): Ava[][] | undefined {
  const rdns: Ava[][] = [];
  for (const part of dn.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return undefined;
    const type = part.slice(0, eq).trim();
    if (!ATTRIBUTE_TYPE.test(type)) return undefined;
    const value = part.slice(eq + 1).replace(/^ +| +$/g, '');
    if (value.includes('=')) return undefined; // left to the full parser, which accepts it
    rdns.push([{ type, value }]);
  }
  return rdns;
}

export function parseDn(dn: string): Ava[][] | undefined {
  if (PLAIN_DN.test(dn) && dn.trim() !== '') {
    const plain = parsePlainDn(dn);
    if (plain) return plain;
  }
  const rdns: Ava[][] = [];
  let i = 0;
  const n = dn.length;
  if (dn.trim() === '') return [];
  while (i <= n) {
    const rdn: Ava[] = [];
    for (;;) {
      while (dn[i] === ' ') i++;
      const eq = dn.indexOf('=', i);
      if (eq < 0) return undefined;
      const type = dn.slice(i, eq).trim();
      if (!ATTRIBUTE_TYPE.test(type)) return undefined;
      i = eq + 1;
      while (dn[i] === ' ') i++;
      if (dn[i] === '#') return undefined;
      const bytes: number[] = [];
      let trailingSpaces = 0;
      while (i < n && dn[i] !== ',' && dn[i] !== '+') {
        const c = dn[i]!;
        if (c === '\\') {
          const next = dn[i + 1];
          if (next === undefined) return undefined;
          if (/[0-9A-Fa-f]/.test(next)) {
            const hex = dn.slice(i + 1, i + 3);
            if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
            bytes.push(parseInt(hex, 16));
            i += 3;
          } else if (' "#+,;<=>\\'.includes(next)) {
            bytes.push(next.charCodeAt(0));
            i += 2;
          } else {
            return undefined;
          }
          trailingSpaces = 0;
          continue;
        }
        if (c === '"' || c === ';' || c === '<' || c === '>') return undefined;
        trailingSpaces = c === ' ' ? trailingSpaces + 1 : 0;
        const ch = String.fromCodePoint(dn.codePointAt(i)!);
        bytes.push(...Buffer.from(ch, 'utf8'));
        i += ch.length;
      }
      // Unescaped trailing spaces are insignificant (RFC 4514 §3: only escaped ones count).
      const raw = Buffer.from(bytes.slice(0, bytes.length - trailingSpaces));
      const value = utf8.decode(raw);
      rdn.push({ type, value });
      if (dn[i] === '+') {
        i++;
        continue;
      }
      break;
    }
    rdns.push(rdn);
    if (i >= n) break;
    i++; // the ','
  }
  return rdns;
}

function sameRdns(a: Ava[][], b: Ava[][]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (rdn, i) =>
        rdn.length === b[i]!.length &&
        rdn.every(
          (ava, j) =>
            ava.type.toLowerCase() === b[i]![j]!.type.toLowerCase() &&
            ava.value.toLowerCase() === b[i]![j]!.value.toLowerCase(),
        ),
    )
  );
}

export class VirtualDnParser {
  private readonly suffix: Ava[][];

  constructor(suffix = DEFAULT_VIRTUAL_SUFFIX) {
    const parsed = parseDn(suffix);
    if (!parsed || parsed.length === 0) throw new Error(`virtual suffix is not a DN: ${suffix}`);
    this.suffix = parsed;
  }

  parse(dn: string): VirtualDn {
    let rdns: Ava[][] | undefined;
    try {
      rdns = parseDn(dn);
    } catch {
      rdns = undefined;
    }
    if (!rdns) {
      // Not a DN at all; it is ours only when it textually ends with the suffix.
      return this.looksUnderSuffix(dn) ? { kind: 'invalid' } : { kind: 'none' };
    }
    const k = this.suffix.length;
    if (rdns.length < k || !sameRdns(rdns.slice(rdns.length - k), this.suffix)) return { kind: 'none' };
    if (rdns.length !== k + 1) return { kind: 'invalid' };
    const rdn = rdns[0]!;
    if (rdn.length !== 1) return { kind: 'invalid' };
    const { type, value } = rdn[0]!;
    const t = type.toLowerCase();
    if ((t === 'uid' || t === '0.9.2342.19200300.100.1.1') && value.length > 0) {
      if (value.length > MAX_IDENTIFICATION_CHARS) return { kind: 'invalid' };
      return { kind: 'uid', identification: value };
    }
    if (
      (t === 'serialnumber' || t === '2.5.4.5') &&
      value.length <= MAX_SERIAL_DIGITS &&
      /^\d+$/.test(value)
    ) {
      return { kind: 'serial', serial: BigInt(value).toString(10) };
    }
    return { kind: 'invalid' };
  }

  private looksUnderSuffix(dn: string): boolean {
    const suffixText = this.suffix.map((r) => r.map((a) => `${a.type}=${a.value}`).join('+')).join(',');
    return dn.replace(/\s+/g, '').toLowerCase().endsWith(suffixText.replace(/\s+/g, '').toLowerCase());
  }
}
