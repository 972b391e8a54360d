import type { KeyProviderOptions } from './options.js';
import { openPemProvider } from './pem-provider.js';
import type { KeyProvider } from './provider.js';

export interface KeyProviderHooks {
  /** Startup and recovery notices (e.g. the raw-RSA fallback); never secrets. Default: stderr. */
  log?: (message: string) => void;
}

/** Opens the configured provider; the PKCS#11 code (native module) loads only when used. */
export async function openKeyProvider(
  opts: KeyProviderOptions,
  hooks: KeyProviderHooks = {},
): Promise<KeyProvider> {
  if (opts.kind === 'pem') return openPemProvider(opts);
  const { openPkcs11Provider } = await import('./pkcs11/pkcs11-provider.js');
  return openPkcs11Provider(opts, hooks);
}
