// shrTok creation and parsing, byte-compatible with Dogtag's CMCSharedToken (spec §1.2, §7.1).
import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { WrapAlgorithm } from '../keys/provider.js';
import { publicWrap } from '../keys/rsa-wrap.js';
import { encryptPassphrase, SESSION_KEY_BYTES, wipe } from '../keys/session-cipher.js';
import { decodeBase64Strict, formatBase64Lines } from './base64.js';
import { decodeTokenDer, encodeTokenDer } from './der.js';
import type { TokenParts } from './der.js';

/**
 * Parses a shrTok value (base64, any ASCII whitespace) into its two OCTET STRINGs.
 * Throws TokenError('base64' | 'der').
 */
export function parseToken(value: string | Buffer): TokenParts {
  const der = decodeBase64Strict(value);
  const parts = decodeTokenDer(der);
  return { wrappedKey: Buffer.from(parts.wrappedKey), ciphertext: Buffer.from(parts.ciphertext) };
}

/**
 * Makes a token as CMCSharedToken does: fresh AES-128 key, AES-128-CBC-PAD with IV 01×16 over the passphrase
 * bytes, key wrapped to the issuance-protection public key. Returns the DER. The passphrase is not zeroed
 * (the caller owns it); the session key is.
 */
export function createToken(passphrase: Buffer, publicKey: KeyObject, wrap: WrapAlgorithm): Buffer {
  if (publicKey.asymmetricKeyType !== 'rsa') throw new Error('the issuance-protection key must be RSA');
  const sessionKey = randomBytes(SESSION_KEY_BYTES);
  try {
    const ciphertext = encryptPassphrase(sessionKey, passphrase);
    const wrappedKey = publicWrap(publicKey, sessionKey, wrap);
    return encodeTokenDer({ wrappedKey, ciphertext });
  } finally {
    wipe(sessionKey);
  }
}

export interface FormatOptions {
  /** One base64 line with no line break (LDAP attribute value form). */
  oneline?: boolean;
}

/** Base64 text as CMCSharedToken writes it (76 columns, CRLF, trailing CRLF), or one bare line. */
export function formatToken(der: Buffer, opts: FormatOptions = {}): string {
  return opts.oneline ? der.toString('base64') : formatBase64Lines(der);
}

export interface LineFormat {
  /** 'oneline', 'lines' or 'irregular' (whitespace elsewhere than at fixed line ends). */
  kind: 'oneline' | 'lines' | 'irregular';
  columns: number | null;
  lineEnding: 'CRLF' | 'LF' | 'CR' | 'mixed' | null;
  lines: number;
  trailingNewline: boolean;
  /** What produced this layout, when it matches a known writer. */
  matches: string | null;
}

/** Describes how the base64 text is laid out (76/64 columns, CRLF/LF, trailing newline, one line). */
export function describeLineFormat(value: string | Buffer): LineFormat {
  const text = typeof value === 'string' ? value : value.toString('latin1');
  const endings = text.match(/\r\n|\n|\r/g) ?? [];
  const kinds = new Set(endings);
  const lineEnding =
    endings.length === 0
      ? null
      : kinds.size > 1
        ? 'mixed'
        : endings[0] === '\r\n'
          ? 'CRLF'
          : endings[0] === '\n'
            ? 'LF'
            : 'CR';
  const trailingNewline = /(\r\n|\n|\r)$/.test(text);
  const body = trailingNewline ? text.replace(/(\r\n|\n|\r)$/, '') : text;
  const lines = body.length === 0 ? [] : body.split(/\r\n|\n|\r/);
  const regularChars = lines.every((l) => /^[A-Za-z0-9+/=]+$/.test(l));
  const first = lines[0]?.length ?? 0;
  const regular =
    regularChars &&
    lines.slice(0, -1).every((l) => l.length === first) &&
    (lines.at(-1)?.length ?? 0) <= first;
  const kind = !regular ? 'irregular' : lines.length <= 1 && !trailingNewline ? 'oneline' : 'lines';
  const columns = kind === 'lines' ? (lines.length > 1 ? first : null) : null;
  let matches: string | null = null;
  if (kind === 'oneline') matches = 'single line (LDAP value)';
  else if (kind === 'lines' && lineEnding === 'CRLF' && (columns === 76 || (columns === null && first <= 76)))
    matches = trailingNewline
      ? 'CMCSharedToken with JSS >= 4.7 (76 columns, CRLF, trailing CRLF)'
      : 'CMCSharedToken with JSS 4.6.3 (76 columns, CRLF, no trailing CRLF)';
  else if (kind === 'lines' && lineEnding === 'CRLF' && columns === 64 && trailingNewline)
    matches = 'PKI <= 10.6 commons-codec (64 columns, CRLF)';
  return { kind, columns, lineEnding, lines: lines.length, trailingNewline, matches };
}
