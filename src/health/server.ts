// HTTP endpoint for --metrics-listen HOST:PORT: /metrics (Prometheus text), /healthz (process up),
// /readyz (every readiness check passes, else 503 with JSON naming what is missing).
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Metrics } from '../metrics/index.js';
import type { Readiness } from './readiness.js';

export interface HealthServerOptions {
  host: string;
  port: number;
  metrics: Metrics;
  readiness: Readiness;
}

export interface HealthServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Parses HOST:PORT (IPv6 as [::1]:9464). Throws a plain Error naming the bad value. */
export function parseListenAddress(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`"${value}" is not HOST:PORT (e.g. 127.0.0.1:9464)`);
  return { host: m[1] ?? m[2] ?? '', port };
}

export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  opts.metrics.enableDefaultMetrics();
  const server = createServer((req, res) => {
    handle(req, res, opts).catch(() => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await listen(server, opts.host, opts.port);
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return {
    host: opts.host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: HealthServerOptions): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  const path = (req.url ?? '/').split('?')[0];
  switch (path) {
    case '/metrics': {
      const { contentType, body } = await opts.metrics.scrape();
      send(res, 200, contentType, body);
      return;
    }
    case '/healthz':
      send(res, 200, 'application/json', '{"status":"ok"}\n');
      return;
    case '/readyz': {
      const report = await opts.readiness.evaluate();
      const body = report.ready
        ? { status: 'ready', checks: report.checks }
        : { status: 'not ready', missing: report.checks.filter((c) => !c.ok), checks: report.checks };
      send(res, report.ready ? 200 : 503, 'application/json', `${JSON.stringify(body)}\n`);
      return;
    }
    default:
      send(res, 404, 'text/plain; charset=utf-8', 'not found: try /metrics, /healthz or /readyz\n');
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
