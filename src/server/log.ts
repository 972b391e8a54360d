// JSON logs on stderr (stdout carries only the `listening <url>` and `metrics <url>` lines scripts wait
// for). The logger comes from src/log, so secret-looking keys are redacted.
import type { Logger } from 'pino';
import { createLogger as createProcessLogger, LOG_LEVELS } from '../log/index.js';
import type { LogLevel } from '../log/index.js';

export function createLogger(level: string): Logger {
  const known = (LOG_LEVELS as readonly string[]).includes(level);
  return createProcessLogger({ level: known ? (level as LogLevel) : 'info' });
}
