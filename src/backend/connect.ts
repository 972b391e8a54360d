// One backend connection attempt: TCP, then TLS (ldaps://) or StartTLS (RFC 4511 §4.14) with certificate
// verification, all under one deadline. A certificate that does not verify is a failure, never a fallback.
import { connect as netConnect, isIP } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { FrameReader } from '../frame/index.js';
import { decodeExtendedResponse, encodeExtendedRequest, Oid, resultCodeName } from '../ldap/index.js';
import type { Backend } from './pool.js';

export interface ConnectOptions {
  timeoutMs: number;
  startTls: boolean;
  ca: Buffer | undefined;
  /** Plain connections only (no TLS, no StartTLS): read into this buffer and call back instead of 'data'. */
  onread?: { buffer: Buffer; callback: (bytes: number, buf: Buffer) => boolean };
}

/** Resolves with a connected socket, TLS set up when configured; rejects with a reason fit for logs. */
export function connectBackend(backend: Backend, opts: ConnectOptions): Promise<Socket | TLSSocket> {
  const { host, port, secure } = backend.url;
  const servername = isIP(host) ? undefined : host;
  return new Promise((resolve, reject) => {
    let current: Socket;
    let settled = false;
    const cleanups: (() => void)[] = [];
    const fail = (reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      current.destroy();
      reject(new Error(reason));
    };
    const done = (sock: Socket | TLSSocket): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const cleanup of cleanups) cleanup();
      resolve(sock);
    };
    const timer = setTimeout(() => fail(`connect timed out after ${opts.timeoutMs} ms`), opts.timeoutMs);
    const upgrade = (raw?: Socket): void => {
      const sock = tlsConnect({
        host,
        port,
        servername,
        ca: opts.ca,
        minVersion: 'TLSv1.2',
        rejectUnauthorized: true,
        ...(raw ? { socket: raw } : {}),
      });
      current = sock;
      sock.setNoDelay(true);
      const onError = (e: NodeJS.ErrnoException): void =>
        fail(`TLS to backend failed: ${e.code ?? ''} ${e.message}`.trim());
      sock.on('error', onError);
      cleanups.push(() => sock.off('error', onError));
      sock.once('secureConnect', () => done(sock));
    };
    if (secure) {
      upgrade();
      return;
    }
    const plainReads = opts.startTls ? undefined : opts.onread;
    const sock = plainReads ? netConnect({ host, port, onread: plainReads }) : netConnect({ host, port });
    current = sock;
    sock.setNoDelay(true);
    const onError = (e: NodeJS.ErrnoException): void => fail(`${e.code ?? 'error'}: ${e.message}`);
    const onClose = (): void => fail('connection closed during connect');
    sock.on('error', onError);
    sock.on('close', onClose);
    cleanups.push(() => {
      sock.off('error', onError);
      sock.off('close', onClose);
    });
    sock.once('connect', () => {
      if (!opts.startTls) return done(sock);
      // The proxy's own StartTLS uses messageID 1 before any client request is sent on this connection.
      const reader = new FrameReader(65536);
      const onData = (chunk: Buffer): void => {
        try {
          reader.push(chunk);
          if (!reader.next()) return;
          const res = decodeExtendedResponse(reader.frame);
          if (res.resultCode !== 0)
            return fail(
              `backend refused StartTLS: ${resultCodeName(res.resultCode)} (${res.resultCode}) ${res.diagnosticMessage}`,
            );
          sock.off('data', onData);
          upgrade(sock);
        } catch (e) {
          fail(`bad StartTLS response from backend: ${(e as Error).message}`);
        }
      };
      sock.on('data', onData);
      sock.write(encodeExtendedRequest({ messageId: 1, requestName: Oid.startTls }));
    });
  });
}
