// Full token verification path: parse, unwrap + decrypt through a KeyProvider, check UTF-8.
import { isUtf8 } from 'node:buffer';
import { WrapUnsupportedError } from '../keys/errors.js';
import { TokenError, WRAP_ALGORITHMS } from '../keys/provider.js';
import type { KeyProvider, TokenErrorClass, WrapAlgorithm, WrapSetting } from '../keys/provider.js';
import { wipe } from '../keys/session-cipher.js';
import { parseToken } from './codec.js';

export interface DecryptedToken {
  /** UTF-8 bytes of the passphrase; the caller zeroes them after use. */
  passphrase: Buffer;
  /** The wrap that worked (useful with 'auto'). */
  wrap: WrapAlgorithm;
}

// How far a failed attempt got: with 'auto' the furthest failure is the one reported.
const PROGRESS: Record<TokenErrorClass, number> = { base64: 0, der: 0, unwrap: 1, decrypt: 2, utf8: 3 };

function wrapsToTry(setting: WrapSetting): readonly WrapAlgorithm[] {
  return setting === 'auto' ? WRAP_ALGORITHMS : [setting];
}

/**
 * Decrypts a shrTok value to the passphrase bytes. Throws TokenError for a bad token (or one made for another
 * key or wrap) and lets KeyUnavailableError from the provider through unchanged.
 */
export async function decryptToken(
  value: string | Buffer,
  provider: KeyProvider,
  wrap: WrapSetting,
): Promise<DecryptedToken> {
  const { wrappedKey, ciphertext } = parseToken(value);
  let furthest: TokenError | undefined;
  let unsupported: WrapUnsupportedError | undefined;
  for (const attempt of wrapsToTry(wrap)) {
    try {
      const passphrase = await provider.decrypt(wrappedKey, ciphertext, attempt);
      if (!isUtf8(passphrase)) {
        wipe(passphrase);
        throw new TokenError('utf8', 'passphrase is not valid UTF-8');
      }
      return { passphrase, wrap: attempt };
    } catch (e) {
      // With 'auto', a wrap the token cannot do at all (e.g. v1.5 refused in FIPS mode) is skipped.
      if (e instanceof WrapUnsupportedError && wrap === 'auto') {
        unsupported = e;
        continue;
      }
      if (!(e instanceof TokenError)) throw e;
      if (!furthest || PROGRESS[e.errorClass] > PROGRESS[furthest.errorClass]) furthest = e;
    }
  }
  throw furthest ?? unsupported ?? new TokenError('unwrap', 'no wrap algorithm to try');
}
