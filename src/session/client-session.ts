// One client connection: frames requests, runs interceptors for the few tags that have them, forwards
// everything else byte for byte to its own backend connection, and writes backend frames back whole.
// State kept per connection: bind identity (which picks the limits), outstanding messageIDs, observers.
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { BerError } from '../ber/index.js';
import { BackendLink } from '../backend/index.js';
import type { BackendLinkOwner, BackendPool } from '../backend/index.js';
import type { ServeConfig } from '../config/index.js';
import { FrameError, FrameReader, SpanWriter } from '../frame/index.js';
import {
  IS_FINAL_RESPONSE,
  LdapResultError,
  Oid,
  ProtocolOp,
  RESPONSE_FOR_REQUEST,
  ResultCode,
  decodeAbandonRequest,
  decodeBindRequest,
  decodeExtendedRequest,
  encodeExtendedResponse,
  encodeNoticeOfDisconnection,
  encodeResultResponse,
  opName,
  readResultCode,
} from '../ldap/index.js';
import { ANONYMOUS, InterceptedRequest } from './interceptor.js';
import type {
  BindState,
  InterceptDecision,
  Interceptor,
  InterceptorTable,
  ObserveEnd,
  RequestRewriter,
  ResponseObserver,
  SessionContext,
} from './interceptor.js';
import type { ListenerTls } from './tls-context.js';
import { OperationDeadline } from './operation-deadline.js';
import { metrics, NO_RESULT, peekResultCode } from '../metrics/index.js';

export interface SessionEnv {
  readonly config: ServeConfig;
  readonly pool: BackendPool;
  readonly interceptors: InterceptorTable;
  readonly tls: ListenerTls;
  readonly log: Logger;
  readonly listener: string;
  onClose(session: ClientSession): void;
}

interface Queued {
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

export class ClientSession implements SessionContext, BackendLinkOwner {
  readonly id = nextSessionId++;
  readonly clientAddress: string;
  readonly clientPort: number;
  readonly listener: string;
  private sessionLog: Logger | undefined;
  tls: boolean;
  bindState: BindState = ANONYMOUS;

  private socket: Socket;
  /** Client-bound frames; backend frames forwarded unchanged from one chunk coalesce into one write. */
  private readonly out: SpanWriter;
  private readonly reader: FrameReader;
  private readonly link: BackendLink;
  /** messageID → performance.now() when the request arrived (for the latency metrics). */
  private readonly outstanding = new Map<number, number>();
  /** When the chunk being read arrived: the start time of every request framed from it. */
  private requestStart = 0;
  private readonly listenerIndex: number;
  private readonly observers = new Map<number, ResponseObserver>();
  private maxOutstanding: number;
  private rewriter: RequestRewriter | null = null;
  /** Requests waiting for the backend connection. */
  private waiting: Queued[] = [];
  /** messageID of the bind in flight at the backend, and what it was for. */
  private bindId = -1;
  private bindDn = '';
  private bindMechanism = '';
  private bindAnonymous = false;
  /** Reading stopped: an async interceptor is running or StartTLS is being set up. */
  private busy = false;
  private heldChunks: Buffer[] = [];
  private clientPaused = false;
  private backendPaused = false;
  private backendWasReady = false;
  private backendNoticeSeen = false;
  private draining = false;
  /** Present when backend_operation_timeout_ms is set. */
  private readonly deadline: OperationDeadline | null;
  /** The last bind was a successful SASL bind (a security layer may follow). */
  private saslBound = false;
  closed = false;

  constructor(
    socket: Socket,
    private readonly env: SessionEnv,
    secure: boolean,
    origin: SessionOrigin = {},
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
    this.attachClient(socket);
    this.link.connect();
    if (origin.initialData !== undefined && origin.initialData.length > 0)
      this.onClientData(origin.initialData);
    // A socket paused while its PROXY header was read flows again here (unless the session is busy).
    if (!this.busy && !this.clientPaused && !this.closed) socket.resume();
  }

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

  private attachClient(sock: Socket): void {
    sock.setNoDelay(true);
    if (this.env.config.idle_timeout_ms > 0) sock.setTimeout(this.env.config.idle_timeout_ms);
    sock.on('data', this.onClientData);
    sock.on('end', this.onClientEnd);
    sock.on('close', this.onClientClose);
    sock.on('error', this.onClientError);
    sock.on('drain', this.onClientDrain);
    sock.on('timeout', this.onClientTimeout);
  }

  private detachClient(sock: Socket): void {
    sock.off('data', this.onClientData);
    sock.off('end', this.onClientEnd);
    sock.off('close', this.onClientClose);
    sock.off('error', this.onClientError);
    sock.off('drain', this.onClientDrain);
    sock.off('timeout', this.onClientTimeout);
  }

  // ---- client → backend -------------------------------------------------------------------------------

  private readonly onClientData = (chunk: Buffer): void => {
    if (this.closed) return;
    if (this.link.raw) return this.relayRaw(chunk);
    if (this.busy) {
      this.heldChunks.push(chunk);
      this.socket.pause();
      return;
    }
    this.readRequests(chunk);
  };

  /** Handles every complete request buffered, unless an interceptor or StartTLS makes the session busy. */
  private readRequests(chunk: Buffer | null): void {
    const reader = this.reader;
    const link = this.link;
    this.requestStart = performance.now();
    link.cork();
    try {
      if (chunk !== null) reader.push(chunk);
      while (!this.busy && !this.closed && reader.next())
        this.onRequest(reader.frame, reader.messageId, reader.opTag);
    } catch (e) {
      if (e instanceof FrameError && e.reason === 'notASequence' && this.link.securityLayerAllowed)
        this.enterSecurityLayer(reader.takeRemaining());
      else this.onClientFault(e);
    } finally {
      link.flush();
      link.uncork();
    }
    if (!this.clientPaused && link.needsDrain) {
      this.clientPaused = true;
      this.socket.pause();
    }
    // A PDU must arrive in full within the idle timeout, or a client dripping bytes would never be idle.
    if (this.env.config.idle_timeout_ms > 0) {
      if (!reader.hasPendingBytes) this.clearPduTimer();
      else if (this.pduTimer === null)
        this.pduTimer = setTimeout(this.onPduTimeout, this.env.config.idle_timeout_ms);
    }
  }

  private pduTimer: NodeJS.Timeout | null = null;

  private clearPduTimer(): void {
    if (this.pduTimer === null) return;
    clearTimeout(this.pduTimer);
    this.pduTimer = null;
  }

  private readonly onPduTimeout = (): void => {
    this.pduTimer = null;
    if (this.link.raw) return;
    this.closeWithNotice(
      ResultCode.protocolError,
      `a PDU was not received in full within ${this.env.config.idle_timeout_ms} ms`,
    );
  };

  private resumeReading(): void {
    this.busy = false;
    if (this.closed) return;
    this.readRequests(null);
    while (!this.busy && !this.closed && this.heldChunks.length > 0)
      this.readRequests(this.heldChunks.shift() as Buffer);
    if (!this.busy && !this.clientPaused) this.socket.resume();
  }

  private onRequest(frame: Buffer, messageId: number, opTag: number): void {
    if (messageId === 0)
      throw new FrameError('badEnvelope', 'messageID 0 is reserved for unsolicited notifications');
    if (this.draining && opTag !== ProtocolOp.abandonRequest && opTag !== ProtocolOp.unbindRequest) {
      this.answerLocally(messageId, opTag, ResultCode.unavailable, 'the proxy is shutting down');
      return;
    }
    const chain = this.env.interceptors[opTag];
    if (opTag === ProtocolOp.extendedReq && this.isStartTls(frame)) return this.startTls(messageId);
    if (chain === undefined) return this.forward(frame, messageId, opTag, null);
    this.runInterceptors(new InterceptedRequest(frame, messageId, opTag), chain, 0);
  }

  private runInterceptors(req: InterceptedRequest, chain: readonly Interceptor[], from: number): void {
    for (let i = from; i < chain.length; i++) {
      const interceptor = chain[i] as Interceptor;
      let decision: InterceptDecision | Promise<InterceptDecision>;
      try {
        decision = interceptor.intercept(req, this);
      } catch (e) {
        return this.interceptorFailed(req, interceptor, e);
      }
      if (decision instanceof Promise) {
        this.busy = true;
        decision.then(
          (d) =>
            this.afterAsync(() =>
              d.action === 'pass' ? this.runInterceptors(req, chain, i + 1) : this.apply(req, d),
            ),
          (e: unknown) => this.afterAsync(() => this.interceptorFailed(req, interceptor, e)),
        );
        return;
      }
      if (decision.action !== 'pass') return this.apply(req, decision);
    }
    this.forward(req.frame, req.messageId, req.opTag, null);
  }

  /** Finishes a request whose interceptor answered asynchronously, then reads on (unless busy again). */
  private afterAsync(step: () => void): void {
    if (this.closed) return;
    this.busy = false;
    try {
      step();
      this.link.flush();
    } catch (e) {
      this.onClientFault(e);
      return;
    }
    if (!this.busy) this.resumeReading();
  }

  private apply(req: InterceptedRequest, d: InterceptDecision): void {
    if (d.action === 'forward') {
      this.forward(d.frame ?? req.frame, req.messageId, req.opTag, d.observe ?? null);
    } else if (d.action === 'respond') {
      for (const f of d.frames) this.out.writeNow(f);
      const last = d.frames[d.frames.length - 1];
      if (last !== undefined)
        metrics.operation(req.opTag, peekResultCode(last), (performance.now() - this.requestStart) / 1000);
      if (d.close) this.closeClient();
    } else {
      this.forward(req.frame, req.messageId, req.opTag, null);
    }
  }

  private interceptorFailed(req: InterceptedRequest, interceptor: Interceptor, e: unknown): void {
    let code: number = ResultCode.other;
    let message = 'internal error in the proxy';
    if (e instanceof LdapResultError) {
      code = e.code;
      message = e.message;
    } else if (e instanceof BerError) {
      code = ResultCode.protocolError;
      message = `malformed ${opName(req.opTag)}: ${e.message}`;
    } else {
      this.log.error({ err: e, interceptor: interceptor.name, op: opName(req.opTag) }, 'interceptor failed');
    }
    this.answerLocally(req.messageId, req.opTag, code, message);
  }

  /** Answers with the response type that matches the request; abandon and unbind get nothing. */
  private answerLocally(messageId: number, opTag: number, code: number, message: string): void {
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

  private forward(frame: Buffer, messageId: number, opTag: number, observer: ResponseObserver | null): void {
    if (opTag === ProtocolOp.abandonRequest) {
      metrics.operation(opTag, NO_RESULT, -1);
      this.abandoned(decodeAbandonRequest(frame));
    } else if (opTag === ProtocolOp.unbindRequest) {
      metrics.operation(opTag, NO_RESULT, -1);
      // Only a connected backend needs to hear it; never open a connection just to unbind.
      if (this.link.state === 'ready') {
        this.link.write(frame);
        this.link.flush();
      }
      this.link.end();
      this.closeClient();
      return;
    } else if (RESPONSE_FOR_REQUEST[opTag] !== 0) {
      if (this.outstanding.size >= this.maxOutstanding) {
        this.answerLocally(
          messageId,
          opTag,
          ResultCode.busy,
          `too many operations in progress (limit ${this.maxOutstanding})`,
        );
        observer?.onEnd?.('closed', this);
        return;
      }
      this.outstanding.set(messageId, this.requestStart);
      if (opTag === ProtocolOp.bindRequest) this.bindStarted(frame, messageId);
      if (this.deadline !== null) this.deadline.started(messageId, opTag);
    }
    if (observer !== null) this.observers.set(messageId, observer);
    if (this.rewriter !== null) frame = this.rewriter(frame, messageId, opTag, this);
    this.sendToBackend(frame, messageId, opTag);
  }

  private sendToBackend(frame: Buffer, messageId: number, opTag: number): void {
    const link = this.link;
    if (link.state === 'ready') {
      link.write(frame);
      metrics.addedLatencySeconds((performance.now() - this.requestStart) / 1000);
      return;
    }
    if (link.state === 'closed') return;
    this.waiting.push({ frame, messageId, opTag, start: this.requestStart });
    link.connect();
  }

  /** RFC 4513 §4: a bind makes the connection anonymous until it succeeds. */
  private bindStarted(frame: Buffer, messageId: number): void {
    this.setBindState(ANONYMOUS);
    this.link.securityLayerAllowed = false;
    this.saslBound = false;
    this.bindId = messageId;
    try {
      const bind = decodeBindRequest(frame);
      this.bindDn = bind.name;
      const auth = bind.authentication;
      this.bindMechanism = auth.kind === 'simple' ? 'simple' : auth.mechanism;
      this.bindAnonymous = auth.kind === 'simple' && auth.password.length === 0;
    } catch {
      // The backend answers a malformed bind itself; the session just stays anonymous.
      this.bindDn = '';
      this.bindMechanism = 'unknown';
      this.bindAnonymous = true;
    }
  }

  private abandoned(target: number): void {
    this.outstanding.delete(target);
    this.deadline?.answered(target);
    if (target === this.bindId) this.bindId = -1;
    const obs = this.observers.get(target);
    if (obs) {
      this.observers.delete(target);
      obs.onEnd?.('abandoned', this);
    }
  }

  // ---- StartTLS (RFC 4511 §4.14, RFC 4513 §3.1.1) ------------------------------------------------------

  private isStartTls(frame: Buffer): boolean {
    try {
      return decodeExtendedRequest(frame).requestName === Oid.startTls;
    } catch {
      return false; // forwarded; the backend reports the protocol error
    }
  }

  private startTls(messageId: number): void {
    const refuse = (code: number, message: string): void => {
      this.out.writeNow(
        encodeExtendedResponse(messageId, { resultCode: code, matchedDN: '', diagnosticMessage: message }),
      );
    };
    if (this.tls) return refuse(ResultCode.operationsError, 'TLS is already active on this connection');
    if (this.env.tls.context === null)
      return refuse(ResultCode.unavailable, 'StartTLS is not configured on this proxy');
    if (this.outstanding.size > 0 || this.busy)
      return refuse(ResultCode.operationsError, 'StartTLS refused: operations are outstanding');
    if (this.reader.hasPendingBytes)
      return refuse(ResultCode.operationsError, 'StartTLS refused: data was sent after the StartTLS request');
    this.out.writeNow(
      encodeExtendedResponse(messageId, {
        resultCode: ResultCode.success,
        matchedDN: '',
        diagnosticMessage: '',
        responseName: Oid.startTls,
      }),
    );
    this.busy = true;
    const raw = this.socket;
    this.detachClient(raw);
    // The TLS socket reports errors from now on; this keeps a late error on the raw socket from throwing.
    raw.on('error', () => undefined);
    const secure = new TLSSocket(raw, { isServer: true, secureContext: this.env.tls.context });
    this.socket = secure;
    this.out.sink = secure;
    this.attachClient(secure);
    // A client that rejects the certificate may just close: an error or a close before 'secure' is a failure.
    const handshakeFailed = (): void => {
      secure.off('error', handshakeFailed);
      secure.off('close', handshakeFailed);
      metrics.connectionRejected('tls_failure');
    };
    secure.once('error', handshakeFailed);
    secure.once('close', handshakeFailed);
    secure.once('secure', () => {
      secure.off('error', handshakeFailed);
      secure.off('close', handshakeFailed);
      metrics.connectionUpgraded(this.listenerIndex);
      this.tls = true;
      this.resumeReading();
    });
  }

  // ---- backend → client -------------------------------------------------------------------------------

  onBackendReady(): void {
    this.backendWasReady = true;
    const waiting = this.waiting;
    this.waiting = [];
    this.link.cork();
    const now = performance.now();
    for (const q of waiting) {
      this.link.write(q.frame);
      // Waiting for the backend connection is latency the proxy adds (one backend connection per client).
      metrics.addedLatencySeconds((now - q.start) / 1000);
    }
    this.link.flush();
    this.link.uncork();
  }

  onBackendFailed(reason: string): void {
    this.log.warn({ reason }, 'no backend available');
    const waiting = this.waiting;
    this.waiting = [];
    if (this.closed) return;
    const message = 'no directory server is available';
    this.socket.cork();
    for (const q of waiting) {
      // Not outstanding: abandon/unbind (no response), or already answered (operation deadline).
      if (!this.outstanding.delete(q.messageId)) continue;
      this.deadline?.answered(q.messageId);
      this.endObserver(q.messageId, 'backendLost');
      this.answerLocally(q.messageId, q.opTag, ResultCode.unavailable, message);
    }
    this.socket.uncork();
    if (this.backendWasReady)
      this.closeWithNotice(ResultCode.unavailable, 'lost the connection to the directory server');
  }

  onBackendLost(reason: string): void {
    if (this.closed) return;
    this.log.warn({ reason, backend: this.link.backend?.url.text }, 'backend connection lost');
    for (const id of [...this.observers.keys()]) this.endObserver(id, 'backendLost');
    if (this.backendNoticeSeen) this.closeClient();
    else this.closeWithNotice(ResultCode.unavailable, 'lost the connection to the directory server');
  }

  beginBackendBatch(): void {
    this.socket.cork();
  }

  endBackendBatch(): void {
    this.out.flush();
    this.socket.uncork();
    if (!this.backendPaused && this.socket.writableNeedDrain) {
      this.backendPaused = true;
      this.link.pause();
    }
  }

  onBackendFrame(frame: Buffer, messageId: number, opTag: number): void {
    if (messageId === 0) {
      // Unsolicited notification: passed through; a Notice of Disconnection means the backend will close.
      if (opTag === ProtocolOp.extendedResp) this.backendNoticeSeen = true;
      this.out.write(frame);
      return;
    }
    let out: Buffer | null = frame;
    const final = IS_FINAL_RESPONSE[opTag] === 1;
    if (this.deadline !== null) this.deadline.answered(messageId);
    // Before the observer, so an observer that sets the bind state itself (virtual bind) has the last word.
    if (final && messageId === this.bindId && opTag === ProtocolOp.bindResponse) this.bindFinished(frame);
    if (this.observers.size !== 0) {
      const obs = this.observers.get(messageId);
      if (obs !== undefined) {
        try {
          out = obs.onResponse(frame, opTag, this);
        } catch (e) {
          // Never pass on a frame a filter could not handle: it may hold what the filter removes.
          this.log.error({ err: e, op: opName(opTag) }, 'response observer failed');
          this.closeWithNotice(ResultCode.unavailable, 'internal error in the proxy');
          return;
        }
        if (final) this.endObserver(messageId, 'done');
      }
    }
    if (final) {
      const start = this.outstanding.get(messageId);
      if (start !== undefined) metrics.operationResponse(opTag, frame, start);
      this.outstanding.delete(messageId);
    }
    if (out === frame) this.out.write(frame);
    else if (out !== null) this.out.writeNow(out);
    if (final && this.draining && this.outstanding.size === 0)
      this.closeWithNotice(ResultCode.unavailable, 'the proxy is shutting down');
  }

  private bindFinished(frame: Buffer): void {
    this.bindId = -1;
    let code: number;
    try {
      code = readResultCode(frame);
    } catch {
      return;
    }
    if (code === ResultCode.success && !this.bindAnonymous)
      this.setBindState({ kind: 'backend', dn: this.bindDn, mechanism: this.bindMechanism });
    // RFC 4422 §3.7: a SASL bind may install a security layer that wraps everything after its response.
    // Off by default: inside a layer no interceptor, limit or read filter can see the operations.
    if (code === ResultCode.success && this.bindMechanism !== 'simple') {
      this.saslBound = true;
      this.link.securityLayerAllowed = this.env.config.allow_sasl_security_layer;
    }
  }

  // ---- SASL security layer: from here on both directions are opaque and relayed as received ---------------

  /** The client's stream stopped being BER right after a successful SASL bind. */
  private enterSecurityLayer(rest: Buffer): void {
    this.log.debug('SASL security layer in effect; relaying opaque bytes');
    this.link.raw = true;
    this.socket.setTimeout(0);
    if (this.link.state !== 'ready') return this.closeClient();
    this.link.flush();
    if (rest.length > 0) this.link.writeRaw(rest);
  }

  private relayRaw(chunk: Buffer): void {
    this.link.writeRaw(chunk);
    if (!this.clientPaused && this.link.needsDrain) {
      this.clientPaused = true;
      this.socket.pause();
    }
  }

  onBackendSecurityLayer(rest: Buffer): void {
    this.link.raw = true;
    this.socket.setTimeout(0);
    if (rest.length > 0) this.onBackendRaw(rest);
  }

  onBackendRaw(chunk: Buffer): void {
    if (this.closed) return;
    this.out.writeNow(chunk);
    if (!this.backendPaused && this.socket.writableNeedDrain) {
      this.backendPaused = true;
      this.link.pause();
    }
  }

  /**
   * Operations the backend sent nothing for within backend_operation_timeout_ms: each is answered with
   * unavailable, and the backend is marked down so new connections try the next one.
   */
  private backendTooSlow(expired: { messageId: number; opTag: number }[]): void {
    if (this.closed) return;
    const ms = this.env.config.backend_operation_timeout_ms;
    const backend = this.link.backend;
    this.log.warn(
      { backend: backend?.url.text, operations: expired.length, timeoutMs: ms },
      'backend did not answer in time',
    );
    if (backend) this.env.pool.markDown(backend, `no answer within ${ms} ms`);
    for (const { messageId, opTag } of expired) {
      if (!this.outstanding.delete(messageId)) continue;
      if (messageId === this.bindId) this.bindId = -1;
      this.endObserver(messageId, 'backendLost');
      this.answerLocally(
        messageId,
        opTag,
        ResultCode.unavailable,
        `the directory server did not answer within ${ms} ms`,
      );
    }
  }

  private endObserver(messageId: number, reason: ObserveEnd): void {
    const obs = this.observers.get(messageId);
    if (obs === undefined) return;
    this.observers.delete(messageId);
    try {
      obs.onEnd?.(reason, this);
    } catch (e) {
      this.log.error({ err: e }, 'response observer failed');
    }
  }

  onBackendDrain(): void {
    if (this.clientPaused) {
      this.clientPaused = false;
      if (!this.busy) this.socket.resume();
    }
  }

  private readonly onClientDrain = (): void => {
    if (this.backendPaused) {
      this.backendPaused = false;
      this.link.resume();
    }
  };

  // ---- ending -------------------------------------------------------------------------------------------

  private onClientFault(e: unknown): void {
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

  private readonly onClientClose = (): void => {
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
  private closeClient(): void {
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
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.clearPduTimer();
    this.deadline?.stop();
    for (const id of [...this.observers.keys()]) this.endObserver(id, 'closed');
    this.waiting = [];
    this.heldChunks = [];
    this.env.onClose(this);
  }
}
