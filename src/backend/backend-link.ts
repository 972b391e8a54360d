// The backend connection of one client session. It frames backend responses and hands each whole frame to
// its owner inside one write batch per received chunk; it never decodes more than the envelope.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { FrameError, FrameReader, SpanWriter, holdsQueuedBytes, takeReadBuffer } from '../frame/index.js';
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
  /**
   * True while a write to the client may still reference bytes of the last backend read (not yet handed to
   * the kernel); `then` runs once it no longer does.
   */
  holdsBackendBytes(then: () => void): boolean;
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

  /**
   * Plain backend connections read into this one buffer (net `onread`): no buffer and no 'data' event per
   * read. Frames are forwarded as subarrays of it, so reading pauses while a client write still refers to it.
   */
  private readBuffer: Buffer | null = null;
  private readHeld = false;
  private paused = false;
  /** Bytes read before the connection was handed over (a notice of disconnection), copied. */
  private early: Buffer[] = [];

  constructor(
    private readonly pool: BackendPool,
    private readonly owner: BackendLinkOwner,
  ) {
    this.reader = new FrameReader(pool.options.maxPduBytes);
  }

  private readonly onRead = (bytes: number, buf: Buffer): boolean => {
    if (this.state !== 'ready' || this.socket === null) {
      // Kept until attach() (a notice before the hand-over); after close nothing is read any more.
      if (this.state === 'connecting') this.early.push(Buffer.from(buf.subarray(0, bytes)));
      return true;
    }
    // Opaque bytes (SASL security layer) are written as they are: copy them out of the shared buffer.
    this.onData(this.raw ? Buffer.from(buf.subarray(0, bytes)) : buf.subarray(0, bytes));
    if (this.state === 'ready' && this.owner.holdsBackendBytes(this.releaseRead)) {
      this.readHeld = true;
      return false;
    }
    return true;
  };

  private readonly releaseRead = (): void => {
    if (!this.readHeld) return;
    this.readHeld = false;
    if (!this.paused && this.state === 'ready') this.socket?.resume();
  };

  connect(): void {
    if (this.state !== 'idle') return;
    this.state = 'connecting';
    this.attempt = this.tryBackends();
  }

  private attempt: Promise<void> | null = null;
  private socketClosed = false;

  /**
   * Calls `then` once no connection attempt is in flight and the socket, if any, has closed: from then on
   * nothing reads into the read buffer or writes from views of it.
   */
  whenClosed(then: () => void): void {
    const settle = (): void => {
      const sock = this.socket;
      if (sock === null || this.socketClosed) then();
      else sock.once('close', then);
    };
    if (this.attempt === null) settle();
    else void this.attempt.then(settle, settle);
  }

  /** Hands the read buffer over (for reuse, once whenClosed has fired); the link keeps none. */
  takeReadBuffer(): Buffer | null {
    const buffer = this.readBuffer;
    this.readBuffer = null;
    return buffer;
  }

  private async tryBackends(): Promise<void> {
    const reasons: string[] = [];
    for (const backend of this.pool.candidates()) {
      try {
        const plain = !backend.url.secure && !this.pool.options.startTls;
        if (plain) this.readBuffer ??= takeReadBuffer();
        const sock = await connectBackend(backend, {
          timeoutMs: this.pool.options.connectTimeoutMs,
          startTls: this.pool.options.startTls,
          ca: this.pool.ca,
          onread: plain && this.readBuffer ? { buffer: this.readBuffer, callback: this.onRead } : undefined,
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
    const early = this.early;
    this.early = [];
    for (const chunk of early) if (this.state === 'ready') this.onData(chunk);
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
    this.socketClosed = true;
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

  /**
   * True while written bytes are still queued in the socket (not yet handed to the kernel), so the buffers
   * they view must stay unchanged; `then` runs once they are handed over.
   */
  holdsWrittenBytes(then: () => void): boolean {
    return this.socket !== null && holdsQueuedBytes(this.socket, then);
  }

  get needsDrain(): boolean {
    return this.socket?.writableNeedDrain ?? false;
  }

  get inBatch(): boolean {
    return this.out.inBatch;
  }

  /** Frames written until endBatch() go out in one write (see SpanWriter). */
  beginBatch(): void {
    this.out.beginBatch();
  }
  endBatch(): void {
    this.out.endBatch();
  }
  pause(): void {
    this.paused = true;
    this.socket?.pause();
  }
  resume(): void {
    this.paused = false;
    if (!this.readHeld) this.socket?.resume();
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
