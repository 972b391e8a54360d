// Client → backend: frames requests, runs interceptors for the few tags that have them, applies the
// outstanding-operation limit, and forwards everything else byte for byte to the backend connection.
import { BerError } from '../ber/index.js';
import { FrameError, giveBackReadBuffer, takeReadBuffer } from '../frame/index.js';
import {
  LdapResultError,
  ProtocolOp,
  RESPONSE_FOR_REQUEST,
  ResultCode,
  decodeAbandonRequest,
  decodeBindRequest,
  opName,
} from '../ldap/index.js';
import { ANONYMOUS, InterceptedRequest } from './interceptor.js';
import type { InterceptDecision, Interceptor, ResponseObserver } from './interceptor.js';
import { metrics, NO_RESULT, peekResultCode } from '../metrics/index.js';
import { SecureTransport } from './secure-transport.js';
import { readIntoBuffer } from './user-read-buffer.js';
import type { Queued } from './session-core.js';
import type { Socket } from 'node:net';

/**
 * Requests handled per event-loop turn for one connection: a client that pipelines thousands in one chunk
 * is served in slices, with every other connection's events handled in between.
 */
const REQUESTS_PER_TURN = 64;

export abstract class RequestPath extends SecureTransport {
  /** Reading stopped until the backend socket has handed forwarded bytes of the read buffer to the kernel. */
  private clientReadHeld = false;
  /** An interceptor's promise is pending (the session is busy, but may go on reading; see readStopped). */
  private interceptorPending = false;

  protected readonly onClientData = (chunk: Buffer): void => {
    if (this.closed) return;
    const owned = this.clientReadBuffer === null;
    if (this.link.raw) return this.relayRaw(owned ? chunk : Buffer.from(chunk));
    if (this.busy) {
      this.heldChunks.push(owned ? chunk : Buffer.from(chunk));
      this.socket.pause();
      return;
    }
    this.readRequests(chunk);
  };

  /** A plain, freshly accepted socket reads into one buffer of the session (when this Node allows it). */
  protected readClientIntoBuffer(sock: Socket): void {
    const buffer = takeReadBuffer();
    if (readIntoBuffer(sock, buffer, this.onClientRead)) this.clientReadBuffer = buffer;
    else giveBackReadBuffer(buffer);
  }

  private readonly onClientRead = (bytes: number, buffer: Buffer): boolean => {
    this.onClientData(buffer.subarray(0, bytes));
    return !this.readStopped();
  };

  /**
   * Whether reading must wait: while the session is busy (frames of the read buffer wait in the reader),
   * the backend needs a drain, or (read buffer) the backend socket still queues forwarded views of it.
   * Whoever clears the condition calls resumeClient().
   */
  private readStopped(): boolean {
    if (this.closed || this.clientPaused || this.clientReadHeld || this.heldChunks.length > 0) return true;
    // During an interceptor's await, a client that waits for its answer sends nothing; keeping the socket
    // armed saves stopping and restarting it (two epoll_ctl calls) per verification. Bytes that do arrive
    // are copied aside (onClientData); only unread bytes of the read buffer in the reader must stop it.
    if (this.busy && (!this.interceptorPending || this.reader.holdsChunk)) return true;
    if (this.clientReadBuffer !== null && this.link.holdsWrittenBytes(this.releaseClientRead)) {
      this.clientReadHeld = true;
      return true;
    }
    return false;
  }

  private readonly releaseClientRead = (): void => {
    this.clientReadHeld = false;
    this.resumeClient();
  };

  /** Reads from the client again unless something still stops it (the only place that resumes it). */
  protected resumeClient(): void {
    if (!this.readStopped()) this.socket.resume();
  }

  /** Handles every complete request buffered, unless an interceptor or StartTLS makes the session busy. */
  private readRequests(chunk: Buffer | null): void {
    const reader = this.reader;
    const link = this.link;
    this.requestStart = performance.now();
    link.beginBatch();
    // Local answers to one chunk (refusals, shutting down) leave in one write, not one each.
    this.out.beginBatch();
    try {
      if (chunk !== null) reader.push(chunk);
      const stalled = this.stalled;
      if (stalled !== null) {
        // It waited for the outstanding limit (resumeReading checked there is room now).
        this.stalled = null;
        this.requestStart = stalled.start;
        this.onRequest(stalled.frame, stalled.messageId, stalled.opTag);
        this.requestStart = performance.now();
      }
      let budget = REQUESTS_PER_TURN;
      while (!this.busy && !this.closed && reader.next()) {
        this.onRequest(reader.frame, reader.messageId, reader.opTag);
        if (--budget === 0 && !this.busy && reader.hasPendingBytes) {
          // The rest stays in the reader (and, with the read buffer, reading stays stopped) until the next turn.
          this.busy = true;
          this.scheduleTurn();
          break;
        }
      }
    } catch (e) {
      if (e instanceof FrameError && e.reason === 'notASequence' && this.link.securityLayerAllowed)
        this.enterSecurityLayer(Buffer.from(reader.takeRemaining()));
      else this.onClientFault(e);
    } finally {
      link.endBatch();
      this.out.endBatch();
    }
    if (!this.clientPaused && link.needsDrain) {
      this.clientPaused = true;
      this.socket.pause();
    }
    // A PDU must arrive in full within the idle timeout, or a client dripping bytes would never be idle.
    // Not while the session is busy: then it is the proxy that is not reading.
    if (this.env.config.idle_timeout_ms > 0) {
      if (!reader.hasPendingBytes || this.busy) this.clearPduTimer();
      else if (this.pduTimer === null)
        this.pduTimer = setTimeout(this.onPduTimeout, this.env.config.idle_timeout_ms);
    }
  }

  private readonly nextTurn = (): void => {
    this.turnScheduled = false;
    if (!this.closed) this.resumeReading();
  };

  protected scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(this.nextTurn);
  }

  /** An operation completed: a stalled connection may go on (in a turn of its own). */
  protected outstandingDropped(): void {
    if (this.stalled !== null && this.outstanding.size < this.maxOutstanding) this.scheduleTurn();
  }

  protected resumeReading(): void {
    this.busy = false;
    if (this.closed) return;
    if (this.stalled !== null && this.outstanding.size >= this.maxOutstanding) {
      this.busy = true;
      return;
    }
    this.readRequests(null);
    while (!this.busy && !this.closed && this.heldChunks.length > 0)
      this.readRequests(this.heldChunks.shift() as Buffer);
    this.resumeClient();
  }

  private onRequest(frame: Buffer, messageId: number, opTag: number): void {
    if (messageId === 0)
      throw new FrameError('badEnvelope', 'messageID 0 is reserved for unsolicited notifications');
    if (this.draining && opTag !== ProtocolOp.abandonRequest && opTag !== ProtocolOp.unbindRequest) {
      this.answerLocally(messageId, opTag, ResultCode.unavailable, 'the proxy is shutting down');
      return;
    }
    if (this.outstanding.size >= this.maxOutstanding && RESPONSE_FOR_REQUEST[opTag] !== 0) {
      // Backpressure: this request waits (the reader's buffer stays as it is while busy) and nothing more is
      // read until an operation completes; see outstandingDropped().
      this.stalled = { frame, messageId, opTag, start: this.requestStart };
      this.busy = true;
      return;
    }
    const chain = this.env.interceptors[opTag];
    if (opTag === ProtocolOp.extendedReq && this.isStartTls(frame)) return this.startTls(messageId);
    if (chain === undefined) return this.forward(frame, messageId, opTag, null);
    // An interceptor may keep the request (or views of it) past the next read into the read buffer.
    if (this.clientReadBuffer !== null) frame = Buffer.from(frame);
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
        this.interceptorPending = true;
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
    this.interceptorPending = false;
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
      const cap = this.env.config.max_backend_inflight;
      const hold = cap > 0 && (this.heldCount > 0 || this.outstanding.size - this.heldCount >= cap);
      this.outstanding.set(messageId, this.requestStart);
      if (opTag === ProtocolOp.bindRequest) this.bindStarted(frame, messageId);
      if (observer !== null) this.observers.set(messageId, observer);
      if (this.rewriter !== null) frame = this.rewriter(frame, messageId, opTag, this);
      if (hold) {
        // Kept past the next read.
        if (this.clientReadBuffer !== null) frame = Buffer.from(frame);
        this.held.push({ frame, messageId, opTag, start: this.requestStart });
        return;
      }
      if (this.deadline !== null) this.deadline.started(messageId, opTag);
      this.sendToBackend(frame, messageId, opTag, this.requestStart);
      return;
    }
    if (observer !== null) this.observers.set(messageId, observer);
    if (this.rewriter !== null) frame = this.rewriter(frame, messageId, opTag, this);
    this.sendToBackend(frame, messageId, opTag, this.requestStart);
  }

  protected get heldCount(): number {
    return this.held.length - this.heldHead;
  }

  /** Sends held requests, in order, while fewer than max_backend_inflight operations are at the backend. */
  protected sendHeld(): void {
    let room = this.env.config.max_backend_inflight - (this.outstanding.size - this.heldCount);
    if (room <= 0 || this.heldCount === 0) return;
    // Released by answers: those of one backend chunk release into one batch (see beginBackendBatch).
    const link = this.link;
    const own = !link.inBatch;
    if (own) link.beginBatch();
    for (; room > 0 && this.heldHead < this.held.length; room--) {
      const q = this.held[this.heldHead++] as Queued;
      if (this.deadline !== null) this.deadline.started(q.messageId, q.opTag);
      this.sendToBackend(q.frame, q.messageId, q.opTag, q.start);
    }
    if (this.heldHead === this.held.length) {
      this.held = [];
      this.heldHead = 0;
    }
    if (own) link.endBatch();
  }

  /** Held requests, removed: the backend will not see them. */
  protected takeHeld(): Queued[] {
    const taken = this.held.slice(this.heldHead);
    this.held = [];
    this.heldHead = 0;
    return taken;
  }

  private sendToBackend(frame: Buffer, messageId: number, opTag: number, start: number): void {
    const link = this.link;
    if (link.state === 'ready') {
      link.write(frame);
      metrics.addedLatencySeconds((performance.now() - start) / 1000);
      return;
    }
    if (link.state === 'closed') return;
    // Kept until the backend connects, past the next read.
    if (this.clientReadBuffer !== null) frame = Buffer.from(frame);
    this.waiting.push({ frame, messageId, opTag, start });
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
    if (this.outstanding.delete(target) && this.heldCount > 0) {
      const i = this.held.findIndex((q, k) => k >= this.heldHead && q.messageId === target);
      if (i >= 0) this.held.splice(i, 1);
      else this.sendHeld();
    }
    this.deadline?.answered(target);
    if (target === this.bindId) this.bindId = -1;
    const obs = this.observers.get(target);
    if (obs) {
      this.observers.delete(target);
      obs.onEnd?.('abandoned', this);
    }
  }
}
