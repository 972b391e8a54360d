// Generated passphrases and the 0600 files that hold them: never printed, never world-readable.
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';

// Letters and digits only: safe in CMCRequest config files, shells and CSV, and ASCII as identityProofV2 needs.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const DEFAULT_PASSPHRASE_LENGTH = 24;
export const MIN_PASSPHRASE_LENGTH = 12;
export const MAX_PASSPHRASE_LENGTH = 256;

/** A uniformly random passphrase (rejection sampling, no modulo bias); 24 characters ≈ 143 bits. */
export function generatePassphrase(length = DEFAULT_PASSPHRASE_LENGTH): Buffer {
  if (!Number.isInteger(length) || length < MIN_PASSPHRASE_LENGTH || length > MAX_PASSPHRASE_LENGTH) {
    throw new RangeError(`passphrase length must be ${MIN_PASSPHRASE_LENGTH}..${MAX_PASSPHRASE_LENGTH}`);
  }
  const limit = 256 - (256 % ALPHABET.length);
  const out = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const pool = randomBytes(length * 2);
    for (const byte of pool) {
      if (byte >= limit) continue;
      out[filled++] = ALPHABET.charCodeAt(byte % ALPHABET.length);
      if (filled === length) break;
    }
    pool.fill(0);
  }
  return out;
}

/**
 * Opens a secret file with mode 0600 whatever the umask. `create` refuses an existing file (no silent
 * overwrite of someone's passphrase); `append` keeps an existing file (bulk --resume) and re-applies 0600.
 */
export function openSecretFile(path: string, mode: 'create' | 'append'): number {
  const fd = openSync(path, mode === 'create' ? 'wx' : 'a', 0o600);
  fchmodSync(fd, 0o600);
  return fd;
}

export function writeSecretFile(path: string, content: Buffer): void {
  const fd = openSecretFile(path, 'create');
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
}
