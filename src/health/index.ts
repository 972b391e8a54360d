// Public surface of the health module: readiness checks and the /metrics, /healthz, /readyz server.
//
//   import { readiness } from '../health/index.js';
//   readiness.register('backend', async () => ({ ok: pool.anyUp(), detail: 'no backend answers' }));
//   readiness.register('hsm', async () => ({ ok: await keys.healthy(), detail: 'HSM session not logged in' }));
//   readiness.register('schema', async () => schemaPresent());
import { Readiness } from './readiness.js';

export { Readiness, DEFAULT_CHECK_TIMEOUT_MS } from './readiness.js';
export type { CheckOutcome, CheckResult, ReadinessCheck, ReadinessReport } from './readiness.js';
export { parseListenAddress, startHealthServer } from './server.js';
export { backendCheck, keyProviderCheck, schemaCheck } from './checks.js';
export type { HealthServer, HealthServerOptions } from './server.js';

/** The process-wide readiness registry served on /readyz. */
export const readiness: Readiness = new Readiness();
