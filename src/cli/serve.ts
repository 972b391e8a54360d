// `shrtok-proxy serve`: the flags are generated from the config settings table, so every flag has a config
// file key (snake_case of the flag) and flags win over the file.
import { writeFileSync, rmSync } from 'node:fs';
import { UsageError } from './args.js';
import type { FlagSpec, FlagValues } from './args.js';
import type { Command } from './command.js';
import { ConfigError, SERVE_SETTINGS, flagName, loadServeConfig } from '../config/index.js';
import type { ConfigOverrides, ServeConfig } from '../config/index.js';
import { createProxyServer } from '../server/index.js';
import {
  backendCheck,
  parseListenAddress,
  readiness,
  schemaCheck,
  startHealthServer,
} from '../health/index.js';
import type { Client } from 'ldapts';
import type { Logger } from 'pino';
import { connectDirectory } from '../directory/index.js';
import { installSchema } from '../schema/index.js';
import type { HealthServer } from '../health/index.js';
import { audit, configureLogging, log as processLog, readSecretFile } from '../log/index.js';
import type { LogLevel } from '../log/index.js';
import { metrics } from '../metrics/index.js';
import { VerificationConfigError, startVerification } from '../verify/service.js';
import type { VerificationService } from '../verify/service.js';

const flags: FlagSpec[] = [
  ...SERVE_SETTINGS.map((s) => {
    const spec: FlagSpec = { name: flagName(s.key), type: s.type, help: s.help };
    if ('valueName' in s) spec.valueName = s.valueName;
    if ('min' in s) spec.min = s.min;
    if ('max' in s) spec.max = s.max;
    if ('choices' in s) spec.choices = s.choices;
    if ('default' in s && !Array.isArray(s.default) && s.type !== 'boolean')
      spec.help += ` (default ${String(s.default)})`;
    return spec;
  }),
  {
    name: 'config',
    type: 'string',
    valueName: 'FILE',
    help: 'YAML or JSON file with the same settings (flags win)',
  },
];

function overridesFrom(values: FlagValues): ConfigOverrides {
  const out: ConfigOverrides = {};
  for (const s of SERVE_SETTINGS) {
    const v = values[flagName(s.key)];
    if (v !== undefined) out[s.key] = v;
  }
  return out;
}

export function serveConfigFromFlags(values: FlagValues): ServeConfig {
  const file = values.config;
  try {
    return loadServeConfig(typeof file === 'string' ? file : undefined, overridesFrom(values));
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}

export const command: Command = {
  name: 'serve',
  summary: 'run the LDAP proxy',
  usage: 'shrtok-proxy serve --listen URL --backend URL [options]',
  description:
    'Runs the LDAP proxy: every operation is forwarded byte for byte to the first healthy backend.\n' +
    'Prints "listening <url>" on stdout for each listener once it accepts connections, then "metrics <url>"\n' +
    'with --metrics-listen (/metrics, /healthz, /readyz); logs JSON on stderr, audit lines to --audit-log.\n' +
    'SIGTERM drains and stops; SIGHUP re-reads --config (backends, limits, TLS files) or else the TLS files,\n' +
    'and reopens the audit log.',
  flags,
  run: async (args) => {
    const config = serveConfigFromFlags(args.flags);
    const metricsAt = metricsAddress(config.metrics_listen);
    configureLogging({ level: config.log_level as LogLevel, auditLog: config.audit_log });
    const log = processLog;
    if (config.install_schema) {
      const installed = await installSchemaAtStartup(config, log);
      if (!installed) return 1;
    }
    let verification: VerificationService | undefined;
    try {
      verification = await startVerification(config, log);
    } catch (e) {
      if (e instanceof VerificationConfigError || (e instanceof Error && e.name === 'KeyProviderConfigError'))
        throw new UsageError(e.message);
      const err = e as NodeJS.ErrnoException;
      process.stderr.write(`shrtok-proxy: cannot start verification: ${err.message}\n`);
      return 1;
    }
    let server;
    try {
      server = createProxyServer(config, { interceptors: verification?.interceptors ?? [], log });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new UsageError(`cannot start: ${err.path ? `${err.path}: ` : ''}${err.code ?? err.message}`);
    }
    let urls: string[];
    try {
      urls = await server.start();
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      process.stderr.write(`shrtok-proxy: cannot listen: ${err.code ?? ''} ${err.message}\n`);
      await server.shutdown(0);
      await verification?.close();
      return 1;
    }
    let health: HealthServer | undefined;
    if (metricsAt) {
      readiness.register('backend', backendCheck(server.pool, 1500, metrics));
      if (config.require_schema) readiness.register('schema', schemaReadiness(config), { timeoutMs: 4000 });
      try {
        health = await startHealthServer({ ...metricsAt, metrics, readiness });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        process.stderr.write(
          `shrtok-proxy: cannot listen on --metrics-listen: ${err.code ?? ''} ${err.message}\n`,
        );
        await server.shutdown(0);
        await verification?.close();
        return 1;
      }
    }
    if (config.pid_file) writeFileSync(config.pid_file, `${process.pid}\n`);
    for (const url of urls) process.stdout.write(`listening ${url}\n`);
    if (health) process.stdout.write(`metrics http://${urlHost(health.host)}:${health.port}/metrics\n`);
    // Without client traffic nothing would notice a dead backend or HSM: probe every 15 s for the gauges.
    const probe = health ? setInterval(() => void readiness.evaluate(), 15_000) : undefined;
    probe?.unref();
    return new Promise<number>((resolve) => {
      const stop = (signal: string): void => {
        server.log.info({ signal }, 'shutting down');
        void server.shutdown().then(async () => {
          await verification?.close();
          clearInterval(probe);
          await health?.close();
          audit.close();
          if (config.pid_file) rmSync(config.pid_file, { force: true });
          resolve(0);
        });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', () => {
        // With a config file, re-read it (same flags on top) and apply what can change live; else TLS files.
        if (typeof args.flags.config === 'string') {
          try {
            const next = serveConfigFromFlags(args.flags);
            // The proxy first: it reads every file before changing anything, so a failed reload changes nothing.
            server.reload(next);
            const restart = verification?.reconfigure(next) ?? [];
            if (restart.length > 0)
              server.log.warn({ keys: restart }, 'these settings need a restart; keeping the running values');
          } catch (e) {
            server.log.error(
              { reason: (e as Error).message },
              'reload failed; keeping the running configuration',
            );
          }
        } else {
          server.reloadTls();
        }
        audit.reopen();
      });
    });
  },
};

function metricsAddress(value: string | undefined): { host: string; port: number } | undefined {
  if (value === undefined) return undefined;
  try {
    return parseListenAddress(value);
  } catch (e) {
    throw new UsageError(`flag --metrics-listen: ${(e as Error).message}`);
  }
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Connects to the first backend as the service account when one is configured. */
function serviceConnector(config: ServeConfig, timeoutMs: number): () => Promise<Client> {
  let password: ReturnType<typeof readSecretFile> | undefined;
  try {
    password = config.service_password_file ? readSecretFile(config.service_password_file) : undefined;
  } catch (e) {
    throw new UsageError(`service_password_file: ${(e as Error).message}`);
  }
  const url = config.backend[0] ?? '';
  return () =>
    connectDirectory({
      url,
      starttls: config.backend_starttls,
      caFile: config.backend_ca,
      bindDn: config.service_bind_dn,
      password: password?.reveal(),
      connectTimeoutMs: timeoutMs,
      operationTimeoutMs: timeoutMs,
    });
}

/** Reads the subschema of the first backend, as the service account when one is configured. */
function schemaReadiness(config: ServeConfig): ReturnType<typeof schemaCheck> {
  return schemaCheck(serviceConnector(config, 2000));
}

/** --install-schema: adds shrTok before the proxy listens; false (logged) when it cannot. */
async function installSchemaAtStartup(config: ServeConfig, log: Logger): Promise<boolean> {
  if (config.service_bind_dn === undefined)
    throw new UsageError(
      'install_schema needs service_bind_dn and service_password_file (the account that writes the schema)',
    );
  let client: Client | undefined;
  try {
    client = await serviceConnector(config, 10_000)();
    const result = await installSchema(client, { log: (line) => log.info(line) });
    if (result.outcome === 'conflicting') {
      log.error(
        { detail: result.check.detail },
        'schema: a conflicting shrTok definition exists; left alone',
      );
      return false;
    }
    log.info({ outcome: result.outcome, server: result.server.flavor }, 'schema: shrTok is installed');
    return true;
  } catch (e) {
    log.error({ reason: (e as Error).message }, 'schema: install failed');
    return false;
  } finally {
    await client?.unbind().catch(() => undefined);
  }
}
