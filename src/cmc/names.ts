// RFC 4514 string form of an X.501 Name, most specific RDN first (what Dogtag's issuer comparison sees).
import { children, expectTag, oidOf, readOnly } from './der.js';
import type { Tlv } from './der.js';
import { CmcParseError } from './errors.js';

const SHORT_NAMES: ReadonlyMap<string, string> = new Map([
  ['2.5.4.3', 'CN'],
  ['2.5.4.7', 'L'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['2.5.4.6', 'C'],
  ['2.5.4.9', 'STREET'],
  ['0.9.2342.19200300.100.1.25', 'DC'],
  ['0.9.2342.19200300.100.1.1', 'UID'],
]);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a directory string value; null when the type is not a character string we know. */
function stringValue(tlv: Tlv): string | null {
  const v = tlv.value;
  switch (tlv.tag) {
    case 0x0c: // UTF8String
      try {
        return utf8.decode(v);
      } catch {
        throw new CmcParseError('Name: UTF8String is not valid UTF-8');
      }
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x12: // NumericString
    case 0x1a: // VisibleString
      return v.toString('latin1');
    case 0x14: // TeletexString, read as Latin-1 like most toolkits
      return v.toString('latin1');
    case 0x1e: {
      // BMPString: UTF-16BE
      if (v.length % 2) throw new CmcParseError('Name: odd-length BMPString');
      const le = Buffer.from(v);
      le.swap16();
      return le.toString('utf16le');
    }
    case 0x1c: {
      // UniversalString: UTF-32BE
      if (v.length % 4) throw new CmcParseError('Name: bad UniversalString length');
      let s = '';
      for (let i = 0; i < v.length; i += 4) {
        const cp = v.readUInt32BE(i);
        if (cp > 0x10ffff) throw new CmcParseError('Name: bad UniversalString code point');
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      return null;
  }
}

/** RFC 4514 §2.4 escaping. */
export function escapeRdnValue(value: string): string {
  let out = value.replace(/[\\,+"<>;]/g, (c) => `\\${c}`).replace(/\0/g, '\\00');
  if (out.startsWith(' ') || out.startsWith('#')) out = `\\${out}`;
  if (out.endsWith(' ') && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/** Formats a DER Name (SEQUENCE OF RDN) as an RFC 4514 string. */
export function nameToRfc4514(nameDer: Buffer): string {
  const seq = expectTag(readOnly(nameDer, 'Name'), 0x30, 'Name');
  const rdns = children(seq).map((rdn) => {
    const set = expectTag(rdn, 0x31, 'RelativeDistinguishedName');
    const atvs = children(set);
    if (atvs.length === 0) throw new CmcParseError('Name: empty RDN');
    return atvs
      .map((atv) => {
        const [type, value, extra] = children(expectTag(atv, 0x30, 'AttributeTypeAndValue'));
        if (!value || extra) throw new CmcParseError('Name: malformed AttributeTypeAndValue');
        const oid = oidOf(type, 'Name attribute type');
        const text = stringValue(value);
        const shown = text === null ? `#${value.raw.toString('hex')}` : escapeRdnValue(text);
        return `${SHORT_NAMES.get(oid) ?? oid}=${shown}`;
      })
      .join('+');
  });
  return rdns.reverse().join(',');
}
