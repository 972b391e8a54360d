// Per-connection state shared by the layers of a client session (see client-session.ts): identity and
// limits, outstanding messageIDs and observers, the PDU timer, local answers, and closing.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { BerError } from '../ber/index.js';
import { BackendLink } from '../backend/index.js';
import type { BackendLinkOwner, BackendPool } from '../backend/index.js';
import type { ServeConfig } from '../config/index.js';
import { FrameError, FrameReader, SpanWriter, giveBackReadBuffer } from '../frame/index.js';
import {
  RESPONSE_FOR_REQUEST,
  ResultCode,
  encodeNoticeOfDisconnection,
  encodeResultResponse,
} from '../ldap/index.js';
import { ANONYMOUS } from './interceptor.js';
import type {
  BindState,
  InterceptorTable,
  ObserveEnd,
  RequestRewriter,
  ResponseObserver,
  SessionContext,
} from './interceptor.js';
import type { ListenerTls } from './tls-context.js';
import type { ClientSession } from './client-session.js';
import { OperationDeadline } from './operation-deadline.js';
import { metrics } from '../metrics/index.js';

export interface SessionEnv {
  readonly config: ServeConfig;
  readonly pool: BackendPool;
  readonly interceptors: InterceptorTable;
  readonly tls: ListenerTls;
  readonly log: Logger;
  readonly listener: string;
  onClose(session: ClientSession): void;
}

export interface Queued {
  frame: Buffer;
  messageId: number;
  opTag: number;
  /** performance.now() when the request arrived (latency metrics). */
  start: number;
}

type Notice = typeof ResultCode.protocolError | typeof ResultCode.unavailable;

/** Where a connection comes from when a load balancer told us (PROXY protocol), and bytes already read. */
export interface SessionOrigin {
  address?: string;
  port?: number;
  /** Client bytes received with the PROXY header, handled as if they had just arrived. */
  initialData?: Buffer;
}

let nextSessionId = 1;

export abstract class SessionCore implements SessionContext, BackendLinkOwner {
  readonly id = nextSessionId++;
  readonly clientAddress: string;
  readonly clientPort: number;
  readonly listener: string;
  private sessionLog: Logger | undefined;
  tls: boolean;
  bindState: BindState = ANONYMOUS;

  protected socket: Socket;
  /** Client-bound frames; backend frames forwarded unchanged from one chunk coalesce into one write. */
  protected readonly out: SpanWriter;
  protected readonly reader: FrameReader;
  protected readonly link: BackendLink;
  /** messageID → performance.now() when the request arrived (for the latency metrics). */
  protected readonly outstanding = new Map<number, number>();
  /** When the chunk being read arrived: the start time of every request framed from it. */
  protected requestStart = 0;
  protected readonly listenerIndex: number;
  protected readonly observers = new Map<number, ResponseObserver>();
  protected maxOutstanding: number;
  protected rewriter: RequestRewriter | null = null;
  /** Requests waiting for the backend connection. */
  protected waiting: Queued[] = [];
  /**
   * Accepted requests held back while max_backend_inflight of the connection's operations are at the
   * backend; sent in order as answers come back. Outstanding (counted against the limit) while held.
   */
  protected held: Queued[] = [];
  protected heldHead = 0;
  /**
   * The request that found the connection at its outstanding limit: it and everything after it wait,
   * unread, until an operation completes (backpressure: nothing refused, nothing lost).
   */
  protected stalled: Queued | null = null;
  /** A setImmediate(nextTurn) is pending (a yielded turn or a stall that can proceed). */
  protected turnScheduled = false;
  /** messageID of the bind in flight at the backend, and what it was for. */
  protected bindId = -1;
  protected bindDn = '';
  protected bindMechanism = '';
  protected bindAnonymous = false;
  /** Reading stopped: an async interceptor is running or StartTLS is being set up. */
  protected busy = false;
  protected heldChunks: Buffer[] = [];
  /**
   * Plain client sockets read into this one buffer (see user-read-buffer.ts): a chunk, and the frames in it,
   * are views that the next read overwrites, so whatever outlives a read is copied or holds reading.
   */
  protected clientReadBuffer: Buffer | null = null;
  protected clientPaused = false;
  protected backendPaused = false;
  protected backendWasReady = false;
  protected backendNoticeSeen = false;
  protected draining = false;
  /** Present when backend_operation_timeout_ms is set. */
  protected readonly deadline: OperationDeadline | null;
  /** The last bind was a successful SASL bind (a security layer may follow). */
  protected saslBound = false;
  closed = false;

  constructor(
    socket: Socket,
    protected readonly env: SessionEnv,
    secure: boolean,
    origin: SessionOrigin,
  ) {
    this.socket = socket;
    this.out = new SpanWriter(socket);
    this.tls = secure;
    this.listener = env.listener;
    this.listenerIndex = env.config.listen.indexOf(env.listener);
    this.clientAddress = origin.address ?? socket.remoteAddress ?? '';
    this.clientPort = origin.port ?? socket.remotePort ?? 0;
    this.reader = new FrameReader(env.config.max_pdu_bytes_anonymous);
    this.maxOutstanding = env.config.max_outstanding_anonymous;
    this.link = new BackendLink(env.pool, this);
    const opTimeout = env.config.backend_operation_timeout_ms;
    this.deadline =
      opTimeout > 0 ? new OperationDeadline(opTimeout, (expired) => this.backendTooSlow(expired)) : null;
  }

  // Implemented by the layers above (request path, response path); declared here for the handlers below.
  protected abstract readonly onClientData: (chunk: Buffer) => void;
  protected abstract backendTooSlow(expired: { messageId: number; opTag: number }[]): void;
  abstract onBackendReady(): void;
  abstract onBackendFailed(reason: string): void;
  abstract onBackendLost(reason: string): void;
  abstract beginBackendBatch(): void;
  abstract holdsBackendBytes(then: () => void): boolean;
  abstract onBackendFrame(frame: Buffer, messageId: number, opTag: number): void;
  abstract endBackendBatch(): void;
  abstract onBackendDrain(): void;
  abstract onBackendSecurityLayer(rest: Buffer): void;
  abstract onBackendRaw(chunk: Buffer): void;

  /** Created on first use: most sessions never log, and a child logger per connection is not free. */
  get log(): Logger {
    return (this.sessionLog ??= this.env.log.child({ session: this.id }));
  }

  get outstandingCount(): number {
    return this.outstanding.size;
  }

  setBindState(state: BindState): void {
    this.bindState = state;
    const anonymous = state.kind === 'anonymous';
    const c = this.env.config;
    this.reader.maxFrameBytes = anonymous ? c.max_pdu_bytes_anonymous : c.max_pdu_bytes;
    this.maxOutstanding = anonymous ? c.max_outstanding_anonymous : c.max_outstanding;
  }

  setRequestRewriter(rewriter: RequestRewriter | null): void {
    this.rewriter = rewriter;
  }

  protected attachClient(sock: Socket): void {
    sock.setNoDelay(true);
    if (this.env.config.idle_timeout_ms > 0) sock.setTimeout(this.env.config.idle_timeout_ms);
    sock.on('data', this.onClientData);
    sock.on('end', this.onClientEnd);
    sock.on('close', this.onClientClose);
    sock.on('error', this.onClientError);
    sock.on('drain', this.onClientDrain);
    sock.on('timeout', this.onClientTimeout);
  }

  protected detachClient(sock: Socket): void {
    sock.off('data', this.onClientData);
    sock.off('end', this.onClientEnd);
    sock.off('close', this.onClientClose);
    sock.off('error', this.onClientError);
    sock.off('drain', this.onClientDrain);
    sock.off('timeout', this.onClientTimeout);
  }

  protected pduTimer: NodeJS.Timeout | null = null;

  protected clearPduTimer(): void {
    if (this.pduTimer === null) return;
    clearTimeout(this.pduTimer);
    this.pduTimer = null;
  }

  protected readonly onPduTimeout = (): void => {
    this.pduTimer = null;
    if (this.link.raw) return;
    this.closeWithNotice(
      ResultCode.protocolError,
      `a PDU was not received in full within ${this.env.config.idle_timeout_ms} ms`,
    );
  };

  /** Answers with the response type that matches the request; abandon and unbind get nothing. */
  protected answerLocally(messageId: number, opTag: number, code: number, message: string): void {
    const responseTag = RESPONSE_FOR_REQUEST[opTag] ?? 0;
    if (responseTag === 0) return;
    metrics.operation(opTag, code, (performance.now() - this.requestStart) / 1000);
    this.out.writeNow(
      encodeResultResponse(messageId, responseTag, {
        resultCode: code,
        matchedDN: '',
        diagnosticMessage: message,
      }),
    );
  }

  protected endObserver(messageId: number, reason: ObserveEnd): void {
    const obs = this.observers.get(messageId);
    if (obs === undefined) return;
    this.observers.delete(messageId);
    try {
      obs.onEnd?.(reason, this);
    } catch (e) {
      this.log.error({ err: e }, 'response observer failed');
    }
  }

  private readonly onClientDrain = (): void => {
    if (this.backendPaused) {
      this.backendPaused = false;
      this.link.resume();
    }
  };

  // ---- ending -------------------------------------------------------------------------------------------

  protected onClientFault(e: unknown): void {
    if (e instanceof FrameError && e.reason === 'notASequence' && this.saslBound) {
      this.log.info(
        { client: this.clientAddress },
        'SASL security layer refused (allow_sasl_security_layer is off)',
      );
      this.closeWithNotice(
        ResultCode.protocolError,
        'SASL security layers are not relayed by this proxy; use TLS (StartTLS or ldaps) instead',
      );
    } else if (e instanceof FrameError || e instanceof BerError) {
      if (e instanceof FrameError && e.reason === 'tooLarge') metrics.pduLimitViolation('client');
      metrics.connectionRejected('protocol_error');
      this.log.info({ client: this.clientAddress, reason: e.message }, 'protocol error from client');
      this.closeWithNotice(ResultCode.protocolError, e.message);
    } else {
      this.log.error({ err: e }, 'internal error on a client connection');
      this.closeWithNotice(ResultCode.unavailable, 'internal error in the proxy');
    }
  }

  private readonly onClientTimeout = (): void => {
    if (this.outstanding.size === 0 && !this.busy)
      this.closeWithNotice(ResultCode.unavailable, 'idle timeout');
  };

  private readonly onClientEnd = (): void => {
    this.closeClient();
  };

  private readonly onClientError = (e: NodeJS.ErrnoException): void => {
    this.log.debug({ code: e.code, reason: e.message }, 'client connection error');
    this.destroy();
  };

  private clientSocketClosed = false;

  private readonly onClientClose = (): void => {
    this.clientSocketClosed = true;
    this.destroy();
  };

  /** Stop taking new operations; close once the ones in progress have completed. */
  beginShutdown(): void {
    this.draining = true;
    // With a security layer the proxy cannot see operations: it closes at the end of the grace period.
    if (this.outstanding.size === 0 && !this.busy && !this.link.raw)
      this.closeWithNotice(ResultCode.unavailable, 'the proxy is shutting down');
  }

  closeWithNotice(code: Notice, message: string): void {
    if (this.closed) return;
    // Inside a SASL security layer a plain BER notice would be garbage to the client: just close.
    if (this.socket.writable && !this.link.raw) this.out.writeNow(encodeNoticeOfDisconnection(code, message));
    this.closeClient();
  }

  /** Flushes what was written, then closes both sides. */
  protected closeClient(): void {
    if (this.closed) return;
    this.closed = true;
    this.link.destroy();
    const sock = this.socket;
    sock.end();
    sock.once('finish', () => sock.destroy());
    // A client that never reads must not keep the socket open forever. The timer is cleared on close:
    // left pending it would keep every closed session in memory for 5 s under connection churn.
    const forceClose = setTimeout(() => sock.destroy(), 5000);
    forceClose.unref();
    sock.once('close', () => clearTimeout(forceClose));
    this.finish();
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
    this.link.destroy();
    this.finish();
  }

  private finished = false;

  /**
   * The client's and the backend link's read buffers go back to the pool once both sockets have closed:
   * until then the client socket may still read into its buffer or write views of the link's, and the
   * backend socket may still write views of the client's (an unbind being sent).
   */
  private recycleReadBuffers(): void {
    const clientBuffer = this.clientReadBuffer;
    let open = 2;
    const closed = (): void => {
      if (--open > 0) return;
      if (clientBuffer !== null) giveBackReadBuffer(clientBuffer);
      const linkBuffer = this.link.takeReadBuffer();
      if (linkBuffer !== null) giveBackReadBuffer(linkBuffer);
    };
    if (this.clientSocketClosed) closed();
    else this.socket.once('close', closed);
    this.link.whenClosed(closed);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.clearPduTimer();
    this.deadline?.stop();
    for (const id of [...this.observers.keys()]) this.endObserver(id, 'closed');
    this.waiting = [];
    this.held = [];
    this.heldHead = 0;
    this.stalled = null;
    this.heldChunks = [];
    this.recycleReadBuffers();
    // SessionCore is abstract: the only concrete session is a ClientSession.
    this.env.onClose(this as unknown as ClientSession);
  }
}
