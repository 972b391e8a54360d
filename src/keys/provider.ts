// The one interface every key provider (pkcs11, pem) implements. The private key never leaves the provider.
import type { KeyObject } from 'node:crypto';

export type WrapAlgorithm = 'rsa-pkcs1v15' | 'rsa-oaep-sha256';
/** `auto` tries the configured default first, then the other wrap. */
export type WrapSetting = WrapAlgorithm | 'auto';

export const WRAP_ALGORITHMS: readonly WrapAlgorithm[] = ['rsa-pkcs1v15', 'rsa-oaep-sha256'];

/** Error classes of a token that cannot be decrypted; names as in the shared vectors. */
export type TokenErrorClass = 'base64' | 'der' | 'unwrap' | 'decrypt' | 'utf8';

/** The token itself is bad (or was made for another key or wrap): a verification failure, never an outage. */
export class TokenError extends Error {
  override name = 'TokenError';
  constructor(
    readonly errorClass: TokenErrorClass,
    message: string,
  ) {
    super(message);
  }
}

/** The key cannot be used right now (HSM down, session lost, PIN refused): LDAP unavailable (52). */
export class KeyUnavailableError extends Error {
  override name = 'KeyUnavailableError';
}

export interface KeyProvider {
  /** For logs: module/token/key label or PEM path, never key material. */
  readonly description: string;
  /**
   * Unwraps the AES-128 session key with the issuance-protection private key and decrypts the
   * AES-128-CBC-PAD ciphertext (IV sixteen 0x01 bytes). Returns the passphrase bytes; the caller zeroes them.
   * Throws TokenError('unwrap' | 'decrypt') for a bad token and KeyUnavailableError when the key cannot be used.
   */
  decrypt(wrappedKey: Buffer, ciphertext: Buffer, wrap: WrapAlgorithm): Promise<Buffer>;
  /** The issuance-protection public key, for creating tokens and for reporting. */
  publicKey(): Promise<KeyObject>;
  /** True when the key can be used now (logged-in session, key found). */
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}
