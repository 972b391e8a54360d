// AES-128-CBC with PKCS#7 padding and Dogtag's fixed IV, used where the session key is in process memory.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { TokenError } from './provider.js';

/** Dogtag's constant IV (CMCSharedToken and SharedSecret): sixteen 0x01 bytes, never stored in the token. */
export const DOGTAG_IV: Buffer = Buffer.alloc(16, 1);
export const SESSION_KEY_BYTES = 16;

/** Zeroes every buffer given; for session keys, passphrases and intermediate plaintext. */
export function wipe(...buffers: (Buffer | Uint8Array | undefined | null)[]): void {
  for (const b of buffers) b?.fill(0);
}

export function checkCiphertextShape(ciphertext: Buffer): void {
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0)
    throw new TokenError('decrypt', 'ciphertext is not a positive multiple of 16 bytes');
}

/** Encrypts the passphrase bytes; the caller still owns (and zeroes) key and plaintext. */
export function encryptPassphrase(sessionKey: Buffer, plaintext: Buffer): Buffer {
  const cipher = createCipheriv('aes-128-cbc', sessionKey, DOGTAG_IV);
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  const out = Buffer.concat([head, tail]);
  wipe(head, tail);
  return out;
}

/**
 * Decrypts with a session key held in memory and zeroes the key afterwards.
 * Bad padding or a wrong length is TokenError('decrypt').
 */
export function decryptPassphrase(sessionKey: Buffer, ciphertext: Buffer): Buffer {
  try {
    if (sessionKey.length !== SESSION_KEY_BYTES)
      throw new TokenError('unwrap', 'session key is not 16 bytes');
    checkCiphertextShape(ciphertext);
    const decipher = createDecipheriv('aes-128-cbc', sessionKey, DOGTAG_IV);
    const head = decipher.update(ciphertext);
    let tail: Buffer;
    try {
      tail = decipher.final();
    } catch {
      wipe(head);
      throw new TokenError('decrypt', 'bad PKCS#7 padding');
    }
    const out = Buffer.concat([head, tail]);
    wipe(head, tail);
    return out;
  } finally {
    wipe(sessionKey);
  }
}
