// Readiness checks that need other modules: a backend probe (a real connect, TLS included, to every
// configured backend at once) and the key provider's health.
import { connectBackend } from '../backend/index.js';
import type { BackendPool } from '../backend/index.js';
import type { Client } from 'ldapts';
import { checkSchema } from '../schema/index.js';
import type { KeyProvider } from '../keys/provider.js';
import type { Metrics } from '../metrics/index.js';
import type { CheckOutcome, ReadinessCheck } from './readiness.js';

/** Ready when at least one configured backend accepts a connection (and its TLS verifies). With
 *  `metrics`, each probe also sets shrtok_backend_up, so the gauge is fresh without client traffic. */
export function backendCheck(pool: BackendPool, timeoutMs = 1500, metrics?: Metrics): ReadinessCheck {
  return async (): Promise<CheckOutcome> => {
    const attempts = pool.backends.map(async (backend, index) => {
      try {
        const sock = await connectBackend(backend, {
          timeoutMs: Math.min(timeoutMs, pool.options.connectTimeoutMs),
          startTls: pool.options.startTls,
          ca: pool.ca,
        });
        sock.destroy();
        metrics?.backendUp(index, true);
        return { index, ok: true, reason: '' };
      } catch (e) {
        metrics?.backendUp(index, false);
        return { index, ok: false, reason: e instanceof Error ? e.message : 'error' };
      }
    });
    const results = await Promise.all(attempts);
    const up = results.filter((r) => r.ok).map((r) => r.index);
    if (up.length > 0) return { ok: true, detail: `backend ${up.join(', ')} answers` };
    if (results.length === 0) return { ok: false, detail: 'no backend configured' };
    return {
      ok: false,
      detail: `no backend answers: ${results.map((r) => `backend ${r.index}: ${r.reason}`).join('; ')}`,
    };
  };
}

/** Ready when the key can be used (PKCS#11: a logged-in session and the key found). */
export function keyProviderCheck(provider: KeyProvider, onResult?: (ok: boolean) => void): ReadinessCheck {
  return async (): Promise<CheckOutcome> => {
    const ok = await provider.healthy();
    onResult?.(ok);
    return ok
      ? { ok, detail: 'key available' }
      : { ok, detail: 'HSM session not logged in or key not found' };
  };
}

/** Ready when the backend schema defines shrTok with the Octet String syntax (src/schema classify). */
export function schemaCheck(connect: () => Promise<Client>): ReadinessCheck {
  return async (): Promise<CheckOutcome> => {
    const client = await connect();
    try {
      const result = await checkSchema(client);
      return { ok: result.state === 'installed', detail: result.detail };
    } finally {
      await client.unbind().catch(() => undefined);
    }
  };
}
