// Strict base64 for shrTok values: the standard alphabet with '=' padding, canonical, and ASCII whitespace
// (space, TAB, CR, LF) allowed anywhere. Dogtag's MIME decoder skips every other character; we refuse them.
import { TokenError } from '../keys/provider.js';

const WHITESPACE = new Set([0x20, 0x09, 0x0d, 0x0a]);
const ALPHABET = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes a base64 value; throws TokenError('base64') for any other character, bad length or padding. */
export function decodeBase64Strict(value: string | Buffer): Buffer {
  if (typeof value === 'string') {
    for (let i = 0; i < value.length; i++)
      if (value.charCodeAt(i) > 0x7f) throw new TokenError('base64', 'value contains a non-ASCII character');
  }
  const raw = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  const compact = Buffer.alloc(raw.length);
  let n = 0;
  for (const byte of raw) {
    if (WHITESPACE.has(byte)) continue;
    compact[n++] = byte;
  }
  const text = compact.toString('latin1', 0, n);
  if (n === 0) throw new TokenError('base64', 'value is empty');
  if (n % 4 !== 0) throw new TokenError('base64', 'length is not a multiple of 4');
  if (!ALPHABET.test(text)) throw new TokenError('base64', 'character outside the base64 alphabet');
  const decoded = Buffer.from(text, 'base64');
  // Canonical form only: rejects non-zero padding bits and other encodings Node would silently accept.
  if (decoded.toString('base64') !== text) throw new TokenError('base64', 'non-canonical base64 padding');
  return decoded;
}

/** The base64 text as CMCSharedToken (JSS ≥ 4.7) writes it: 76-column lines, CRLF, trailing CRLF. */
export function formatBase64Lines(der: Buffer, columns = 76, eol = '\r\n'): string {
  const b64 = der.toString('base64');
  let out = '';
  for (let i = 0; i < b64.length; i += columns) out += b64.slice(i, i + columns) + eol;
  return out;
}
