// A small TCP fault proxy for tests (there is no Toxiproxy here): put it between shrtok-proxy and slapd and
// change its faults at run time. Faults apply per direction ('up' = client→server, 'down' = server→client):
//   latency with jitter, bandwidth limit, hold (stop forwarding, keep the connection open), slice into
//   1-byte writes, cut (close) after N bytes; and for the whole proxy: reset every connection, refuse or
//   hold new connections. Bytes are forwarded in order whatever the faults.
import { createServer, connect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

export type Direction = 'up' | 'down';

export interface DirectionFaults {
  /** Delay added to every chunk, in ms, plus a uniform random 0..jitterMs. */
  latencyMs: number;
  jitterMs: number;
  /** Bytes per second (0: unlimited). */
  bandwidth: number;
  /** Stop forwarding (data is kept, in order, and flows again when hold is cleared). */
  hold: boolean;
  /** Forward one byte per write, one write per event loop turn. */
  slice: boolean;
  /** Close the connection (both sides, FIN) once this many bytes went this way (-1: never). */
  cutAfterBytes: number;
}

/**
 * forward: connect each client to the target. refuse: stop listening (connections are refused, ECONNREFUSED).
 * reset: accept, then reset at once. hold: accept and never connect to the target nor answer.
 */
export type AcceptMode = 'forward' | 'refuse' | 'reset' | 'hold';

const NO_FAULTS: DirectionFaults = {
  latencyMs: 0,
  jitterMs: 0,
  bandwidth: 0,
  hold: false,
  slice: false,
  cutAfterBytes: -1,
};

/** One direction of one connection: a queue drained in order under the current faults. */
class Pipe {
  private queue: Buffer[] = [];
  private pumping = false;
  bytes = 0;
  /** Frames of the stream, for callers that count LDAP operations (see onChunk). */
  constructor(
    private readonly fp: FaultProxy,
    readonly dir: Direction,
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly conn: FaultConnection,
  ) {
    from.on('data', (chunk: Buffer) => {
      fp.observe(dir, chunk, conn);
      this.queue.push(chunk);
      void this.pump();
    });
  }

  kick(): void {
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.conn.closed) {
        const f = this.fp.faults(this.dir);
        if (f.hold) return;
        if (f.latencyMs > 0 || f.jitterMs > 0) await sleep(f.latencyMs + Math.random() * f.jitterMs);
        let chunk = this.queue.shift() as Buffer;
        if (f.cutAfterBytes >= 0 && this.bytes + chunk.length >= f.cutAfterBytes) {
          chunk = chunk.subarray(0, Math.max(0, f.cutAfterBytes - this.bytes));
          if (chunk.length > 0) this.to.write(chunk);
          this.bytes += chunk.length;
          this.conn.close();
          return;
        }
        if (f.slice) {
          for (let i = 0; i < chunk.length && !this.conn.closed; i++) {
            this.to.write(chunk.subarray(i, i + 1));
            this.bytes++;
            await new Promise((r) => setImmediate(r));
          }
        } else if (f.bandwidth > 0) {
          const step = Math.max(1, Math.floor(f.bandwidth / 20));
          for (let i = 0; i < chunk.length && !this.conn.closed; i += step) {
            const part = chunk.subarray(i, i + step);
            this.to.write(part);
            this.bytes += part.length;
            await sleep((part.length / f.bandwidth) * 1000);
          }
        } else {
          this.bytes += chunk.length;
          if (!this.to.write(chunk)) {
            this.from.pause();
            this.to.once('drain', () => this.from.resume());
          }
        }
      }
    } finally {
      this.pumping = false;
    }
    if (this.queue.length > 0 && !this.conn.closed && !this.fp.faults(this.dir).hold) void this.pump();
  }
}

export class FaultConnection {
  closed = false;
  readonly up: Pipe;
  readonly down: Pipe;
  constructor(
    private readonly fp: FaultProxy,
    readonly client: Socket,
    readonly server: Socket,
  ) {
    this.up = new Pipe(fp, 'up', client, server, this);
    this.down = new Pipe(fp, 'down', server, client, this);
    const onEnd = (): void => this.close();
    client.on('close', onEnd);
    server.on('close', onEnd);
    client.on('error', () => this.close());
    server.on('error', () => this.close());
  }

  /** FIN both sides (after what was already written). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.end();
    this.server.end();
    setTimeout(() => {
      this.client.destroy();
      this.server.destroy();
    }, 200).unref();
    this.fp.forget(this);
  }

  /** RST both sides. */
  reset(): void {
    this.closed = true;
    this.client.resetAndDestroy();
    this.server.resetAndDestroy();
    this.fp.forget(this);
  }
}

export class FaultProxy {
  readonly connections = new Set<FaultConnection>();
  /** Connections accepted since start (including refused and held ones). */
  accepted = 0;
  acceptMode: AcceptMode = 'forward';
  private readonly dirFaults: Record<Direction, DirectionFaults> = {
    up: { ...NO_FAULTS },
    down: { ...NO_FAULTS },
  };
  private readonly held = new Set<Socket>();
  private readonly observers: ((dir: Direction, chunk: Buffer, conn: FaultConnection) => void)[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly target: { host: string; port: number },
  ) {}

  /** Listens on a free loopback port and forwards to target. */
  static async start(target: { host?: string; port: number }): Promise<FaultProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const fp = new FaultProxy(server, (server.address() as AddressInfo).port, {
      host: target.host ?? '127.0.0.1',
      port: target.port,
    });
    server.on('connection', (s) => fp.accept(s));
    return fp;
  }

  get url(): string {
    return `ldap://127.0.0.1:${this.port}`;
  }

  faults(dir: Direction): DirectionFaults {
    return this.dirFaults[dir];
  }

  /** Changes faults for one or both directions; clearing hold releases queued data. */
  set(faults: Partial<DirectionFaults>, dir: Direction | 'both' = 'both'): void {
    for (const d of dir === 'both' ? (['up', 'down'] as const) : [dir])
      Object.assign(this.dirFaults[d], faults);
    for (const c of this.connections) {
      c.up.kick();
      c.down.kick();
    }
  }

  /** Back to plain forwarding (and forward held connections). */
  async clear(): Promise<void> {
    this.set({ ...NO_FAULTS });
    await this.setAcceptMode('forward');
  }

  /** Changes how new connections are treated; resolves once the listener is closed or open again. */
  async setAcceptMode(mode: AcceptMode): Promise<void> {
    this.acceptMode = mode;
    if (mode === 'refuse' && this.server.listening) {
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        // close() waits for open connections; the listening socket itself is gone at once.
        setImmediate(resolve);
      });
    } else if (mode !== 'refuse' && !this.server.listening) {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(this.port, '127.0.0.1', () => {
          this.server.off('error', reject);
          resolve();
        });
      });
    }
    if (mode === 'forward') {
      const held = [...this.held];
      this.held.clear();
      for (const s of held) this.link(s);
    }
  }

  /** Resets (RST) every open connection. */
  resetAll(): void {
    for (const c of [...this.connections]) c.reset();
    for (const s of this.held) s.resetAndDestroy();
    this.held.clear();
  }

  /** Sees every chunk as it arrives (before faults), e.g. to count LDAP operations. */
  onChunk(fn: (dir: Direction, chunk: Buffer, conn: FaultConnection) => void): void {
    this.observers.push(fn);
  }

  observe(dir: Direction, chunk: Buffer, conn: FaultConnection): void {
    for (const fn of this.observers) fn(dir, chunk, conn);
  }

  forget(c: FaultConnection): void {
    this.connections.delete(c);
  }

  private accept(client: Socket): void {
    this.accepted++;
    client.setNoDelay(true);
    client.on('error', () => client.destroy());
    if (this.acceptMode === 'reset' || this.acceptMode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    if (this.acceptMode === 'hold') {
      client.pause();
      this.held.add(client);
      client.once('close', () => this.held.delete(client));
      return;
    }
    this.link(client);
  }

  private link(client: Socket): void {
    const server = connect(this.target.port, this.target.host);
    server.setNoDelay(true);
    client.resume();
    this.connections.add(new FaultConnection(this, client, server));
  }

  async stop(): Promise<void> {
    this.resetAll();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
