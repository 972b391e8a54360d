// StartTLS (RFC 4511 §4.14, RFC 4513 §3.1.1) on the client connection, and the opaque relay once a SASL
// bind installed a security layer (RFC 4422 §3.7).
import { TLSSocket } from 'node:tls';
import { Oid, ResultCode, decodeExtendedRequest, encodeExtendedResponse } from '../ldap/index.js';
import { metrics } from '../metrics/index.js';
import { SessionCore } from './session-core.js';

export abstract class SecureTransport extends SessionCore {
  protected abstract resumeReading(): void;

  protected isStartTls(frame: Buffer): boolean {
    try {
      return decodeExtendedRequest(frame).requestName === Oid.startTls;
    } catch {
      return false; // forwarded; the backend reports the protocol error
    }
  }

  protected startTls(messageId: number): void {
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
    // The answer must reach the client before the handshake: end the batch that may have corked it.
    this.out.endBatch();
    const raw = this.socket;
    this.detachClient(raw);
    // The TLS socket reports errors from now on; this keeps a late error on the raw socket from throwing.
    raw.on('error', () => undefined);
    const secure = new TLSSocket(raw, { isServer: true, secureContext: this.env.tls.context });
    // TLS reads into its own buffers from here on.
    this.clientReadBuffer = null;
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

  // ---- SASL security layer: from here on both directions are opaque and relayed as received ---------------

  /** The client's stream stopped being BER right after a successful SASL bind. */
  protected enterSecurityLayer(rest: Buffer): void {
    this.log.debug('SASL security layer in effect; relaying opaque bytes');
    this.link.raw = true;
    this.socket.setTimeout(0);
    if (this.link.state !== 'ready') return this.closeClient();
    this.link.flush();
    if (rest.length > 0) this.link.writeRaw(rest);
  }

  protected relayRaw(chunk: Buffer): void {
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
}
