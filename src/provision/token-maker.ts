// Makes tokens for provisioning: from an issuance-protection certificate (public key only) or a key
// provider, and, when a provider is there, proves each new token decrypts before it is written.
import { X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UsageError, str } from '../cli/args.js';
import type { FlagValues } from '../cli/args.js';
import { keyProviderOptionsFromFlags, openKeyProvider, wipe } from '../keys/index.js';
import type { KeyProvider, WrapAlgorithm } from '../keys/index.js';
import { createToken, decryptToken, formatToken, timingSafeEqualBytes } from '../token/index.js';
import { ProvisionError } from './entries.js';

export class TokenMaker {
  constructor(
    readonly publicKey: KeyObject,
    readonly wrap: WrapAlgorithm,
    /** When present, every new token is decrypted before it is written. */
    readonly provider: KeyProvider | undefined,
  ) {}

  /** The one-line base64 value (as stored in LDAP) for this passphrase. */
  async make(passphrase: Buffer): Promise<string> {
    const value = formatToken(createToken(passphrase, this.publicKey, this.wrap), { oneline: true });
    if (this.provider) await this.verify(value, passphrase, this.wrap);
    return value;
  }

  /** Throws unless `value` decrypts (with exactly `wrap`) to `passphrase`. */
  async verify(value: string, passphrase: Buffer, wrap: WrapAlgorithm): Promise<void> {
    if (!this.provider) throw new Error('no key provider to verify with');
    const decrypted = await decryptToken(value, this.provider, wrap);
    try {
      if (!timingSafeEqualBytes(decrypted.passphrase, passphrase)) {
        throw new ProvisionError('the new token does not decrypt to its passphrase; nothing written');
      }
    } finally {
      wipe(decrypted.passphrase);
    }
  }

  async close(): Promise<void> {
    await this.provider?.close();
  }
}

function certificatePublicKey(path: string): KeyObject {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      `--cert ${path}: ${code?.startsWith('E') && !code.startsWith('ERR_') ? code : 'not a PEM or DER certificate'}`,
    );
  }
  if (cert.publicKey.asymmetricKeyType !== 'rsa') {
    throw new UsageError(`--cert ${path}: the issuance-protection key must be RSA (Dogtag wraps with RSA)`);
  }
  return cert.publicKey;
}

function sameKey(a: KeyObject, b: KeyObject): boolean {
  return a.export({ type: 'spki', format: 'der' }).equals(b.export({ type: 'spki', format: 'der' }));
}

/**
 * `--cert F` alone: tokens from the certificate's public key, verified by read-back only. Key provider flags
 * (with or without --cert): tokens verified by decryption before they are written.
 */
export async function tokenMakerFromFlags(
  flags: FlagValues,
  wrap: WrapAlgorithm,
  opts: { requireProvider?: boolean } = {},
): Promise<TokenMaker> {
  const certPath = str(flags, 'cert');
  const providerOptions = keyProviderOptionsFromFlags(flags);
  if (!certPath && !providerOptions) {
    throw new UsageError(
      opts.requireProvider
        ? 'a key is required: give --pkcs11-module/--nss-db with --key-label or --key-id (or --key-pem)'
        : 'give --cert ISSUANCE.pem or a key (--pkcs11-module/--nss-db with --key-label, or --key-pem)',
    );
  }
  if (opts.requireProvider && !providerOptions) {
    throw new UsageError('this command decrypts tokens: give a key (--pkcs11-module/--nss-db or --key-pem)');
  }
  const certKey = certPath ? certificatePublicKey(certPath) : undefined;
  const provider = providerOptions ? await openKeyProvider(providerOptions) : undefined;
  try {
    const providerKey = provider ? await provider.publicKey() : undefined;
    if (certKey && providerKey && !sameKey(certKey, providerKey)) {
      throw new UsageError('--cert does not match the key given with the key flags');
    }
    const publicKey = certKey ?? providerKey;
    if (!publicKey) throw new UsageError('no public key to make tokens with');
    return new TokenMaker(publicKey, wrap, provider);
  } catch (e) {
    await provider?.close();
    throw e;
  }
}
