// The proxy's own bound service connections to the backend (raw BER client), reconnected on failure.
import type { DirectoryConnectOptions } from './connect.js';
import { LdapResultError, RawLdapConnection } from './raw-ldap.js';

/** The backend cannot answer now (down, refused the service bind, busy): LDAP unavailable, never a failure. */
export class DirectoryUnavailableError extends Error {
  override name = 'DirectoryUnavailableError';
}

export interface ServicePoolOptions extends Omit<DirectoryConnectOptions, 'password'> {
  /** The service password, as read from --service-password-file. */
  password?: Buffer;
  /** Connections kept open; each one pipelines requests. Default 2. */
  size?: number;
  /** Further backends, tried in order when `url` cannot be reached (the same data, e.g. replicas). */
  fallbackUrls?: string[];
}

/** Result codes that mean "ask again later", not "the answer is no". */
const TRANSIENT_CODES = new Set([1, 3, 11, 51, 52, 53, 80]);

export class ServicePool {
  private readonly slots: (Promise<RawLdapConnection> | undefined)[];
  /** The connection each slot resolved to, so a warm lookup does not wait on a promise to get it. */
  private readonly ready: (RawLdapConnection | undefined)[];
  private next = 0;
  /** The slot lookups use during the current event-loop turn, -1 between turns. */
  private turnIndex = -1;
  private closed = false;
  /** Index into the URL list of the backend that answered last. */
  private preferred = 0;
  private readonly urls: string[];

  constructor(private readonly opts: ServicePoolOptions) {
    this.slots = new Array<Promise<RawLdapConnection> | undefined>(Math.max(1, opts.size ?? 2)).fill(
      undefined,
    );
    this.ready = new Array<RawLdapConnection | undefined>(this.slots.length).fill(undefined);
    this.urls = [opts.url, ...(opts.fallbackUrls ?? [])];
  }

  /** Bound on each lookup's wait for its answer. */
  get operationTimeoutMs(): number {
    return this.opts.operationTimeoutMs ?? 10_000;
  }

  /** Connects and binds to the preferred backend, then to each other one in turn. */
  private async connect(): Promise<RawLdapConnection> {
    let last: unknown;
    for (let i = 0; i < this.urls.length; i++) {
      const at = (this.preferred + i) % this.urls.length;
      try {
        const client = await RawLdapConnection.open({ ...this.opts, url: this.urls[at]! });
        // Pipelined lookups each wait for 'close'.
        client.setMaxListeners(0);
        try {
          if (this.opts.bindDn !== undefined) {
            await client.bind(this.opts.bindDn, this.opts.password ?? '', this.opts.operationTimeoutMs);
          }
        } catch (e) {
          client.close();
          throw e;
        }
        this.preferred = at;
        return client;
      } catch (e) {
        last = e;
      }
    }
    throw last;
  }

  /**
   * Runs `fn` on a bound connection. A connection-level failure drops that connection and retries once on a
   * fresh one; an LDAP result (no such object, size limit…) is passed through as an LdapResultError.
   */
  async run<T>(fn: (client: RawLdapConnection) => Promise<T>): Promise<T> {
    const index = this.turnSlot();
    for (let attempt = 0; ; attempt++) {
      const open = this.ready[index];
      const client = open !== undefined && !open.isClosed && !this.closed ? open : await this.client(index);
      try {
        return await fn(client);
      } catch (e) {
        if (e instanceof LdapResultError && !TRANSIENT_CODES.has(e.result.resultCode)) throw e;
        this.drop(index, client);
        if (attempt >= 1) throw asUnavailable(e);
      }
    }
  }

  /**
   * Lookups started in one turn of the event loop share a connection (so they leave in one write, see
   * RawLdapConnection.send); the next turn takes the next connection, which spreads load over the pool.
   */
  private turnSlot(): number {
    if (this.turnIndex < 0) {
      this.turnIndex = this.next;
      this.next = (this.next + 1) % this.slots.length;
      setImmediate(this.endTurn);
    }
    return this.turnIndex;
  }

  private readonly endTurn = (): void => {
    this.turnIndex = -1;
  };

  private client(index: number): Promise<RawLdapConnection> {
    if (this.closed) return Promise.reject(new DirectoryUnavailableError('directory pool closed'));
    let slot = this.slots[index];
    if (!slot) {
      slot = this.connect().catch((e: unknown) => {
        if (this.slots[index] === slot) this.slots[index] = undefined;
        throw asUnavailable(e);
      });
      this.slots[index] = slot;
    }
    return slot.then((c) => {
      if (!c.isClosed) {
        if (this.slots[index] === slot) this.ready[index] = c;
        return c;
      }
      // The socket closed since: start over on this slot.
      if (this.slots[index] === slot) this.slots[index] = undefined;
      return this.client(index);
    });
  }

  private drop(index: number, client: RawLdapConnection): void {
    this.slots[index] = undefined;
    this.ready[index] = undefined;
    client.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    const open = this.slots.filter((p): p is Promise<RawLdapConnection> => p !== undefined);
    for (let i = 0; i < this.slots.length; i++) this.slots[i] = this.ready[i] = undefined;
    await Promise.all(open.map((p) => p.then((c) => c.close()).catch(() => undefined)));
  }
}

function asUnavailable(e: unknown): DirectoryUnavailableError {
  if (e instanceof DirectoryUnavailableError) return e;
  const code = e instanceof LdapResultError ? ` (result ${e.result.resultCode})` : '';
  const reason = e instanceof Error ? e.message : 'unknown error';
  return new DirectoryUnavailableError(`directory unavailable${code}: ${reason}`);
}
