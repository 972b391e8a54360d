// Wraps a KeyProvider so every use of the issuance-protection key is counted and timed. An error counts
// only when the key could not be used (KeyUnavailableError); a bad token is the token's fault.
import { KeyUnavailableError } from '../keys/provider.js';
import type { KeyProvider, WrapAlgorithm } from '../keys/provider.js';
import type { Metrics } from './registry.js';

export function instrumentKeyProvider(provider: KeyProvider, m: Metrics): KeyProvider {
  const timed = async <T>(op: 'decrypt' | 'public_key', run: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      const out = await run();
      m.hsmOperation(op, (performance.now() - start) / 1000, true);
      return out;
    } catch (e) {
      m.hsmOperation(op, (performance.now() - start) / 1000, !(e instanceof KeyUnavailableError));
      if (e instanceof KeyUnavailableError) m.hsmSessionLoggedIn(false);
      throw e;
    }
  };
  return {
    get description() {
      return provider.description;
    },
    decrypt: (wrappedKey: Buffer, ciphertext: Buffer, wrap: WrapAlgorithm) =>
      timed('decrypt', () => provider.decrypt(wrappedKey, ciphertext, wrap)),
    publicKey: () => timed('public_key', () => provider.publicKey()),
    healthy: async () => {
      const ok = await provider.healthy();
      m.hsmSessionLoggedIn(ok);
      return ok;
    },
    close: () => provider.close(),
  };
}
