// Listeners (ldap:// and ldaps://), the connection limit, SIGHUP certificate reload and graceful shutdown.
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { Server as TlsServer, createServer as createTlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { BackendPool } from '../backend/index.js';
import type { BackendPoolOptions } from '../backend/index.js';
import { parseLdapUrl } from '../config/index.js';
import type { LdapUrl, ServeConfig } from '../config/index.js';
import { ResultCode, encodeNoticeOfDisconnection } from '../ldap/index.js';
import { ClientSession, ListenerTls, TLS_MIN_VERSION, buildInterceptorTable } from '../session/index.js';
import type { Interceptor, InterceptorTable, SessionEnv, SessionOrigin } from '../session/index.js';
import { readProxyHeader, startServerTls } from './proxy-header.js';
import { createLogger } from './log.js';
import { metrics } from '../metrics/index.js';

export interface ProxyServerOptions {
  /** Handlers for chosen operations (see src/session/interceptor.ts). */
  interceptors?: readonly Interceptor[];
  log?: Logger;
}

interface Listener {
  url: LdapUrl;
  server: Server | TlsServer;
  /** The URL with the port actually bound (differs when the configured port is 0). */
  boundUrl: string;
}

export class ProxyServer {
  readonly log: Logger;
  readonly pool: BackendPool;
  readonly tls: ListenerTls;
  readonly sessions = new Set<ClientSession>();
  private readonly interceptors: InterceptorTable;
  private readonly listeners: Listener[] = [];
  private shuttingDown = false;

  /** The settings new connections get; replaced by reload(). */
  config: ServeConfig;

  constructor(config: ServeConfig, options: ProxyServerOptions = {}) {
    this.config = config;
    this.log = options.log ?? createLogger(config.log_level);
    this.interceptors = buildInterceptorTable(options.interceptors ?? []);
    this.tls = new ListenerTls(config.tls_cert, config.tls_key);
    this.pool = new BackendPool(
      config.backend.map((u) => parseLdapUrl(u, 'backend')),
      poolOptions(config),
    );
    metrics.declareBackends(config.backend.length);
  }

  /** Opens every listener; resolves with the bound URLs in configuration order. */
  async start(): Promise<string[]> {
    for (const text of this.config.listen) {
      const url = parseLdapUrl(text, 'listen');
      // With PROXY protocol the header comes before the TLS handshake: TLS is then started per connection.
      const server =
        url.secure && !this.config.proxy_protocol
          ? createTlsServer({ ...this.tls.options, minVersion: TLS_MIN_VERSION }, (s) =>
              this.accept(s, text, true),
            )
          : createNetServer((s) => this.accept(s, text, url.secure));
      if (url.secure)
        server.on('tlsClientError', (e: Error) => {
          metrics.connectionRejected('tls_failure');
          this.log.debug({ reason: e.message }, 'TLS handshake failed');
        });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(url.port, url.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (e) => this.log.error({ err: e, listener: text }, 'listener error'));
      const port = (server.address() as AddressInfo).port;
      const host = url.host.includes(':') ? `[${url.host}]` : url.host;
      this.listeners.push({ url, server, boundUrl: `${url.secure ? 'ldaps' : 'ldap'}://${host}:${port}` });
    }
    const urls = this.urls;
    this.log.info({ listen: urls, backend: this.config.backend }, 'proxy listening');
    return urls;
  }

  get urls(): string[] {
    return this.listeners.map((l) => l.boundUrl);
  }

  private accept(socket: Socket, listener: string, secure: boolean): void {
    socket.setNoDelay(true);
    if (this.shuttingDown || this.sessions.size >= this.config.max_connections) {
      if (!this.shuttingDown) metrics.connectionRejected('limit');
      socket.on('error', () => socket.destroy());
      socket.end(
        encodeNoticeOfDisconnection(
          ResultCode.unavailable,
          this.shuttingDown ? 'the proxy is shutting down' : 'too many connections',
        ),
      );
      const forceClose = setTimeout(() => socket.destroy(), 2000);
      forceClose.unref();
      socket.once('close', () => clearTimeout(forceClose));
      return;
    }
    if (!this.config.proxy_protocol) return this.startSession(socket, listener, secure, {});
    readProxyHeader(socket).then(
      ({ source, rest }) => {
        const origin: SessionOrigin = source ? { address: source.address, port: source.port } : {};
        if (!secure) return this.startSession(socket, listener, false, { ...origin, initialData: rest });
        const context = this.tls.context;
        if (context === null) return socket.destroy();
        this.startSession(startServerTls(socket, rest, context), listener, true, origin);
      },
      (e: Error) => {
        this.log.info({ client: socket.remoteAddress, reason: e.message }, 'PROXY protocol header refused');
        socket.destroy();
      },
    );
  }

  private startSession(socket: Socket, listener: string, secure: boolean, origin: SessionOrigin): void {
    const env: SessionEnv = {
      config: this.config,
      pool: this.pool,
      interceptors: this.interceptors,
      tls: this.tls,
      log: this.log,
      listener,
      onClose: (s) => {
        this.sessions.delete(s);
        metrics.connectionClosed(listenerIndex, s.tls);
      },
    };
    const listenerIndex = this.config.listen.indexOf(listener);
    metrics.connectionOpened(listenerIndex, secure);
    try {
      const session = new ClientSession(socket, env, secure, origin);
      if (!session.closed) this.sessions.add(session);
    } catch (e) {
      this.log.error({ err: e }, 'could not set up a client session');
      socket.destroy();
    }
  }

  /** Re-reads the listener certificate and backend CAs; established connections keep theirs. */
  reloadTls(): void {
    try {
      this.tls.reload();
      this.pool.reloadCa();
      this.applyListenerTls();
      this.log.info('TLS certificates reloaded');
    } catch (e) {
      this.log.error(
        { reason: (e as Error).message },
        'TLS reload failed; keeping the previous certificates',
      );
    }
  }

  /** ldaps:// servers take the current certificate for new handshakes (StartTLS and PROXY-protocol TLS read it per connection). */
  private applyListenerTls(): void {
    const options = this.tls.options;
    if (options === null) return;
    for (const l of this.listeners) {
      if (l.server instanceof TlsServer)
        l.server.setSecureContext({ ...options, minVersion: TLS_MIN_VERSION });
    }
  }

  /**
   * Applies a new configuration without a restart (SIGHUP): backends, limits, timeouts and TLS files apply
   * to connections accepted from now on; established sessions keep the settings they started with.
   * Listener addresses and proxy_protocol need a restart. Returns the keys that changed (for the log);
   * throws, changing nothing, when TLS or CA files cannot be read.
   */
  reload(next: ServeConfig): string[] {
    const before = this.config as Record<string, unknown>;
    const after = next as Record<string, unknown>;
    const changed = Object.keys({ ...before, ...after }).filter(
      (k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]),
    );
    const needRestart: string[] = changed.filter((k) => k === 'listen' || k === 'proxy_protocol');
    if (needRestart.length > 0)
      this.log.warn({ keys: needRestart }, 'these settings need a restart; keeping the running values');
    const applied: ServeConfig = {
      ...next,
      listen: this.config.listen,
      proxy_protocol: this.config.proxy_protocol,
    };
    // Read every file before changing anything, so a failed reload leaves the running state as it was.
    const switchTls = this.tls.prepare(applied.tls_cert, applied.tls_key);
    this.pool.reconfigure(
      applied.backend.map((u) => parseLdapUrl(u, 'backend')),
      poolOptions(applied),
    );
    switchTls();
    this.applyListenerTls();
    if (applied.backend.length !== this.config.backend.length)
      metrics.declareBackends(applied.backend.length);
    this.config = applied;
    const keys = changed.filter((k) => !needRestart.includes(k));
    this.log.info({ changed: keys }, 'configuration reloaded');
    return keys;
  }

  /** Stops accepting, lets operations in progress finish for up to graceMs, then closes what is left. */
  async shutdown(graceMs = this.config.shutdown_grace_ms): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    const closed = Promise.all(
      this.listeners.map((l) => new Promise<void>((resolve) => l.server.close(() => resolve()))),
    );
    for (const s of [...this.sessions]) s.beginShutdown();
    const deadline = Date.now() + graceMs;
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const s of [...this.sessions])
      s.closeWithNotice(ResultCode.unavailable, 'the proxy is shutting down');
    for (const s of [...this.sessions]) s.destroy();
    await closed;
    this.log.info('proxy stopped');
  }
}

export function createProxyServer(config: ServeConfig, options: ProxyServerOptions = {}): ProxyServer {
  return new ProxyServer(config, options);
}

function poolOptions(config: ServeConfig): BackendPoolOptions {
  return {
    connectTimeoutMs: config.backend_connect_timeout_ms,
    downMs: config.backend_down_ms,
    startTls: config.backend_starttls,
    caFile: config.backend_ca,
    maxPduBytes: config.max_backend_pdu_bytes,
  };
}
