// Runs the real proxy (bin/shrtok-proxy serve, from dist/ after `npm run build`) as a child process,
// the way an operator would, and waits for its `listening <url>` lines.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './run.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** SHRTOK_PROXY_BIN runs the suite against another build of the same CLI. */
export const PROXY_BIN =
  process.env.SHRTOK_PROXY_BIN ?? fileURLToPath(new URL('../../bin/shrtok-proxy', import.meta.url));
/** SHRTOK_PROXY_NODE_OPTS: node flags for every proxy started here, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p". */
const PROXY_NODE_OPTS = (process.env.SHRTOK_PROXY_NODE_OPTS ?? '').split(' ').filter(Boolean);

export interface ProxyOptions {
  /** Backend URLs, in order (each becomes one --backend flag). */
  backends: string[];
  /** Listener schemes; each gets a free loopback port. Default ['ldap']; [] leaves listeners to --config. */
  listen?: ('ldap' | 'ldaps')[];
  /** How many `listening` lines to wait for. Default: the number of listen entries, at least 1. */
  expectListeners?: number;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  backendStartTls?: boolean;
  backendCaPath?: string;
  pidFile?: string;
  configFile?: string;
  /** Any other flags, appended as given. */
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** How long to wait for every `listening` line. Default 20 s. */
  startTimeoutMs?: number;
}

export interface ProxyExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ProxyProcess {
  stdout = '';
  stderr = '';
  /** URLs exactly as printed on `listening <url>` lines, in print order. */
  readonly listening: string[] = [];
  readonly exited: Promise<ProxyExit>;
  private exitInfo: ProxyExit | undefined;

  constructor(
    readonly proc: ChildProcess,
    readonly args: readonly string[],
  ) {
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
    proc.stdout?.on('data', (b: Buffer) => {
      this.stdout += b.toString('utf8');
    });
    proc.stderr?.on('data', (b: Buffer) => {
      this.stderr += b.toString('utf8');
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** True while the process has not exited. */
  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  get exitStatus(): ProxyExit | undefined {
    return this.exitInfo;
  }

  /** First listener URL with the given scheme (ldap:// by default). */
  url(scheme: 'ldap' | 'ldaps' = 'ldap'): string {
    const u = this.listening.find((x) => x.startsWith(`${scheme}://`));
    if (!u) throw new Error(`proxy has no ${scheme}:// listener (listening: ${this.listening.join(', ')})`);
    return u.replace(/\/$/, '');
  }

  port(scheme: 'ldap' | 'ldaps' = 'ldap'): number {
    return Number(new URL(this.url(scheme)).port);
  }

  /** stderr parsed as JSON log lines; lines that are not JSON are skipped. */
  logs(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const line of this.stderr.split('\n')) {
      if (!line.trim().startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a partial line at the end of the buffer
      }
    }
    return out;
  }

  /** SIGTERM, then SIGKILL after graceMs. Resolves with the exit status. */
  async stop(graceMs = 8000): Promise<ProxyExit> {
    if (!this.alive) return this.exitInfo!;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    const st = await this.exited;
    clearTimeout(timer);
    return st;
  }

  /** Sends a signal without waiting (SIGHUP for reload, SIGKILL for crash tests). */
  signal(sig: NodeJS.Signals): void {
    if (this.alive) this.proc.kill(sig);
  }
}

/** Builds the `serve` argument list; listener ports are picked here. */
export async function proxyArgs(opts: ProxyOptions): Promise<string[]> {
  const args = ['serve'];
  for (const scheme of opts.listen ?? ['ldap']) {
    args.push('--listen', `${scheme}://127.0.0.1:${await freePort()}`);
  }
  for (const b of opts.backends) args.push('--backend', b);
  if (opts.tlsCertPath) args.push('--tls-cert', opts.tlsCertPath);
  if (opts.tlsKeyPath) args.push('--tls-key', opts.tlsKeyPath);
  if (opts.backendStartTls) args.push('--backend-starttls');
  if (opts.backendCaPath) args.push('--backend-ca', opts.backendCaPath);
  if (opts.pidFile) args.push('--pid-file', opts.pidFile);
  if (opts.configFile) args.push('--config', opts.configFile);
  args.push(...(opts.extraArgs ?? []));
  return args;
}

/** Starts the proxy and resolves once every listener has printed `listening <url>`. */
export async function startProxy(opts: ProxyOptions): Promise<ProxyProcess> {
  const args = await proxyArgs(opts);
  const expected = opts.expectListeners ?? Math.max(1, (opts.listen ?? ['ldap']).length);
  const proc = spawn(process.execPath, [...PROXY_NODE_OPTS, PROXY_BIN, ...args], {
    cwd: REPO_ROOT,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proxy = new ProxyProcess(proc, args);
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      finish(
        new Error(`proxy did not print ${expected} listening line(s) in time; stderr:\n${proxy.stderr}`),
      );
    }, opts.startTimeoutMs ?? 20_000);
    const onData = (b: Buffer): void => {
      buf += b.toString('utf8');
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^listening (\S+)/.exec(line.trim());
        if (m?.[1]) proxy.listening.push(m[1]);
      }
      if (proxy.listening.length >= expected) finish();
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      finish(
        new Error(`proxy exited during start (code ${code}, signal ${signal}); stderr:\n${proxy.stderr}`),
      );
    };
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      proc.stdout.off('data', onData);
      proc.off('exit', onExit);
      if (err) {
        proc.kill('SIGKILL');
        reject(err);
      } else resolve();
    };
    proc.stdout.on('data', onData);
    proc.once('exit', onExit);
  });
  return proxy;
}
