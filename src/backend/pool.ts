// Backend choice for new client connections: the first healthy backend in configured order. A backend that
// fails to connect is skipped for `downMs`; when every backend is down they are still tried, in order, so a
// restarted directory is used as soon as it accepts connections again.
import { readFileSync } from 'node:fs';
import type { LdapUrl } from '../config/index.js';
import { metrics } from '../metrics/index.js';

export interface BackendPoolOptions {
  connectTimeoutMs: number;
  downMs: number;
  startTls: boolean;
  /** PEM file of CA certificates for ldaps:// and StartTLS backends; system CAs when absent. */
  caFile?: string;
  maxPduBytes: number;
}

export interface Backend {
  readonly url: LdapUrl;
  downUntil: number;
  lastError: string;
}

export class BackendPool {
  backends: readonly Backend[];
  ca: Buffer | undefined;

  constructor(
    urls: readonly LdapUrl[],
    public options: BackendPoolOptions,
  ) {
    this.backends = urls.map((url) => ({ url, downUntil: 0, lastError: '' }));
    this.ca = options.caFile ? readFileSync(options.caFile) : undefined;
  }

  /**
   * Replaces the backend list and options for connections made from now on (SIGHUP). A backend that stays
   * in the list keeps its mark-down state. Reads the CA file first, so a bad file changes nothing.
   */
  reconfigure(urls: readonly LdapUrl[], options: BackendPoolOptions): void {
    const ca = options.caFile ? readFileSync(options.caFile) : undefined;
    const previous = new Map(this.backends.map((b) => [b.url.text, b]));
    this.backends = urls.map((url) => previous.get(url.text) ?? { url, downUntil: 0, lastError: '' });
    this.options = options;
    this.ca = ca;
  }

  /** Re-reads the CA file (SIGHUP); throws and keeps the old CAs when it cannot be read. */
  reloadCa(): void {
    if (this.options.caFile) this.ca = readFileSync(this.options.caFile);
  }

  /** Healthy backends first, then the ones marked down (oldest mark first). */
  candidates(now = Date.now()): Backend[] {
    const up = this.backends.filter((b) => b.downUntil <= now);
    const down = this.backends.filter((b) => b.downUntil > now).sort((a, b) => a.downUntil - b.downUntil);
    return up.concat(down);
  }

  markDown(backend: Backend, reason: string, now = Date.now()): void {
    backend.downUntil = now + this.options.downMs;
    backend.lastError = reason;
    const index = this.backends.indexOf(backend);
    metrics.backendConnectFailure(index);
    metrics.backendUp(index, false);
  }

  markUp(backend: Backend): void {
    backend.downUntil = 0;
    backend.lastError = '';
    metrics.backendUp(this.backends.indexOf(backend), true);
  }
}
