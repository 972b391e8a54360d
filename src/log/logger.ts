// The process logger: pino, JSON lines on stderr, with redaction of secret-looking keys as a second
// line of defence behind the Secret type.
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import { REDACTED } from './secret.js';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Keys whose values are always censored, at any of the first four nesting levels. */
export const SECRET_KEYS = [
  'password',
  'passphrase',
  'token',
  'shrTok',
  'revShrTok',
  'userPassword',
  'witness',
  'secret',
  'pin',
  'credentials',
] as const;

export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((k) => [
  k,
  `*.${k}`,
  `*.*.${k}`,
  `*.*.*.${k}`,
]);

export interface LoggerOptions {
  level?: LogLevel;
  /** Where JSON lines go; default stderr (fd 2), written synchronously so nothing is lost on exit. */
  destination?: DestinationStream;
  /** Fields on every line, e.g. { component: 'proxy' }. */
  base?: Record<string, unknown>;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { pid: process.pid, ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    },
    opts.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
