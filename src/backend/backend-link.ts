// The backend connection of one client session. It frames backend responses and hands each whole frame to
// its owner inside one write batch per received chunk; it never decodes more than the envelope.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { FrameError, FrameReader, SpanWriter } from '../frame/index.js';
import { metrics } from '../metrics/index.js';
import { connectBackend } from './connect.js';
import type { Backend, BackendPool } from './pool.js';

export interface BackendLinkOwner {
  onBackendReady(): void;
  /** Could not connect to any backend. */
  onBackendFailed(reason: string): void;
  /** A working connection was lost (closed, reset, or sent something that is not LDAP). */
  onBackendLost(reason: string): void;
  beginBackendBatch(): void;
  onBackendFrame(frame: Buffer, messageId: number, opTag: number): void;
  endBackendBatch(): void;
  onBackendDrain(): void;
  /** The backend stream stopped being BER after a SASL bind (security layer): bytes from here are opaque. */
  onBackendSecurityLayer(rest: Buffer): void;
  /** Opaque backend bytes once a SASL security layer is in effect. */
  onBackendRaw(chunk: Buffer): void;
}

export type LinkState = 'idle' | 'connecting' | 'ready' | 'closed';

/** A connection lost this soon after connecting, with nothing received, marks its backend down. */
const SILENT_DROP_MS = 2000;

export class BackendLink {
  state: LinkState = 'idle';
  socket: Socket | TLSSocket | null = null;
  backend: Backend | null = null;
  private readonly reader: FrameReader;
  /** Set after a successful SASL bind: a non-BER byte then means a security layer, not garbage. */
  securityLayerAllowed = false;
  /** A SASL security layer is in effect: bytes are relayed without framing. */
  raw = false;
  /** Requests forwarded in one client chunk go out as one write; flush() after each batch. */
  private readonly out = new SpanWriter({ write: () => true });

  constructor(
    private readonly pool: BackendPool,
    private readonly owner: BackendLinkOwner,
  ) {
    this.reader = new FrameReader(pool.options.maxPduBytes);
  }

  connect(): void {
    if (this.state !== 'idle') return;
    this.state = 'connecting';
    void this.tryBackends();
  }

  private async tryBackends(): Promise<void> {
    const reasons: string[] = [];
    for (const backend of this.pool.candidates()) {
      try {
        const sock = await connectBackend(backend, {
          timeoutMs: this.pool.options.connectTimeoutMs,
          startTls: this.pool.options.startTls,
          ca: this.pool.ca,
        });
        if (this.state !== 'connecting') {
          sock.destroy();
          return;
        }
        this.pool.markUp(backend);
        if (backend !== this.pool.backends[0]) metrics.backendFailover();
        this.attach(sock, backend);
        return;
      } catch (e) {
        const reason = `${backend.url.text}: ${(e as Error).message}`;
        this.pool.markDown(backend, reason);
        reasons.push(reason);
        if (this.state !== 'connecting') return;
      }
    }
    this.state = 'idle';
    this.owner.onBackendFailed(reasons.join('; '));
  }

  /** When the connection was made, until the backend first sends something (0 after that). */
  private silentSince = 0;

  private attach(sock: Socket | TLSSocket, backend: Backend): void {
    this.socket = sock;
    this.backend = backend;
    this.silentSince = Date.now();
    this.state = 'ready';
    this.out.sink = sock;
    sock.setNoDelay(true);
    sock.setKeepAlive(true, 60_000);
    sock.on('data', this.onData);
    sock.on('error', this.onError);
    sock.on('close', this.onClose);
    sock.on('drain', this.onDrain);
    this.owner.onBackendReady();
  }

  private readonly onData = (chunk: Buffer): void => {
    const owner = this.owner;
    this.silentSince = 0;
    if (this.raw) {
      owner.onBackendRaw(chunk);
      return;
    }
    const reader = this.reader;
    owner.beginBackendBatch();
    try {
      reader.push(chunk);
      while (this.state === 'ready' && !this.raw && reader.next())
        owner.onBackendFrame(reader.frame, reader.messageId, reader.opTag);
    } catch (e) {
      if (e instanceof FrameError && e.reason === 'notASequence' && this.securityLayerAllowed) {
        this.raw = true;
        owner.onBackendSecurityLayer(reader.takeRemaining());
        return;
      }
      if (e instanceof FrameError && e.reason === 'tooLarge') metrics.pduLimitViolation('backend');
      this.lose(`unreadable response from backend: ${(e as Error).message}`);
    } finally {
      owner.endBackendBatch();
    }
  };

  private lastError = '';
  private readonly onError = (e: NodeJS.ErrnoException): void => {
    this.lastError = `${e.code ?? 'error'}: ${e.message}`;
  };

  private readonly onClose = (): void => {
    this.lose(this.lastError || 'backend closed the connection');
  };

  private readonly onDrain = (): void => {
    this.owner.onBackendDrain();
  };

  private lose(reason: string): void {
    if (this.state !== 'ready') return;
    this.state = 'closed';
    // Accepted and dropped before saying anything (a backend that accepts and resets): as bad as a failed
    // connect, whether the reset came before or after the connect completed.
    if (this.backend && this.silentSince !== 0 && Date.now() - this.silentSince < SILENT_DROP_MS)
      this.pool.markDown(this.backend, reason);
    this.socket?.destroy();
    this.owner.onBackendLost(reason);
  }

  /** Queues a whole request frame (coalesced with the previous one when contiguous); see flush(). */
  write(frame: Buffer): void {
    this.out.write(frame);
  }

  flush(): void {
    this.out.flush();
  }

  /** Writes opaque bytes (SASL security layer) after anything queued. */
  writeRaw(bytes: Buffer): void {
    this.out.writeNow(bytes);
  }

  get needsDrain(): boolean {
    return this.socket?.writableNeedDrain ?? false;
  }

  /** Frames written until endBatch() go out in one write (see SpanWriter). */
  beginBatch(): void {
    this.out.beginBatch();
  }
  endBatch(): void {
    this.out.endBatch();
  }
  pause(): void {
    this.socket?.pause();
  }
  resume(): void {
    this.socket?.resume();
  }

  private ending = false;

  /** Sends what is queued, then closes (after an unbind). */
  end(): void {
    const sock = this.socket;
    this.state = 'closed';
    this.ending = true;
    if (sock) {
      this.out.flush();
      sock.end();
      sock.once('finish', () => sock.destroy());
      // Cleared on close, so a finished link is not kept reachable by its timer.
      const forceClose = setTimeout(() => sock.destroy(), 5000);
      forceClose.unref();
      sock.once('close', () => clearTimeout(forceClose));
    }
  }

  destroy(): void {
    this.state = 'closed';
    if (!this.ending) this.socket?.destroy();
  }
}
