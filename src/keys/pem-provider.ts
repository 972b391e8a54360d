// Software key from a PEM file: development and tests only. Raw RSA + our own constant-time unpadding,
// because Node 20 refuses PKCS#1 v1.5 private decryption (CVE-2023-46809).
import { constants, createPrivateKey, createPublicKey, privateDecrypt } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { KeyUnavailableError, TokenError } from './provider.js';
import type { KeyProvider, WrapAlgorithm } from './provider.js';
import { decryptPassphrase, wipe } from './session-cipher.js';
import { unpadSessionKey } from './unpad.js';

export class SoftwareKeyRefusedError extends Error {
  override name = 'SoftwareKeyRefusedError';
}

export interface PemProviderOptions {
  keyPem: string;
  allowSoftwareKey?: boolean;
}

export async function openPemProvider(opts: PemProviderOptions): Promise<KeyProvider> {
  if (process.env.NODE_ENV === 'production' && !opts.allowSoftwareKey)
    throw new SoftwareKeyRefusedError(
      'a PEM (software) key is refused when NODE_ENV=production; use a PKCS#11 key or --allow-software-key',
    );
  let pem: Buffer;
  try {
    pem = await readFile(opts.keyPem);
  } catch (e) {
    throw new KeyUnavailableError(
      `cannot read key file ${opts.keyPem}: ${(e as NodeJS.ErrnoException).code}`,
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new KeyUnavailableError(`${opts.keyPem} is not a readable unencrypted private key`);
  } finally {
    wipe(pem);
  }
  if (key.asymmetricKeyType !== 'rsa')
    throw new KeyUnavailableError(`${opts.keyPem} is not an RSA key (${key.asymmetricKeyType})`);
  return new PemKeyProvider(key, opts.keyPem);
}

class PemKeyProvider implements KeyProvider {
  readonly description: string;
  private readonly modulusBytes: number;
  private key: KeyObject | undefined;

  constructor(key: KeyObject, path: string) {
    this.key = key;
    this.modulusBytes = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
    this.description = `pem:${path}`;
  }

  decrypt(wrappedKey: Buffer, ciphertext: Buffer, wrap: WrapAlgorithm): Promise<Buffer> {
    return Promise.resolve().then(() => {
      const key = this.key;
      if (!key) throw new KeyUnavailableError('key provider is closed');
      if (wrappedKey.length !== this.modulusBytes)
        throw new TokenError('unwrap', 'wrapped key length differs from the modulus length');
      let em: Buffer;
      try {
        em = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, wrappedKey);
      } catch {
        throw new TokenError('unwrap', 'wrapped key is not below the modulus');
      }
      let sessionKey: Buffer;
      try {
        sessionKey = unpadSessionKey(em, wrap);
      } finally {
        wipe(em);
      }
      return decryptPassphrase(sessionKey, ciphertext);
    });
  }

  publicKey(): Promise<KeyObject> {
    if (!this.key) return Promise.reject(new KeyUnavailableError('key provider is closed'));
    return Promise.resolve(createPublicKey(this.key));
  }

  healthy(): Promise<boolean> {
    return Promise.resolve(this.key !== undefined);
  }

  close(): Promise<void> {
    this.key = undefined;
    return Promise.resolve();
  }
}
