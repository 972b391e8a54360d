// Public surface of the log module: the process logger, the audit stream and the Secret type.
//
//   import { log, audit, Secret } from '../log/index.js';
//   const logger = log.child({ component: 'session' });
//   audit.record({ kind: 'bind', identification, entryDn, clientAddress, result, failedCheck, latencyMs });
//
// `serve` calls configureLogging({ level, auditLog }) once at startup.
import { AuditLog } from './audit.js';
import { createLogger } from './logger.js';
import type { LogLevel, Logger } from './logger.js';

export { Secret, REDACTED, readSecretFile } from './secret.js';
export { createLogger, LOG_LEVELS, REDACT_PATHS, SECRET_KEYS } from './logger.js';
export type { LogLevel, Logger, LoggerOptions } from './logger.js';
export { AuditLog, auditLine, isoNow } from './audit.js';
export type { AuditEvent } from './audit.js';

/** The process-wide logger (JSON on stderr). Its level changes with configureLogging. */
export const log: Logger = createLogger({ level: 'info' });

/** The process-wide audit stream; writes to `log` until an audit file is configured. */
export const audit: AuditLog = new AuditLog(log);

export function configureLogging(opts: { level?: LogLevel; auditLog?: string }): void {
  if (opts.level) log.level = opts.level;
  audit.open(opts.auditLog);
}
