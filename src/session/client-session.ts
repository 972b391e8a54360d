// One client connection: frames requests, runs interceptors for the few tags that have them, forwards
// everything else byte for byte to its own backend connection, and writes backend frames back whole.
// Layers: session-core.ts (state, limits, timers, closing) → secure-transport.ts (StartTLS, SASL layer)
// → request-path.ts (client → backend) → this file (backend → client, response observers).
import type { Socket } from 'node:net';
import { IS_FINAL_RESPONSE, ProtocolOp, ResultCode, opName, readResultCode } from '../ldap/index.js';
import { holdsQueuedBytes } from '../frame/index.js';
import { metrics } from '../metrics/index.js';
import { RequestPath } from './request-path.js';
import type { SessionEnv, SessionOrigin } from './session-core.js';

export type { SessionEnv, SessionOrigin } from './session-core.js';

export class ClientSession extends RequestPath {
  constructor(socket: Socket, env: SessionEnv, secure: boolean, origin: SessionOrigin = {}) {
    super(socket, env, secure, origin);
    this.attachClient(socket);
    // Not after a PROXY header: bytes it read ahead sit in the stream and must come first.
    if (!secure && origin.initialData === undefined) this.readClientIntoBuffer(socket);
    this.link.connect();
    if (origin.initialData !== undefined && origin.initialData.length > 0)
      this.onClientData(origin.initialData);
    // A socket paused while its PROXY header was read flows again here (unless the session is busy).
    this.resumeClient();
  }

  onBackendReady(): void {
    this.backendWasReady = true;
    const waiting = this.waiting;
    this.waiting = [];
    this.link.beginBatch();
    const now = performance.now();
    for (const q of waiting) {
      this.link.write(q.frame);
      // Waiting for the backend connection is latency the proxy adds (one backend connection per client).
      metrics.addedLatencySeconds((now - q.start) / 1000);
    }
    this.link.endBatch();
  }

  onBackendFailed(reason: string): void {
    this.log.warn({ reason }, 'no backend available');
    const waiting = [...this.waiting, ...this.takeHeld()];
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
    this.outstandingDropped();
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
    this.out.beginBatch();
    // Held requests that this chunk's answers release go out together.
    if (this.heldHead < this.held.length) this.link.beginBatch();
  }

  holdsBackendBytes(then: () => void): boolean {
    return holdsQueuedBytes(this.socket, then);
  }

  endBackendBatch(): void {
    if (this.link.inBatch) this.link.endBatch();
    this.out.endBatch();
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
      if (this.heldHead < this.held.length) this.sendHeld();
      if (this.stalled !== null) this.outstandingDropped();
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

  /**
   * Operations the backend sent nothing for within backend_operation_timeout_ms: each is answered with
   * unavailable, and the backend is marked down so new connections try the next one.
   */
  protected backendTooSlow(expired: { messageId: number; opTag: number }[]): void {
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
    this.sendHeld();
    this.outstandingDropped();
  }

  onBackendDrain(): void {
    if (this.clientPaused) {
      this.clientPaused = false;
      this.resumeClient();
    }
  }
}
