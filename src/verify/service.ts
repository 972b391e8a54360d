// Builds the verification service for `serve` from the validated configuration: key provider, pooled
// service connection, verifier, optional change subscription, and the proxy interceptors.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { LogLevel } from '../log/index.js';
import type { ServeConfig } from '../config/index.js';
import { ChangeWatcher, ServiceDirectory, ServicePool } from '../directory/index.js';
import type { WatchMechanism } from '../directory/index.js';
import { keyProviderOptionsFromConfig, openKeyProvider } from '../keys/index.js';
import type { KeyProvider } from '../keys/index.js';
import { audit, configureLogging } from '../log/index.js';
import { instrumentKeyProvider, metrics } from '../metrics/index.js';
import { keyProviderCheck, readiness } from '../health/index.js';
import type { TokenWriteRejectReason } from '../metrics/index.js';
import type { Interceptor } from '../session/index.js';
import { auditEventSink } from './audit.js';
import { virtualBindInterceptors } from './interceptors.js';
import { tokenGuardInterceptors } from './token-guard.js';
import { TokenVerifier } from './verifier.js';

export class VerificationConfigError extends Error {
  override name = 'VerificationConfigError';
}

export interface VerificationService {
  verifier: TokenVerifier;
  interceptors: Interceptor[];
  /** SIGHUP: applies new lockout and cache limits; returns the keys that need a restart to change. */
  reconfigure(next: ServeConfig): string[];
  close(): Promise<void>;
}

/** Settings the running service cannot take over without a restart. */
const RESTART_KEYS = [
  'cache_mode',
  'change_subscription',
  'users_base',
  'cert_repository_base',
  'token_attribute',
  'service_bind_dn',
  'service_password_file',
  'virtual_suffix',
  'verifier_dn',
  'token_reader_dn',
] as const;

function limitsFrom(config: ServeConfig) {
  return {
    cacheTtlMs: config.cache_ttl * 1000,
    cacheMaxEntries: config.cache_max_entries,
    lockout: {
      maxFailures: config.lockout_max_failures,
      windowMs: config.lockout_window * 1000,
      durationMs: config.lockout_duration * 1000,
    },
    clientLimit: {
      maxFailures: config.client_max_failed_binds,
      windowMs: config.client_failure_window * 1000,
      durationMs: config.client_block_duration * 1000,
    },
  };
}

function readPassword(path: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (e) {
    throw new VerificationConfigError(
      `service_password_file ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  // One trailing newline is the file's, not the password's.
  let end = data.length;
  if (data[end - 1] === 0x0a) end--;
  if (data[end - 1] === 0x0d) end--;
  return data.subarray(0, end);
}

/** Undefined when users_base is not set (the proxy then only forwards). */
export async function startVerification(
  config: ServeConfig,
  log: Logger,
): Promise<VerificationService | undefined> {
  if (config.users_base === undefined) return undefined;
  const keyOptions = keyProviderOptionsFromConfig(config);
  if (!keyOptions) {
    throw new VerificationConfigError(
      'users_base needs the issuance-protection key: pkcs11_module and key_label (or key_pem)',
    );
  }
  if ((config.service_bind_dn === undefined) !== (config.service_password_file === undefined)) {
    throw new VerificationConfigError('service_bind_dn and service_password_file go together');
  }
  const password = config.service_password_file ? readPassword(config.service_password_file) : undefined;
  const backend = config.backend[0];
  if (backend === undefined) throw new VerificationConfigError('no backend for the service connection');

  // Counted and timed (shrtok_hsm_*); /readyz needs the key usable (logged-in session).
  const keyProvider: KeyProvider = instrumentKeyProvider(await openKeyProvider(keyOptions), metrics);
  readiness.register('hsm', keyProviderCheck(keyProvider));
  void keyProvider.healthy().catch(() => false);
  const pool = new ServicePool({
    url: backend,
    fallbackUrls: config.backend.slice(1),
    starttls: config.backend_starttls,
    caFile: config.backend_ca,
    bindDn: config.service_bind_dn,
    password,
    size: config.service_connections,
  });
  const directory = new ServiceDirectory(pool, {
    usersBase: config.users_base,
    tokenAttribute: config.token_attribute,
    certRepositoryBase: config.cert_repository_base,
  });
  // The audit stream goes to --audit-log, or to the process log at its level (src/log).
  configureLogging({ level: config.log_level as LogLevel, auditLog: config.audit_log });
  const verifier = new TokenVerifier({
    directory,
    keyProvider,
    wrap: keyOptions.wrap,
    cacheMode: config.cache_mode as 'strict' | 'ttl',
    ...limitsFrom(config),
    audit: auditEventSink(audit),
    metrics,
    onError: (e) =>
      log.error({ reason: e instanceof Error ? e.message : 'unknown' }, 'verification failed unexpectedly'),
  });

  metrics.lockoutsActiveFrom(() => verifier.lockout.activeCount() + verifier.clientLimit.activeCount());

  let watcher: ChangeWatcher | undefined;
  if (config.cache_mode === 'ttl' && config.change_subscription !== 'off') {
    const bases = [config.users_base, ...(config.cert_repository_base ? [config.cert_repository_base] : [])];
    const w = new ChangeWatcher({
      url: backend,
      fallbackUrls: config.backend.slice(1),
      starttls: config.backend_starttls,
      caFile: config.backend_ca,
      bindDn: config.service_bind_dn,
      password,
      bases,
      mechanism: config.change_subscription as WatchMechanism | 'auto',
    });
    try {
      const mechanism = await w.start();
      verifier.attachWatcher(w);
      watcher = w;
      w.on('down', (reason: string) =>
        log.warn(
          { reason },
          'change subscription lost; cache emptied, reading the directory until it is back',
        ),
      );
      w.on('up', () => log.info({ mechanism }, 'change subscription active'));
      w.on('refused', (r: { base: string; code: number }) =>
        log.warn(
          { base: r.base, resultCode: r.code },
          'change subscription refused by the backend; the ttl cache now reads the directory on every verification',
        ),
      );
      log.info({ mechanism, bases }, 'change subscription started');
    } catch (e) {
      w.close();
      log.warn({ reason: e instanceof Error ? e.message : 'unknown' }, 'no change subscription');
    }
  }
  const coherence = verifier.describeCoherence();
  if (coherence.includes('WITHOUT')) log.warn(coherence);
  else log.info(coherence);
  log.info({ key: keyProvider.description, users_base: config.users_base }, 'shared-token verification on');

  const interceptors = [
    ...virtualBindInterceptors({
      verifier,
      virtualSuffix: config.virtual_suffix,
      allowPlaintextVirtualBind: config.allow_plaintext_virtual_bind,
      authz: config.virtual_bind_authz as 'anonymous' | 'proxy',
      serviceBindDn: config.service_bind_dn,
      servicePassword: password,
      verifierDns: config.verifier_dn,
    }),
    ...tokenGuardInterceptors({
      verifier,
      keyProvider,
      wrap: keyOptions.wrap,
      tokenAttribute: config.token_attribute,
      checkTokenWrites: config.check_token_writes as 'decrypt' | 'parse' | 'off',
      tokenReadFilter: config.token_read_filter,
      tokenReaderDns: config.token_reader_dn,
      onWriteRejected: (reason) => metrics.tokenWriteRejected(reason as TokenWriteRejectReason),
    }),
  ];
  return {
    verifier,
    interceptors,
    reconfigure: (next) => {
      verifier.reconfigure(limitsFrom(next));
      // Compared with the startup values: those keep running until a restart.
      return RESTART_KEYS.filter((k) => JSON.stringify(config[k]) !== JSON.stringify(next[k]));
    },
    close: async () => {
      watcher?.close();
      await pool.close();
      await keyProvider.close();
    },
  };
}
